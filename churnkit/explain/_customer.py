"""Explanations customer by customer: one customer's, the long format, feature reasons.

:func:`explain_customer` gathers what an account manager (or an analyst
checking a score) needs about one customer: the churn probability, the
worded top reasons, every feature's value and contribution, and a waterfall
from the model's expected score to this customer's.
:func:`write_customer_explanation` saves it as a PNG waterfall, a CSV table
and a small self-contained HTML page.
"""

from __future__ import annotations

import base64
import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnkit._core import (
    STR_DTYPE,
    atomic_path,
    atomic_write_text,
    esc,
    html_page,
    png_bytes,
    resolve_as_of,
    slugify,
    write_table,
)
from churnkit.exceptions import SchemaError
from churnkit.explain._plots import plot_waterfall
from churnkit.explain._reason_config import EXPECTED_COLUMN, ReasonConfig, as_reason_config, load_reasons
from churnkit.explain._reasons import (
    _grouping,
    _winners,
    check_aligned,
    feature_columns,
    group_contributions,
    top_reasons,
)
from churnkit.explain._values import format_value, missing_text
from churnkit.explain._wording import Columns, RowConditions, humanize_feature
from churnkit.model import feature_set_of

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from churnkit.data import Dataset

__all__ = [
    "CustomerExplanation",
    "customer_features",
    "explain_customer",
    "explanations_long",
    "feature_reasons",
    "write_customer_explanation",
]


@dataclass(frozen=True)
class CustomerExplanation:
    """Why the model gives one customer its churn probability.

    Attributes
    ----------
    customer_id : object
        The row label of the explained customer.
    probability : float
        Calibrated churn probability, as in the scores table.
    expected_value : float
        The model's average raw score (log-odds) over its training data: where
        the waterfall starts.
    raw_score : float
        This customer's raw score (log-odds, before calibration):
        ``expected_value`` plus the sum of the contributions.
    reasons : DataFrame
        Up to ``k`` rows: ``reason_id``, ``reason`` (worded with the customer's
        values), ``contribution`` (summed over the reason's features).
    table : DataFrame
        One row per feature, largest absolute contribution first: ``feature``,
        ``description``, ``value`` (as text), ``contribution`` (log-odds),
        ``reason_id`` (the reason it counts towards for this customer).
    contributions : Series
        The raw SHAP row (feature -> contribution, plus ``"(expected)"``).
    values : Series
        The customer's feature values.
    max_features : int
        Features drawn in the waterfall and listed in the summary.
    """

    customer_id: Any
    probability: float
    expected_value: float
    raw_score: float
    reasons: pd.DataFrame
    table: pd.DataFrame
    contributions: pd.Series
    values: pd.Series
    max_features: int = 10

    def plot(self, ax: Axes | None = None) -> Axes:
        """Waterfall of the largest contributions (see :func:`churnkit.explain.plot_waterfall`)."""
        shown = pd.Series(dict(zip(self.table["feature"], self.table["value"], strict=True)))
        ax = plot_waterfall(self.contributions, shown, max_features=self.max_features, ax=ax)
        ax.set_title(f"Customer {self.customer_id}: churn probability {self.probability:.0%}",
                     loc="right")
        ax.set_xlabel("log-odds before calibration (> 0 raises the risk)")
        return ax

    def to_markdown(self) -> str:
        """A short summary: probability, reasons, and the strongest features."""
        lines = [
            f"# Customer {self.customer_id}",
            "",
            f"Churn probability: **{self.probability:.1%}**",
            "",
            "## Reasons",
            "",
        ]
        lines += [f"{i}. {r}" for i, r in enumerate(self.reasons["reason"], start=1)] or [
            "Nothing in the data raises this customer's risk above the average."
        ]
        lines += ["", f"## Strongest features (of {len(self.table)})", "",
                  "| feature | value | contribution |", "|---|---|---:|"]
        for row in self.table.head(self.max_features).itertuples():
            value = str(row.value).replace("|", "\\|")
            lines.append(f"| {row.description} | {value} | {row.contribution:+.3f} |")
        lines += ["", _NOTE]
        return "\n".join(lines) + "\n"


