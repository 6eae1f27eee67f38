"""Reason groups, worded reasons and explanation plots, on a real LightGBM model."""

from __future__ import annotations

import textwrap
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from churnkit.exceptions import ConfigError, SchemaError
from churnkit.explain._plots import plot_beeswarm, plot_global_reasons, plot_waterfall
from churnkit.explain._reasons import (
    EXPECTED_COLUMN,
    ReasonConfig,
    explanations_long,
    global_importance,
    group_contributions,
    humanize_feature,
    load_reasons,
    top_reasons,
)

DRIVERS = {"unresolved_complaints", "low_satisfaction"}


def make_features(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Feature frame in churnkit's naming scheme; churn driven by complaints and NPS."""
    rng = np.random.default_rng(seed)
    u90 = rng.poisson(0.7, n).astype(float)
    last = rng.integers(0, 11, n).astype(float)
    first = np.clip(last + rng.integers(-3, 4, n), 0, 10).astype(float)
    last[rng.random(n) < 0.1] = np.nan
    X = pd.DataFrame(
        {
            "contacts__unresolved__count__30d": rng.binomial(u90.astype(int), 0.4).astype(float),
            "contacts__unresolved__count__90d": u90,
            "contacts__unresolved__count__365d": u90 + rng.poisson(0.6, n),
            "contacts__topic=billing__count__90d": rng.poisson(0.3, n).astype(float),
            "contacts__outbound__days_since_last": rng.integers(1, 400, n).astype(float),
            "feedback__score__first__365d": first,
            "feedback__score__last__365d": last,
            "feedback__score__min__365d": np.fmin(first, last),
            "usage__logins__sum__30d": rng.gamma(2.0, 10.0, n).round(),
            "usage__logins__change__90d": rng.normal(0, 5, n).round(),
            "static__tenure_days": rng.integers(30, 3000, n).astype(float),
            "static__Contract": pd.Categorical(
                rng.choice(["Month-to-month", "One year", "Two year"], n)
            ),
            "static__region": pd.Categorical(rng.choice(["North", "South", "East"], n)),
        },
        index=pd.Index([f"C{i:05d}" for i in range(n)], name="customer_id"),
    )
    logit = -2.2 + 1.3 * u90 + 0.55 * (6 - np.nan_to_num(last, nan=7.0))
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    X, y = make_features()
    params = {
        "objective": "binary", "num_leaves": 15, "learning_rate": 0.1, "min_data_in_leaf": 20,
        "verbose": -1, "seed": 0, "deterministic": True, "num_threads": 2,
    }
    booster = lgb.train(params, lgb.Dataset(X, y), num_boost_round=80)
    contrib = pd.DataFrame(
        booster.predict(X, pred_contrib=True), index=X.index, columns=[*X.columns, EXPECTED_COLUMN]
    )
    prob = pd.Series(booster.predict(X), index=X.index)
    return X, contrib, prob


@pytest.fixture(scope="module")
def reasons() -> ReasonConfig:
    return load_reasons()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reasons.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- grouping
def test_grouped_sums_equal_feature_sums(fitted, reasons):
    X, contrib, _ = fitted
    grouped = group_contributions(contrib, reasons)
    features = contrib.drop(columns=EXPECTED_COLUMN)
    np.testing.assert_allclose(grouped.sum(axis=1), features.sum(axis=1), rtol=1e-10, atol=1e-10)
    owner = reasons.assign(list(features.columns))
    for gid in grouped.columns:
        members = [f for f, g in owner.items() if g == gid] or [gid]  # unclaimed: its own reason
        np.testing.assert_allclose(grouped[gid], features[members].sum(axis=1), atol=1e-12)
    assert grouped.index.equals(X.index)
    assert list(grouped.columns[:2]) == ["unresolved_complaints", "low_satisfaction"]


def test_first_matching_group_wins():
    cfg = ReasonConfig.model_validate(
        {
            "reasons": [
                {"id": "a", "label": "A", "patterns": ["contacts__topic=billing*"], "template": []},
                {"id": "b", "label": "B", "patterns": ["contacts__*"], "template": []},
            ]
        }
    )
    assert cfg.assign(["contacts__topic=billing__count__90d", "CONTACTS__count__30d", "x"]) == {
        "contacts__topic=billing__count__90d": "a", "CONTACTS__count__30d": "b", "x": None,
    }


def test_top_reason_of_high_risk_rows_is_a_planted_driver(fitted, reasons):
    X, contrib, prob = fitted
    top = top_reasons(contrib, X, reasons)
    high = prob > 0.6
    assert high.sum() > 200
    share = top.loc[high, "reason_1_id"].isin(DRIVERS).mean()
    assert share > 0.9


def test_reasons_are_positive_and_ordered(fitted, reasons):
    X, contrib, _ = fitted
    grouped = group_contributions(contrib, reasons)
    top = top_reasons(contrib, X, reasons, k=3)
    assert list(top.columns) == [
        "reason_1", "reason_2", "reason_3", "reason_1_id", "reason_2_id", "reason_3_id",
    ]
    for row in range(0, len(X), 37):
        ids = top.iloc[row][["reason_1_id", "reason_2_id", "reason_3_id"]].dropna().tolist()
        values = grouped.iloc[row][ids].to_numpy()
        assert (values > 0).all()
        assert (np.diff(values) <= 0).all()
        n_positive = int((grouped.iloc[row] > 0).sum())
        assert len(ids) == min(3, n_positive)
        assert top.iloc[row][[f"reason_{i}" for i in range(1, 4)]].notna().sum() == len(ids)


def test_no_reason_when_nothing_raises_risk():
    X = pd.DataFrame({"a__v": [1.0, 2.0]})
    contrib = pd.DataFrame({"a__v": [-0.5, 0.0], EXPECTED_COLUMN: [-2.0, -2.0]})
    top = top_reasons(contrib, X, load_reasons(), k=2)
    assert top.isna().all().all()


# ----------------------------------------------------------------------------- wording
def test_unresolved_template_uses_the_rows_own_values(fitted, reasons):
    X, contrib, _ = fitted
    top = top_reasons(contrib, X, reasons)
    count = X["contacts__unresolved__count__90d"]
    is_top = top["reason_1_id"] == "unresolved_complaints"
    many = top.index[is_top & (count >= 2)][0]
    one = top.index[is_top & (count == 1)][0]
    assert top.loc[many, "reason_1"] == (
        f"{count[many]:.0f} unresolved contacts in the last 90 days"
    )
    assert top.loc[one, "reason_1"] == "1 unresolved contact in the last 90 days"


def test_nps_template_and_condition(fitted, reasons):
    X, contrib, _ = fitted
    top = top_reasons(contrib, X, reasons)
    first, last = X["feedback__score__first__365d"], X["feedback__score__last__365d"]
    low = top["reason_1_id"] == "low_satisfaction"
    fell = top.index[low & (last < first)][0]
    assert top.loc[fell, "reason_1"] == (
        f"NPS fell from {first[fell]:.0f} to {last[fell]:.0f} in the last year"
    )
    # The 'fell' wording needs last < first; otherwise the next template is used.
    flat = top.index[low & (last >= first)][0]
    minimum = X.loc[flat, "feedback__score__min__365d"]
    assert top.loc[flat, "reason_1"] == (
        f"Last survey score {last[flat]:.0f}, lowest this year {minimum:.0f}"
    )


def test_fallback_chain():
    cfg = ReasonConfig.model_validate(
        {
            "reasons": [
                {
                    "id": "usage",
                    "label": "Falling usage",
                    "patterns": ["usage__*"],
                    "template": [
                        "{usage__not_a_feature__30d:.0f} never used",
                        {"text": "Logins fell by {abs(usage__logins__change__90d):.0f}",
                         "when": "usage__logins__change__90d < 0"},
                        "{usage__logins__sum__30d:.1f} logins",
                    ],
                }
            ]
        }
    )
    X = pd.DataFrame(
        {
            "usage__logins__change__90d": [-12.0, 5.0, 3.0, np.nan],
            "usage__logins__sum__30d": [1.0, 2.5, np.nan, np.nan],
        }
    )
    contrib = pd.DataFrame(
        {"usage__logins__change__90d": [0.4, 0.3, 0.2, 0.1], "usage__logins__sum__30d": 0.0}
    )
    top = top_reasons(contrib, X, cfg, k=1)
    assert top["reason_1"].tolist() == [
        "Logins fell by 12",  # first template's feature does not exist
        "2.5 logins",  # condition false
        "Falling usage",  # condition false and NaN field: the label
        "Falling usage",
    ]
    assert top["reason_1_id"].tolist() == ["usage"] * 4


def test_unclaimed_feature_is_its_own_humanised_reason():
    cfg = ReasonConfig.model_validate(
        {"reasons": [{"id": "u", "label": "U", "patterns": ["usage__*"], "template": []}]}
    )
    X = pd.DataFrame(
        {
            "static__Contract": pd.Categorical(["Month-to-month", "Two year"]),
            "usage__logins__sum__30d": [3.0, 4.0],
            "contacts__unresolved__share__90d": [0.25, 0.5],
        }
    )
    contrib = pd.DataFrame(
        {
            "static__Contract": [0.9, -0.2],
            "usage__logins__sum__30d": [0.1, 0.3],
            "contacts__unresolved__share__90d": [-0.1, 0.2],
        }
    )
    top = top_reasons(contrib, X, cfg, k=2)
    assert top.loc[0, "reason_1"] == "Contract: Month-to-month"
    assert top.loc[0, "reason_1_id"] == "static__Contract"
    assert top.loc[0, "reason_2"] == "U"
    assert top.loc[1, "reason_1"] == "U"
    assert top.loc[1, "reason_2"] == "Share of unresolved contacts (last 90 days): 50%"


def test_plural_and_string_conditions():
    cfg = ReasonConfig.model_validate(
        {
            "reasons": [
                {
                    "id": "plan",
                    "label": "Plan",
                    "patterns": ["static__*"],
                    "template": [
                        {"text": "Month-to-month, {static__tenure:.0f} "
                                 "{static__tenure|month|months} in",
                         "when": "static__Contract == 'Month-to-month'"},
                        "{feature}: {value}",
                    ],
                }
            ]
        }
    )
    X = pd.DataFrame(
        {
            "static__Contract": pd.Categorical(["Month-to-month", "Month-to-month", "One year"]),
            "static__tenure": [1.0, 7.0, 30.0],
        }
    )
    contrib = pd.DataFrame({"static__Contract": [0.5, 0.5, 0.5], "static__tenure": [0.1, 0.1, 0.9]})
    assert top_reasons(contrib, X, cfg, k=1)["reason_1"].tolist() == [
        "Month-to-month, 1 month in", "Month-to-month, 7 months in", "Tenure: 30",
    ]


def test_top_feature_picks_the_wording_of_the_strongest_feature():
    cfg = ReasonConfig.model_validate(
        {
            "reasons": [
                {
                    "id": "price",
                    "label": "Price",
                    "patterns": ["static__*"],
                    "template": [
                        {"text": "Pays by {static__PaymentMethod}",
                         "top_feature": "static__payment*"},
                        {"text": "Pays {static__value:,.2f} a month",
                         "top_feature": ["x", "*value"]},
                    ],
                }
            ]
        }
    )
    X = pd.DataFrame(
        {"static__PaymentMethod": pd.Categorical(["Electronic check"] * 2),
         "static__value": [1234.5, 99.0]}
    )
    contrib = pd.DataFrame({"static__PaymentMethod": [0.3, 0.1], "static__value": [0.1, 0.3]})
    assert top_reasons(contrib, X, cfg, k=1)["reason_1"].tolist() == [
        "Pays by Electronic check", "Pays 99.00 a month",
    ]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("static__Contract", "Contract"),
        ("static__MonthlyCharges", "Monthly charges"),
        ("contacts__topic=billing__count__90d", "Contacts with topic billing (last 90 days)"),
        ("contacts__count__trend__30d", "Change in contacts vs the previous 30 days"),
        ("usage__logins__sum__30d", "Total logins (usage, last 30 days)"),
        ("feedback__detractor__count__365d", "Detractor feedback (last 365 days)"),
        ("contacts__outbound__days_since_last", "Days since the last outbound contact"),
        ("transactions__days_since_first", "Days since the first transaction"),
    ],
)
def test_humanize_feature(name, words):
    assert humanize_feature(name) == words


