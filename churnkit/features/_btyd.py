"""Buy-till-you-die features of a purchase table: P(alive), expected purchases, frequency, recency.

For every cutoff of the spine a Pareto/NBD model is fitted, by maximum likelihood, on the
purchases of all customers strictly before that cutoff (summarised per purchase day by
:func:`churnkit.clv.rfm_summary`, in weeks), and each customer gets:

- ``{table}__btyd__p_alive``: probability of still being an active buyer;
- ``{table}__btyd__expected_purchases__{w}d``: purchases expected in the next w days, for
  each feature window w;
- ``{table}__btyd__frequency`` (repeat purchase days), ``{table}__btyd__recency_weeks``
  (first to last purchase day) and ``{table}__btyd__age_weeks`` (first purchase day to the
  cutoff).

Customers with no purchase before a cutoff get missing values. Nothing after a cutoff is
read, so the features of the training cutoffs never see later data; the fitted transformer
keeps the parameters of each cutoff it was fitted on (and reuses them for those cutoffs),
and fits afresh, on data before it, for any other cutoff.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from churnkit.clv import ParetoNBD, rfm_summary
from churnkit.features._events import OneTableFeatures, check_spine, checked_events

__all__ = ["BTYDFeatures"]

_UNIT_DAYS = 7.0
_MIN_BUYERS = 20
"""Fewer customers with a purchase before a cutoff than this: no model is fitted there."""


class BTYDFeatures(OneTableFeatures):
    """Pareto/NBD features of one purchase table, fitted per cutoff on earlier purchases.

    Parameters
    ----------
    table : str
        Name of the purchase table (its rows are purchases).
    windows : sequence of int, default (30, 90, 365)
        Horizons in days of the expected purchases.

    Attributes
    ----------
    params_ : dict of str to dict
        Fitted Pareto/NBD parameters (``r, alpha, s, beta``, weeks) per training cutoff
        (ISO date); a cutoff with too few buyers is absent.
    feature_names_out_ : ndarray of str

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from churnkit.features import BTYDFeatures
    >>> rng = np.random.default_rng(0)
    >>> ids = rng.integers(0, 60, 400).astype(str)
    >>> days = pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, 400), unit="D")
    >>> purchases = pd.DataFrame({"customer_id": ids, "timestamp": days})
    >>> spine = pd.DataFrame({"customer_id": ["0", "1", "nobody"],
    ...                       "cutoff": pd.Timestamp("2024-09-01")})
    >>> X = BTYDFeatures(table="orders", windows=[90]).fit_transform(spine, events=purchases)
    >>> list(X.columns)[:2]
    ['orders__btyd__p_alive', 'orders__btyd__expected_purchases__90d']
    >>> bool(X.loc[2].isna().all())  # no purchase before the cutoff
    True
    """

    def __init__(self, *, table: str, windows: Any = (30, 90, 365)) -> None:
        self.table = table
        self.windows = windows

    def _windows(self) -> list[int]:
        windows = sorted({int(w) for w in self.windows})
        if not windows or windows[0] <= 0:
            raise ValueError("The 'windows' parameter of BTYDFeatures must be positive day "
                             f"counts. Got {self.windows!r} instead.")
        return windows

    def _names(self) -> list[str]:
        t = f"{self.table}__btyd"
        return [f"{t}__p_alive", *(f"{t}__expected_purchases__{w}d" for w in self._windows()),
                f"{t}__frequency", f"{t}__recency_weeks", f"{t}__age_weeks"]

    def fit(self, X: pd.DataFrame, y: Any = None, *, events: pd.DataFrame | None = None
            ) -> BTYDFeatures:
        """Fit a Pareto/NBD model at each cutoff of ``X`` on the purchases before it.

        Parameters
        ----------
        X : DataFrame
            The snapshot frame: ``customer_id`` and ``cutoff`` (datetime64).
        y : None
            Ignored.
        events : DataFrame
            The purchase table, with ``customer_id`` and ``timestamp`` columns.

        Returns
        -------
        BTYDFeatures
            This transformer, fitted.
        """
        X = check_spine(X, f"BTYDFeatures(table={self.table!r}).fit")
        self._windows()
        ev = checked_events(events, self, "fit")
        params: dict[str, dict[str, float]] = {}
        for cutoff in sorted(pd.DatetimeIndex(X["cutoff"].dropna().unique())):
            fitted = _fit_at(ev, cutoff)
            if fitted is not None:
                params[str(cutoff.date())] = dict(fitted[0].params_)
        self.params_ = params
        self.feature_names_out_ = np.asarray(self._names(), dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: pd.DataFrame, *, events: pd.DataFrame | None = None) -> pd.DataFrame:
        """The features of each row's customer from its purchases strictly before its cutoff.

        Parameters
        ----------
        X : DataFrame
            The snapshot frame: ``customer_id`` and ``cutoff`` (datetime64).
        events : DataFrame
            The purchase table.

        Returns
        -------
        DataFrame
            Indexed like ``X``, float32 columns :meth:`get_feature_names_out`.
        """
        self.get_feature_names_out()  # fitted?
        X = check_spine(X, f"BTYDFeatures(table={self.table!r}).transform")
        ev = checked_events(events, self, "transform")
        names = list(self.feature_names_out_)
        out = np.full((len(X), len(names)), np.nan)
        ids = X["customer_id"].astype(str).to_numpy()
        cutoffs = X["cutoff"].to_numpy()
        for cutoff in pd.DatetimeIndex(X["cutoff"].dropna().unique()):
            rows = np.flatnonzero(cutoffs == cutoff.to_datetime64())
            stored = self.params_.get(str(cutoff.date()))
            model: ParetoNBD | None
            if stored is not None:
                summary = _summary(ev, cutoff)
                model = ParetoNBD()
                model.params_ = dict(stored)
            else:
                fitted = _fit_at(ev, cutoff)
                if fitted is None:
                    continue
                model, summary = fitted
            where = summary.index.get_indexer(pd.Index(ids[rows]))
            have = where >= 0
            if not have.any():
                continue
            s = summary.iloc[where[have]]
            x, t_x, t = s["frequency"], s["recency"], s["T"]
            cols = [model.p_alive(x, t_x, t)]
            cols += [model.expected_purchases(w / _UNIT_DAYS, x, t_x, t) for w in self._windows()]
            cols += [x.to_numpy(dtype=float), t_x.to_numpy(dtype=float), t.to_numpy(dtype=float)]
            out[rows[have]] = np.column_stack(cols)
        return pd.DataFrame(out.astype(np.float32), index=X.index, columns=names)


def _summary(events: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    summary = rfm_summary(events, cutoff, unit_days=_UNIT_DAYS)
    summary.index = summary.index.astype(str)
    return summary


def _fit_at(events: pd.DataFrame, cutoff: pd.Timestamp) -> tuple[ParetoNBD, pd.DataFrame] | None:
    """A Pareto/NBD fitted on the purchases before ``cutoff``, with their summary, or None."""
    summary = _summary(events, cutoff)
    if len(summary) < _MIN_BUYERS or int((summary["frequency"] > 0).sum()) < 3:
        return None
    model = ParetoNBD().fit(summary["frequency"], summary["recency"], summary["T"])
    return model, summary
