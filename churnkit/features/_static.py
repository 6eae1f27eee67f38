"""Static features from the customers table: tenure at the cutoff, value, segment, attributes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from churnkit.exceptions import NotFittedError, SchemaError
from churnkit.features._events import _clean, _level_codes, check_spine

__all__ = ["StaticFeatures"]

_F32_MAX = float(np.finfo(np.float32).max)  # larger magnitudes are clipped, not overflowed
_MAX_SEEN = 10_000  # distinct values remembered per column to tell unseen values at scoring
_ROLE_FEATURES = {"segment": "categorical", "product": "categorical", "value": "numeric",
                  "wallet_share": "numeric"}


class StaticFeatures(TransformerMixin, BaseEstimator):
    """Customer attributes as features, joined onto the snapshot frame.

    ``static__tenure_days`` is the age of the customer at each row's cutoff (from
    ``signup_date``); ``static__value``, ``static__segment``, ``static__product``
    and every declared attribute follow. Categorical columns keep pandas
    ``category`` dtype with the levels seen in ``fit`` (the ``max_categories``
    most frequent; rarer and unseen values become missing).

    Parameters
    ----------
    customers : DataFrame, optional
        One row per customer with ``customer_id``.
    attributes : mapping of str to str, optional
        Attribute column → type (``categorical``, ``numeric``, ``boolean``).
    max_categories : int, default 100
        Levels kept per categorical column.
    """

    def __init__(self, customers: pd.DataFrame | None = None, *,
                 attributes: Mapping[str, str] | None = None, max_categories: int = 100) -> None:
        self.customers = customers
        self.attributes = attributes
        self.max_categories = max_categories

    def _customers(self) -> pd.DataFrame:
        if not isinstance(self.customers, pd.DataFrame) or "customer_id" not in self.customers:
            raise SchemaError(
                "StaticFeatures needs customers=DataFrame with a 'customer_id' column "
                "(or set_params(customers=...) before transform)."
            )
        return self.customers

    def fit(self, X: pd.DataFrame, y: Any = None) -> StaticFeatures:
        """Learn the columns to use and the categorical levels."""
        X = check_spine(X, "StaticFeatures.fit")
        cust = self._customers()
        types = {r: t for r, t in _ROLE_FEATURES.items() if r in cust}
        types.update({c: t for c, t in (self.attributes or {}).items() if c in cust})
        self.types_ = types
        self.tenure_ = "signup_date" in cust
        self.categories_: dict[str, list[Any]] = {}
        self.seen_: dict[str, list[str]] = {}
        for col, kind in types.items():
            if kind == "categorical":
                counts = cust[col].dropna().astype(str).str.strip().value_counts()
                counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
                self.categories_[col] = sorted(counts.index[: self.max_categories].tolist())
                if len(counts) <= _MAX_SEEN:
                    self.seen_[col] = sorted(counts.index.tolist())
        names = ["static__tenure_days"] if self.tenure_ else []
        names += [f"static__{_clean(c)}" for c in types]
        self.feature_names_out_ = np.asarray(names, dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output features."""
        if not hasattr(self, "feature_names_out_"):
            raise NotFittedError("This StaticFeatures is not fitted yet. Call 'fit' first.")
        return self.feature_names_out_.copy()

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Join the customers' attributes onto each row of ``X``."""
        self.get_feature_names_out()
        X = check_spine(X, "StaticFeatures.transform")
        cust = self._customers()
        pos = pd.Index(cust["customer_id"]).get_indexer(X["customer_id"].to_numpy())
        found = pos >= 0
        take = np.maximum(pos, 0)
        out: dict[str, Any] = {}
        if self.tenure_:
            signup = cust["signup_date"].to_numpy("datetime64[ns]")[take]
            tenure = (X["cutoff"].to_numpy("datetime64[ns]") - signup) / np.timedelta64(1, "D")
            out["static__tenure_days"] = np.where(found, tenure, np.nan).astype(np.float32)
        for col, kind in self.types_.items():
            name = f"static__{_clean(col)}"
            if kind == "categorical":
                cats = pd.Index(self.categories_[col], dtype=object)
                codes = np.full(len(X), -1, dtype=np.int32)
                if col in cust:
                    codes = _level_codes(cust[col], self.categories_[col], other=False)[take]
                    codes = np.where(found, codes, -1)
                out[name] = pd.Categorical.from_codes(codes, cats)
            else:
                values = cust[col].to_numpy()[take] if col in cust else np.full(len(X), np.nan)
                num = pd.to_numeric(pd.Series(values, index=X.index), errors="coerce")
                num = num.where(found).to_numpy(dtype=np.float64, na_value=np.nan)
                out[name] = np.clip(num, -_F32_MAX, _F32_MAX).astype(np.float32)
        return pd.DataFrame(out, index=X.index, columns=list(self.feature_names_out_))

    def unseen_categories(self, X: pd.DataFrame) -> dict[str, int]:
        """Rows of ``X`` per categorical column whose value was never seen in ``fit``.

        Such values are encoded as missing, like the rare values beyond
        ``max_categories``. Columns with more than 10,000 distinct values at fit
        time count the values outside the kept levels.
        """
        self.get_feature_names_out()
        X = check_spine(X, "StaticFeatures.unseen_categories")
        cust = self._customers()
        pos = pd.Index(cust["customer_id"]).get_indexer(X["customer_id"].to_numpy())
        take = pos[pos >= 0]
        out: dict[str, int] = {}
        for col in self.categories_:
            if col not in cust:
                continue
            known = getattr(self, "seen_", {}).get(col, self.categories_[col])
            codes = _level_codes(cust[col], list(known), other=False)[take]
            present = cust[col].notna().to_numpy()[take]
            n = int((present & (codes < 0)).sum())
            if n:
                out[col] = n
        return out

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.dataframe = True
        return tags