def test_misaligned_inputs_are_refused(fitted, reasons):
    X, contrib, _ = fitted
    with pytest.raises(SchemaError, match="same index"):
        top_reasons(contrib, X.iloc[::-1], reasons)
    with pytest.raises(ValueError, match="'k' parameter"):
        top_reasons(contrib, X, reasons, k=0)


# ----------------------------------------------------------------------------- global and long
def test_global_importance(fitted, reasons):
    _, contrib, _ = fitted
    imp = global_importance(contrib, reasons)
    features = contrib.drop(columns=EXPECTED_COLUMN)
    expected = features.abs().mean().sort_values(ascending=False)
    np.testing.assert_allclose(
        imp.features["mean_abs_contribution"], expected.to_numpy(), rtol=1e-12
    )
    assert set(imp.reasons.index[:2]) == DRIVERS
    grouped = group_contributions(contrib, reasons)
    assert imp.reasons.loc["low_satisfaction", "mean_abs_contribution"] == pytest.approx(
        grouped["low_satisfaction"].abs().mean()
    )
    assert imp.features.loc["static__region", "reason_id"] == "customer_profile"


def test_explanations_long(fitted):
    X, contrib, _ = fitted
    long = explanations_long(contrib, X, X.index, top_n=4)
    assert list(long.columns) == ["customer_id", "feature", "value", "contribution"]
    assert len(long) == 4 * len(X)
    first = long[long["customer_id"] == X.index[0]]
    assert (np.diff(first["contribution"].abs().to_numpy()) <= 0).all()
    row = first.iloc[0]
    assert row["contribution"] == contrib.loc[X.index[0], row["feature"]]
    full = explanations_long(contrib.iloc[:5], X.iloc[:5])
    assert len(full) == 5 * X.shape[1]
    region = full[full["feature"] == "static__region"]
    assert region["value"].tolist() == X["static__region"].iloc[:5].astype(str).tolist()