_NOTE = (
    "Contributions are exact TreeSHAP values in log-odds: positive ones raise the risk. "
    "They add up, from the model's average score, to this customer's raw score; the "
    "probability shown is that score after calibration."
)


def customer_features(
    model: Any,
    dataset: Dataset,
    customer_id: Any,
    *,
    as_of: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Build one customer's features at ``as_of``, indexed by its id.

    Parameters
    ----------
    model : ChurnModel
        A model trained by :func:`churnkit.train` (it carries its feature set).
    dataset : Dataset
        The validated tables (:func:`churnkit.load_dataset`).
    customer_id : object
        The customer; compared as text, so ``"42"`` finds the integer id 42.
    as_of : str or Timestamp, optional
        Point in time (default: the end of the data); only earlier events count.

    Returns
    -------
    DataFrame
        One row, index ``customer_id``.

    Raises
    ------
    SchemaError
        If the customer is not in the customers table (close ids are suggested).
    """
    fs = feature_set_of(model)
    ids = dataset.customers["customer_id"]
    text = ids.astype(str).to_numpy()
    hit = np.flatnonzero(text == str(customer_id))
    if not len(hit):
        close = difflib.get_close_matches(str(customer_id), list(text), n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise SchemaError(
            f"customers.customer_id: no customer {str(customer_id)!r} among {len(text):,}.{hint}"
        )
    when = resolve_as_of(as_of, dataset.end, start=dataset.start)
    key = ids.iloc[hit[0]]
    spine = pd.DataFrame({"customer_id": [key], "cutoff": [when.to_datetime64()]})
    # the calls scoring makes (churnkit.scoring.score_partition): repair types, then transform
    X = fs.transform(fs.align(dataset), spine)
    X.index = pd.Index([key], name="customer_id")
    return X


def explain_customer(
    model: Any,
    X: pd.DataFrame,
    *,
    reasons: ReasonConfig | str | Path | None = None,
    max_features: int = 10,
    k: int = 3,
    ranking: str = "sum",
) -> CustomerExplanation:
    """Explain one customer's churn probability.

    Parameters
    ----------
    model : ChurnModel
        A fitted model (``predict_proba`` and ``explain``).
    X : DataFrame
        Exactly one row: the customer's features, e.g. from
        :func:`customer_features`.
    reasons : ReasonConfig, path or None
        Reason groups; ``None`` uses the built-in ``configs/reasons.yaml``.
    max_features : int, default 10
        Features drawn in the waterfall and listed in the summary.
    k : int, default 3
        Worded reasons.
    ranking : {"sum", "players"}, default "sum"
        How reason groups are valued, as ``scoring.reason_ranking`` does in
        scoring: their features' summed SHAP values, or their exact Shapley
        values with the groups as players.

    Returns
    -------
    CustomerExplanation

    Raises
    ------
    SchemaError
        If ``X`` is not a DataFrame with exactly one row.
    """
    if not isinstance(X, pd.DataFrame) or len(X) != 1:
        got = f"{len(X)} rows" if isinstance(X, pd.DataFrame) else type(X).__name__
        raise SchemaError(
            f"explain_customer needs X as a DataFrame with exactly one row (one customer); "
            f"got {got}. Select it with X.loc[[customer_id]] or build it with customer_features."
        )
    if not isinstance(max_features, int) or isinstance(max_features, bool) or max_features < 1:
        raise ValueError(
            "The 'max_features' parameter of explain_customer must be an int >= 1. "
            f"Got {max_features!r} instead."
        )
    if ranking not in ("sum", "players"):
        raise ValueError("The 'ranking' parameter of explain_customer must be 'sum' or "
                         f"'players'. Got {ranking!r} instead.")
    cfg = reasons if isinstance(reasons, ReasonConfig) else load_reasons(reasons)
    ranker = model if ranking == "players" else None
    contrib = model.explain(X)
    Xm = X[[c for c in contrib.columns if c != EXPECTED_COLUMN]]
    probability = float(model.predict_proba(X)[0, 1])
    top = top_reasons(contrib, Xm, cfg, k=k, model=ranker)
    grouped = group_contributions(contrib, cfg, X=Xm, model=ranker).iloc[0]
    picked = [(top.iloc[0][f"reason_{i}_id"], top.iloc[0][f"reason_{i}"]) for i in range(1, k + 1)]
    picked = [(rid, text) for rid, text in picked if not pd.isna(rid)]
    reason_table = pd.DataFrame(
        {
            "reason_id": pd.array([rid for rid, _ in picked], dtype=STR_DTYPE),
            "reason": pd.array([text for _, text in picked], dtype=STR_DTYPE),
            "contribution": [float(grouped[rid]) for rid, _ in picked],
        }
    )
    long = explanations_long(contrib, Xm)
    owner = feature_reasons(Xm, cfg).iloc[0]
    values = X.iloc[0]
    table = pd.DataFrame(
        {
            "feature": long["feature"],
            "description": pd.array([humanize_feature(f) for f in long["feature"]], dtype=STR_DTYPE),
            "value": pd.array([_shown(values[f], f) for f in long["feature"]], dtype=STR_DTYPE),
            "contribution": long["contribution"].to_numpy(),
            "reason_id": pd.array(owner[long["feature"]].to_numpy(), dtype=STR_DTYPE),
        }
    )
    row = contrib.iloc[0]
    expected = float(row.get(EXPECTED_COLUMN, 0.0))
    return CustomerExplanation(
        customer_id=X.index[0],
        probability=probability,
        expected_value=expected,
        raw_score=expected + float(row.drop(EXPECTED_COLUMN, errors="ignore").sum()),
        reasons=reason_table,
        table=table,
        contributions=row,
        values=values,
        max_features=max_features,
    )


def _shown(value: Any, feature: str) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    text = format_value(value, feature)
    return missing_text(feature) if text is None else text


def write_customer_explanation(
    expl: CustomerExplanation, out_dir: str | Path
) -> dict[str, Path]:
    """Write a customer's explanation: waterfall PNG, contributions CSV, HTML summary.

    Files are named after the customer id (``customer_<id>.png`` ...) and
    written atomically; the HTML page embeds the chart, so it stands alone.

    Returns
    -------
    dict of str to Path
        ``"waterfall"``, ``"table"`` and ``"summary"``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"customer_{slugify(str(expl.customer_id), fallback='unknown')}"
    ax = expl.plot()
    png = png_bytes(ax.figure, dpi=110, bbox_inches="tight")
    paths = {"waterfall": out / f"{stem}.png", "table": out / f"{stem}.csv",
             "summary": out / f"{stem}.html"}
    with atomic_path(paths["waterfall"]) as tmp:
        tmp.write_bytes(png)
    write_table(expl.table, paths["table"])
    reasons = "".join(f"<li>{esc(r)}</li>" for r in expl.reasons["reason"]) or (
        "<li>Nothing in the data raises this customer's risk above the average.</li>"
    )
    rows = "".join(
        f"<tr><td>{esc(r.description)}</td><td>{esc(r.value)}</td>"
        f'<td class="num">{r.contribution:+.3f}</td></tr>'
        for r in expl.table.head(expl.max_features).itertuples()
    )
    body = (
        f"<h1>Customer {esc(expl.customer_id)}</h1>\n"
        f'<p class="meta">Churn probability <b>{expl.probability:.1%}</b></p>\n'
        f"<h2>Reasons</h2>\n<ol>{reasons}</ol>\n"
        f'<h2>Contributions</h2>\n<img alt="waterfall of contributions" style="max-width:100%" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode()}">\n'
        f"<h2>Strongest features (of {len(expl.table)})</h2>\n"
        '<table><thead><tr><th>feature</th><th>value</th><th class="num">contribution</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>\n<footer>{esc(_NOTE)}</footer>"
    )
    atomic_write_text(paths["summary"], html_page(f"Customer {expl.customer_id}", body))
    return paths


def explanations_long(
    contrib: pd.DataFrame,
    X: pd.DataFrame,
    ids: Sequence[Any] | pd.Series | np.ndarray | None = None,
    *,
    max_features: int | None = None,
) -> pd.DataFrame:
    """Explanations in long format: one row per customer and feature.

    Parameters
    ----------
    contrib, X : DataFrame
        SHAP values and feature values, same index.
    ids : array-like, optional
        Customer ids in row order (default: the index).
    max_features : int, optional
        Keep only each customer's ``max_features`` features by absolute contribution.

    Returns
    -------
    DataFrame
        ``customer_id, feature, value, contribution`` ordered by customer (row
        order) then absolute contribution, largest first. ``value`` is text
        (numbers written with up to 10 significant digits, categories as is)
        so one column holds numeric and categorical features alike.
    """
    check_aligned(contrib, X)
    features = feature_columns(contrib)
    values = contrib[features].to_numpy(dtype=float)
    ids_arr = np.asarray(contrib.index if ids is None else ids, dtype=object)
    if len(ids_arr) != len(values):
        raise SchemaError(f"ids has {len(ids_arr)} entries but contrib has {len(values)} rows.")
    n, m = values.shape
    keep = m if max_features is None else max(0, min(int(max_features), m))
    order = np.zeros((n, keep), dtype=np.intp)
    step = max(1, 4_000_000 // max(m, 1))
    for start in range(0, n, step):
        size = -np.abs(values[start:start + step])
        cand = np.argpartition(size, keep - 1, axis=1)[:, :keep] if 0 < keep < m else (
            np.tile(np.arange(m), (len(size), 1))[:, :keep]
        )
        ranked = np.lexsort((cand, np.take_along_axis(size, cand, axis=1)), axis=1)
        order[start:start + step] = np.take_along_axis(cand, ranked, axis=1)
    rows = np.repeat(np.arange(n), keep)
    feat = order.ravel()
    text = np.full(len(rows), None, dtype=object)
    cols = Columns(X)
    for pos in np.unique(feat):
        sel = feat == pos
        vals = cols.get(features[pos], rows[sel])
        if vals is not None:
            text[sel] = [format_value(v, "", ".10g" if isinstance(v, float) else "")
                         for v in vals]
    return pd.DataFrame(
        {
            "customer_id": ids_arr[rows],
            "feature": pd.array(np.asarray(features, dtype=object)[feat], dtype=STR_DTYPE),
            "value": pd.array(text, dtype=STR_DTYPE),
            "contribution": values[rows, feat],
        }
    )


def feature_reasons(
    X: pd.DataFrame,
    reasons: ReasonConfig | str | Path | None = None,
    *,
    features: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The reason each feature counts towards, for each customer.

    Parameters
    ----------
    X : DataFrame
        Feature values, one row per customer.
    reasons : ReasonConfig, path or None
        Reason groups; ``None`` uses the built-in ``configs/reasons.yaml``.
    features : sequence of str, optional
        Features to assign (default: the columns of ``X``).

    Returns
    -------
    DataFrame
        Index of ``X``, one column per feature: the reason id (or the feature
        name itself for a feature no group claims for that customer).
    """
    names = [str(c) for c in (X.columns if features is None else features)]
    grp = _grouping(names, np.zeros((0, len(names))), as_reason_config(reasons))
    ids = np.asarray(grp.ids, dtype=object)
    out = np.empty((len(X), len(names)), dtype=object)
    out[:, grp.fixed >= 0] = ids[grp.fixed[grp.fixed >= 0]]
    cond = RowConditions(X, slice(None), len(X))
    for j in grp.chains:
        for col, held in _winners(grp, j, cond):
            out[held, j] = ids[col]
    return pd.DataFrame(out, index=X.index, columns=names).astype(STR_DTYPE)
