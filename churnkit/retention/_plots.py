"""Plots of retention tables. Each takes ``ax=None`` and returns the Axes.

matplotlib is imported only when a plot is drawn, and no global style is set.
With ``ax=None`` a new figure is made with ``pyplot`` (so it shows in notebooks);
pass an Axes from ``matplotlib.figure.Figure`` to keep pyplot out entirely.
Labels taken from the data (segment values, column names, titles) are drawn
as they are written: a segment called ``$5$`` is not read as mathtext or LaTeX.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnkit._core import LITERAL, literal_legend, require_columns
from churnkit.exceptions import SchemaError
from churnkit.retention._rates import METRIC_COLUMNS
from churnkit.retention._value import VALUE_COLUMNS

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_clv_distribution", "plot_cohorts", "plot_crr", "plot_value"]

_PERCENT = {"churn_rate": 100.0, "nrr": 100.0, "churn_rate_annualised": 100.0}
_LABELS = {
    "crr": "Customer retention rate (%)",
    "churn_rate": "Churn rate (%)",
    "churn_rate_annualised": "Annualised churn rate (%)",
    "nrr": "Net revenue retention (%)",
}
_AGE_LABELS = {
    "months_since_signup": "Months since signup",
    "months_since_first": "Months since first event",
}
_VALUE_LABELS = {
    "clv_total": "Total customer lifetime value",
    "clv": "Customer lifetime value (per customer)",
    "revenue": "Revenue per month",
    "customers": "Customers",
}


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new_ax = plt.subplots()
    return new_ax


def _label(row: tuple[Any, ...] | Any) -> str:
    parts = row if isinstance(row, tuple) else (row,)
    return " / ".join("(missing)" if pd.isna(p) else str(p) for p in parts)


def _finish(ax: Axes, title: str | None) -> Axes:
    if title is not None:
        ax.set_title(title, **LITERAL)
    return ax


def plot_crr(
    table: pd.DataFrame,
    *,
    metric: str = "crr",
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Line plot of a retention metric over time, one line per group.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`crr`, :func:`activity_crr` or :func:`churn_rate`.
    metric : str, default "crr"
        Column to plot: ``"crr"``, ``"churn_rate"``, ``"churn_rate_annualised"``,
        ``"nrr"`` or any numeric column. Rates are shown in percent.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created if None.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> customers = pd.DataFrame({
    ...     "customer_id": ["a", "b", "c"],
    ...     "signup_date": pd.to_datetime(["2024-01-05", "2024-01-09", "2024-02-11"]),
    ...     "end_date": pd.to_datetime([None, "2024-03-15", None]),
    ... })
    >>> from churnkit.retention import crr
    >>> ax = plot_crr(crr(customers), ax=Figure().add_subplot())
    >>> ax.get_ylabel()
    'Customer retention rate (%)'
    """
    require_columns(table, ["period_start", metric], table="table",
                    fix="Pass the output of crr(...) or activity_crr(...).")
    ax = _axes(ax)
    scale = _PERCENT.get(metric, 1.0)
    by = [c for c in table.columns if c not in METRIC_COLUMNS and c != "churn_rate_annualised"]
    if by:
        for key, part in table.groupby(by, dropna=False, sort=True, observed=True):
            ax.plot(part["period_start"], part[metric] * scale, marker="o", ms=3, label=_label(key))
        literal_legend(ax, title=", ".join(by), fontsize="small")
    else:
        ax.plot(table["period_start"], table[metric] * scale, marker="o", ms=3, label="all")
    ax.set_xlabel("Period start")
    ax.set_ylabel(_LABELS.get(metric, metric), **LITERAL)
    ax.grid(True, alpha=0.3)
    return _finish(ax, title)


