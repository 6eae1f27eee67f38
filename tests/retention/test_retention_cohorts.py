"""Cohort matrices and the plot functions."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from churnkit.exceptions import SchemaError
from churnkit.retention import (
    activity_cohort_matrix,
    cohort_matrix,
    crr,
    plot_cohorts,
    plot_crr,
    plot_value,
)


def _tiny() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "signup_date": pd.to_datetime(
                ["2024-01-03", "2024-01-20", "2024-01-31", "2024-02-11", "2024-04-01"]
            ),
            "end_date": pd.to_datetime([None, "2024-02-01", "2024-03-31", "2024-02-12", None]),
        }
    )


def _brute_force(df: pd.DataFrame, as_of: pd.Timestamp) -> dict[tuple[str, int], float]:
    out: dict[tuple[str, int], float] = {}
    cohorts = pd.date_range("2024-01-01", as_of, freq="MS")
    for c in cohorts:
        members = [r for r in df.itertuples() if r.signup_date.to_period("M").start_time == c]
        for m in range(len(pd.date_range("2024-01-01", as_of, freq="MS"))):
            month = c + pd.DateOffset(months=m)
            if month > as_of or not members:
                out[(c.strftime("%Y-%m"), m)] = np.nan
                continue
            still = sum(1 for r in members if pd.isna(r.end_date) or r.end_date >= month)
            out[(c.strftime("%Y-%m"), m)] = still / len(members)
    return out


def test_cohort_matrix_against_brute_force() -> None:
    df = _tiny()
    as_of = pd.Timestamp("2024-04-15")
    matrix = cohort_matrix(df, as_of=as_of)
    assert matrix.index.name == "cohort"
    assert matrix.columns.name == "months_since_signup"
    assert matrix.shape == (4, 4)
    expected = _brute_force(df, as_of)
    for (cohort, m), value in expected.items():
        got = matrix.loc[pd.Timestamp(cohort + "-01"), m]
        if np.isnan(value):
            assert np.isnan(got), (cohort, m)
        else:
            assert got == pytest.approx(value), (cohort, m)
    # January cohort: a stays, b leaves on Feb 1 (still there at its start), c leaves Mar 31.
    assert matrix.iloc[0].tolist() == pytest.approx([1.0, 1.0, 2 / 3, 1 / 3])


def test_cohort_counts_and_max_months() -> None:
    df = _tiny()
    counts = cohort_matrix(df, normalize=False, max_months=1)
    assert str(counts.dtypes.iloc[0]) == "Int64"
    assert counts.shape == (4, 2)
    assert counts[0].tolist() == [3, 1, 0, 1]
    assert counts[1].iloc[:3].tolist() == [3, 0, 0]
    assert counts[1].isna().iloc[3]


def test_activity_cohort_matrix() -> None:
    events = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c"],
            "timestamp": pd.to_datetime(
                ["2024-01-03", "2024-01-30", "2024-03-09", "2024-01-20", "2024-02-01", "2024-02-14"]
            ),
        }
    )
    matrix = activity_cohort_matrix(events)
    assert matrix.columns.name == "months_since_first"
    assert matrix.iloc[0].tolist() == pytest.approx([1.0, 0.5, 0.5])
    assert matrix.iloc[1, 0] == 1.0
    assert matrix.iloc[1, 1] == 0.0
    assert np.isnan(matrix.iloc[1, 2])


def test_cohort_errors() -> None:
    df = _tiny()
    with pytest.raises(SchemaError, match=r"lacks column\(s\) \['left'\]"):
        cohort_matrix(df, end_col="left")
    with pytest.raises(ValueError, match="'max_months' parameter of cohort_matrix"):
        cohort_matrix(df, max_months=-1)
    with pytest.raises(SchemaError, match="no signup on or before"):
        cohort_matrix(df, as_of="2020-01-01")


def test_plots_draw_on_given_axes() -> None:
    df = _tiny().assign(segment=["x", "y", "x", "y", "x"])
    fig = Figure()
    axes = fig.subplots(1, 3)
    ax = plot_crr(crr(df, by="segment"), ax=axes[0], title="CRR")
    assert ax is axes[0]
    assert len(ax.get_lines()) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["x", "y"]
    ax = plot_crr(crr(df), metric="churn_rate", ax=axes[0])
    assert ax.get_ylabel() == "Churn rate (%)"
    ax = plot_cohorts(cohort_matrix(df), ax=axes[1])
    assert ax is axes[1]
    assert ax.get_images()
    value = pd.DataFrame({"segment": ["x", "y"], "clv_total": [10.0, np.inf]})
    ax = plot_value(value, ax=axes[2])
    assert len(ax.patches) == 2
    with pytest.raises(SchemaError, match=r"lacks column\(s\) \['nope'\]"):
        plot_crr(crr(df), metric="nope", ax=axes[0])
    with pytest.raises(SchemaError, match=r"lacks column\(s\) \['nope'\]"):
        plot_value(value, metric="nope", ax=axes[2])


@pytest.mark.parametrize("segment", ["$5$", r"$x^{$", "$\\frac{a}{b}$"])
def test_plot_labels_are_drawn_as_written_not_as_mathtext(segment) -> None:
    df = _tiny().assign(segment=[segment, "$1 plan", segment, "$1 plan", segment])
    fig = Figure()
    ax_crr, ax_value = fig.subplots(1, 2)
    plot_crr(crr(df, by="segment"), ax=ax_crr, title=segment)
    value = pd.DataFrame({"segment": [segment, "$1 plan"], "clv_total": [10.0, 5.0]})
    plot_value(value, ax=ax_value, title=segment)
    fig.savefig(io.BytesIO(), format="png")  # an invalid formula such as "$x^{$" raises if parsed
    legend = ax_crr.get_legend()
    texts = [*legend.get_texts(), legend.get_title(), ax_crr.title, ax_value.title,
             *ax_value.get_yticklabels()]
    assert sorted(t.get_text() for t in legend.get_texts()) == sorted([segment, "$1 plan"])
    assert {t.get_text() for t in ax_value.get_yticklabels()} == {segment, "$1 plan"}
    assert ax_crr.get_title() == segment
    for text in texts:
        assert not text.get_parse_math()
        assert not text.get_usetex()