# ----------------------------------------------------------------------------- config errors
def test_builtin_reasons_load(reasons):
    assert {"unresolved_complaints", "low_satisfaction", "falling_usage", "billing_price",
            "fading_relationship", "early_life", "contract_plan"} <= set(reasons.ids)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("""
         reasons:
           - id: a
             label: A
             patern: ["x*"]
             template: []
         """, r"reasons\.yaml: reasons -> 0: unknown key 'patern' .*did you mean 'patterns'"),
        ("""
         reasons:
           - {id: a, label: A, patterns: ["a*"], template: []}
           - {id: b, label: B, patterns: ["b*"], template: []}
           - {id: c, label: C, patterns: ["c*"]}
         """, r"reasons\.yaml: reasons -> 2 -> template: field required"),
        ("""
         reasons:
           - {id: a, label: A, patterns: [3], template: []}
         """, r"reasons -> 0 -> patterns -> 0: input should be a valid string"),
        ("""
         reasons:
           - {id: a, label: A, patterns: "a*", template: []}
         """, r"reasons -> 0 -> patterns: must be a non-empty list of glob patterns"),
        ("""
         reasons:
           - {id: a, label: A, patterns: ["a*"], template: [{text: "{a", when: "x > 1"}]}
         """, r"reasons -> 0 -> template -> 0 -> text:"),
        ("""
         reasons:
           - {id: a, label: A, patterns: ["a*"], template: [{text: "x", when: "x >> 1"}]}
         """, r"template -> 0 -> when: .*must read 'operand op operand'"),
        ("""
         reasons:
           - {id: a, label: A, patterns: ["a*"], template: []}
           - {id: a, label: B, patterns: ["b*"], template: []}
         """, r"reasons: reason id 'a' is defined twice"),
        ("""
         reasons:
           - {id: default, label: A, patterns: ["a*"], template: []}
         """, r"reasons -> 0 -> id: 'default' is not a valid reason id"),
        ("reasons: [", r"not valid YAML"),
        ("", r"expected a mapping"),
    ],
)
def test_config_errors(tmp_path, body, match):
    with pytest.raises(ConfigError, match=match):
        load_reasons(write(tmp_path, body))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        load_reasons(tmp_path / "nope.yaml")


# ----------------------------------------------------------------------------- plots
def test_plots_return_axes(fitted, reasons):
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    X, contrib, _ = fitted
    ax = plot_global_reasons(contrib, reasons)
    assert isinstance(ax, Axes)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] in {"Unresolved complaints", "Low satisfaction"}

    fig = Figure()
    given = fig.add_subplot()
    assert plot_beeswarm(contrib, X, max_features=6, ax=given) is given
    assert len(given.get_yticklabels()) == 6
    assert sum(len(c.get_offsets()) for c in given.collections) == 6 * 2000

    row = X.index[0]
    ax = plot_waterfall(contrib.loc[row], X.loc[row], max_features=5)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == f"{X.shape[1] - 5} other features"
    total = sum(p.get_width() for p in ax.patches)
    assert total == pytest.approx(contrib.loc[row].drop(EXPECTED_COLUMN).sum())