def plot_cohorts(
    matrix: pd.DataFrame,
    *,
    ax: Axes | None = None,
    annotate: bool | None = None,
    cmap: str = "viridis",
    title: str | None = None,
) -> Axes:
    """Heatmap of a cohort retention matrix.

    Parameters
    ----------
    matrix : DataFrame
        Output of :func:`cohort_matrix` or :func:`activity_cohort_matrix` (shares).
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created if None.
    annotate : bool, optional
        Write the percentage in each cell; by default only when the matrix has
        at most 24 rows and 18 columns.
    cmap : str, default "viridis"
        Colormap name.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> matrix = pd.DataFrame([[1.0, 0.8], [1.0, float("nan")]],
    ...                       index=pd.to_datetime(["2024-01-01", "2024-02-01"]))
    >>> ax = plot_cohorts(matrix, ax=Figure().add_subplot())
    >>> ax.get_xlabel()
    'Months since signup'
    """
    if not isinstance(matrix, pd.DataFrame) or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise SchemaError("matrix: expected a non-empty DataFrame from cohort_matrix(...).")
    ax = _axes(ax)
    values = np.ma.masked_invalid(matrix.to_numpy(dtype="float64", na_value=np.nan))
    image = ax.imshow(values, aspect="auto", cmap=cmap, vmin=0.0, vmax=1.0, interpolation="none")
    n_rows, n_cols = values.shape
    step_r = max(1, n_rows // 24)
    step_c = max(1, n_cols // 24)
    rows = np.arange(0, n_rows, step_r)
    cols = np.arange(0, n_cols, step_c)
    labels = [i.strftime("%Y-%m") if isinstance(i, pd.Timestamp) else str(i) for i in matrix.index]
    ax.set_yticks(rows, [labels[i] for i in rows], **LITERAL)
    ax.set_xticks(cols, [str(matrix.columns[i]) for i in cols], **LITERAL)
    name = str(matrix.columns.name or "months_since_signup")
    ax.set_xlabel(_AGE_LABELS.get(name, name.replace("_", " ").capitalize()), **LITERAL)
    ax.set_ylabel("Cohort")
    if annotate or (annotate is None and n_rows <= 24 and n_cols <= 18):
        for (r, c), v in np.ndenumerate(values.filled(np.nan)):
            if not np.isnan(v):
                ax.text(
                    c,
                    r,
                    f"{v:.0%}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if v < 0.6 else "black",
                    **LITERAL,
                )
    ax.figure.colorbar(image, ax=ax, label="Share still active")
    return _finish(ax, title)


def plot_value(
    table: pd.DataFrame,
    *,
    metric: str = "clv_total",
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Horizontal bar plot of a value metric by segment.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`value_by_segment`.
    metric : str, default "clv_total"
        Column to plot, e.g. ``"clv_total"``, ``"clv"``, ``"revenue"``.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created if None.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> table = pd.DataFrame({"segment": ["a", "b"], "clv_total": [1200.0, 800.0]})
    >>> ax = plot_value(table, ax=Figure().add_subplot())
    >>> ax.get_xlabel()
    'Total customer lifetime value'
    """
    require_columns(table, [metric], table="table", fix="Pass the output of value_by_segment(...).")
    ax = _axes(ax)
    by = [c for c in table.columns if c not in VALUE_COLUMNS]
    labels = [_label(t) for t in table[by].itertuples(index=False, name=None)] if by else ["all"]
    values = table[metric].to_numpy(dtype="float64", na_value=np.nan)
    finite = np.where(np.isfinite(values), values, np.nan)
    pos = np.arange(len(values))
    ax.barh(pos, np.nan_to_num(finite), color="tab:blue")
    ax.set_yticks(pos, labels, **LITERAL)
    ax.invert_yaxis()
    ax.set_xlabel(_VALUE_LABELS.get(metric, metric), **LITERAL)
    if by:
        ax.set_ylabel(", ".join(by), **LITERAL)
    ax.grid(True, axis="x", alpha=0.3)
    return _finish(ax, title)


def plot_clv_distribution(
    table: pd.DataFrame,
    *,
    by: str | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Box plot of customer-level lifetime value per segment (log scale).

    Parameters
    ----------
    table : DataFrame
        Output of :func:`churnkit.retention.customer_clv_table`, with the ``by`` column
        joined on when given.
    by : str, optional
        Segment column; one box for everybody if None.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created if None.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> t = pd.DataFrame({"clv": [5.0, 50.0, 500.0, 20.0], "segment": ["a", "a", "b", "b"]})
    >>> ax = plot_clv_distribution(t, by="segment", ax=Figure().add_subplot())
    >>> ax.get_xlabel()
    'Customer lifetime value (per customer, log scale)'
    """
    require_columns(table, ["clv", *([by] if by else [])], table="table",
                    fix="Pass the output of customer_clv_table(...) with the segment joined.")
    ax = _axes(ax)
    if by:
        keys = table[by].astype(object).where(table[by].notna(), "(missing)").astype(str)
        names = sorted(keys.unique())
        data = [table.loc[(keys == k).to_numpy(), "clv"].to_numpy(dtype=float) for k in names]
    else:
        names, data = ["all"], [table["clv"].to_numpy(dtype=float)]
    floor = 0.01
    data = [np.maximum(d[np.isfinite(d)], floor) for d in data]
    import matplotlib

    major_minor = tuple(int(p) for p in matplotlib.__version__.split(".")[:2])
    side: dict[str, Any] = ({"orientation": "horizontal"} if major_minor >= (3, 10)
                            else {"vert": False})  # `vert` is deprecated from 3.10 on
    ax.boxplot(data, whis=(5, 95), showfliers=False, **side)
    ax.set_yticks(np.arange(1, len(names) + 1), names, **LITERAL)
    ax.set_xscale("log")
    ax.set_xlabel("Customer lifetime value (per customer, log scale)", **LITERAL)
    if by:
        ax.set_ylabel(by, **LITERAL)
    ax.invert_yaxis()
    ax.grid(True, axis="x", alpha=0.3)
    return _finish(ax, title)
