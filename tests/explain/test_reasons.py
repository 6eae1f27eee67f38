"""Reason groups, worded reasons and explanation plots, on a real LightGBM model."""

from __future__ import annotations

import fnmatch
import re
import textwrap
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from churnkit._core import STR_DTYPE
from churnkit.exceptions import ConfigError, SchemaError
from churnkit.explain._customer import explanations_long, feature_reasons
from churnkit.explain._plots import plot_beeswarm, plot_global_reasons, plot_waterfall
from churnkit.explain._reasons import (
    EXPECTED_COLUMN,
    ReasonConfig,
    global_importance,
    group_contributions,
    load_reasons,
    top_reasons,
)
from churnkit.explain._values import format_value
from churnkit.explain._wording import humanize_feature

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
    grouped = group_contributions(contrib, reasons, X=X)
    features = contrib.drop(columns=EXPECTED_COLUMN)
    np.testing.assert_allclose(grouped.sum(axis=1), features.sum(axis=1), rtol=1e-10, atol=1e-10)
    owner = feature_reasons(X, reasons, features=list(features.columns))
    for gid in grouped.columns:
        mine = features.where(owner.to_numpy() == gid, 0.0).sum(axis=1)
        np.testing.assert_allclose(grouped[gid], mine, atol=1e-12)
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
    grouped = group_contributions(contrib, reasons, X=X)
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


def test_score_template_and_condition(fitted, reasons):
    X, contrib, _ = fitted
    top = top_reasons(contrib, X, reasons)
    first, last = X["feedback__score__first__365d"], X["feedback__score__last__365d"]
    low = top["reason_1_id"] == "low_satisfaction"
    fell = top.index[low & (last < first)][0]
    assert top.loc[fell, "reason_1"] == (
        f"Survey score fell from {first[fell]:.0f} to {last[fell]:.0f} in the last year"
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
        ("contacts__topic=billing__count__90d", "Contacts about billing (last 90 days)"),
        ("contacts__channel=visit__count__30d", "Contacts by visit (last 30 days)"),
        ("contacts__direction=outbound__count__365d", "Outbound contacts (last 365 days)"),
        ("transactions__kind=credit__count__90d", "Credit transactions (last 90 days)"),
        ("feedback__nps__last__365d", "Latest NPS score (last 365 days)"),
        ("feedback__csat__change__90d", "Change in CSAT score (last 90 days)"),
        ("contacts__duration_min__mean__365d", "Average duration (minutes, contacts, last 365 days)"),
        ("usage__logins__trend__90d", "Change in total logins vs the previous 90 days (usage)"),
        ("static__tenure_days", "Tenure (days)"),
        ("contacts__count__trend__30d", "Change in contacts vs the previous 30 days"),
        ("usage__logins__sum__30d", "Total logins (usage, last 30 days)"),
        ("feedback__detractor__count__365d", "Detractor feedback (last 365 days)"),
        ("contacts__outbound__days_since_last", "Days since the last outbound contact"),
        ("transactions__days_since_first", "Days since the first transaction"),
        ("usage__logins__monthly__90d", "Logins per month (usage, last 90 days)"),
        ("purchases__count__monthly__30d", "Purchases per month (last 30 days)"),
        ("contacts__duration_min__monthly__365d",
         "Duration per month (minutes, contacts, last 365 days)"),
        ("contacts__days_since_last__tenure_share",
         "Time since the last contact, as a share of tenure"),
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
    long = explanations_long(contrib, X, X.index, max_features=4)
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
         """, r"reasons\.yaml: reasons\.0\.patern: unknown key \(did you mean 'patterns'\?\)"),
        ("""
         reasons:
           - {id: a, label: A, patterns: ["a*"], template: []}
           - {id: b, label: B, patterns: ["b*"], template: []}
           - {id: c, label: C, patterns: ["c*"]}
         """, r"reasons\.yaml: reasons\.2\.template: field required"),
        ("""
         reasons:
           - {id: a, label: A, patterns: [3], template: []}
         """, r"reasons\.0\.patterns\.0: input should be a valid string"),
        ("""
         reasons:
           - {id: a, label: A, patterns: "a*", template: []}
         """, r"reasons\.0\.patterns: must be a non-empty list of glob patterns"),
        ("""
         reasons:
           - {id: a, label: A, patterns: ["a*"], template: [{text: "{a", when: "x > 1"}]}
         """, r"reasons\.0\.template\.0\.text:"),
        ("""
         reasons:
           - {id: a, label: A, patterns: ["a*"], template: [{text: "x", when: "x >> 1"}]}
         """, r"template\.0\.when: .*must read 'operand op operand'"),
        ("""
         reasons:
           - {id: a, label: A, patterns: ["a*"], template: []}
           - {id: a, label: B, patterns: ["b*"], template: []}
         """, r"reasons: reason id 'a' is defined twice"),
        ("""
         reasons:
           - {id: default, label: A, patterns: ["a*"], template: []}
         """, r"reasons\.0\.id: 'default' is not a valid reason id"),
        ("reasons: [", r"not valid YAML"),
        ("", r"the file is empty: expected a mapping"),
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


# ----------------------------------------------------------------------------- conditional membership
CONDITIONAL = {
    "reasons": [
        {"id": "young", "label": "Young", "template": [], "patterns": [
            {"pattern": ["usage__*", "transactions__*"], "when": "static__tenure_days < 180"},
            "static__tenure_days if < 180",
        ]},
        {"id": "price", "label": "Price", "template": [], "patterns": [
            "transactions__amount__change* if > 0",
            "usage__logins__sum* if > 50 and static__plan == 'pro'",
            "usage__logins__change* if not_a_feature > 0",
        ]},
        {"id": "usage", "label": "Usage", "template": [], "patterns": ["usage__*", "transactions__*"]},
        {"id": "plan", "label": "Plan", "template": [], "patterns": [
            "static__plan if != 'basic'",
            {"pattern": "static__tenure*", "when": [">= abs(usage__logins__change__90d)", "<= 2000"]},
        ]},
    ]
}


def _conditional_data(n: int = 300, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def holes(values: np.ndarray, share: float = 0.15) -> np.ndarray:
        values = values.astype(float)
        values[rng.random(n) < share] = np.nan
        return values

    X = pd.DataFrame(
        {
            "usage__logins__change__90d": holes(rng.normal(0, 100, n).round()),
            "usage__logins__sum__90d": holes(rng.integers(0, 100, n)),
            "transactions__amount__change__365d": holes(rng.normal(0, 20, n).round(2)),
            "static__tenure_days": holes(rng.integers(0, 3000, n)),
            "static__plan": pd.Categorical(rng.choice(["basic", "pro", None], n)),
            "other__x": rng.normal(size=n),
        },
        index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"),
    )
    contrib = pd.DataFrame(rng.normal(0, 0.5, (n, X.shape[1])), index=X.index, columns=X.columns)
    return X, contrib.assign(**{EXPECTED_COLUMN: -2.0})


_REF_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
            "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def _ref_value(token: str, row: pd.Series, own: str):
    token = token.strip()
    if not token:
        return row[own]
    if token[0] in "'\"":
        return token[1:-1]
    if token.startswith("abs("):
        return abs(row.get(token[4:-1], np.nan))
    try:
        return float(token)
    except ValueError:
        return row.get(token, np.nan)


def _ref_holds(cond: str, row: pd.Series, own: str | None) -> bool:
    """One condition on one row, evaluated in plain Python; a missing operand is false."""
    left, op, right = re.match(r"^\s*(.*?)\s*(<=|>=|==|!=|<|>)\s*(.+?)\s*$", cond).groups()
    a, b = _ref_value(left, row, own), _ref_value(right, row, own)
    if pd.isna(a) or pd.isna(b):
        return False
    return bool(_REF_OPS[op](a, b))


def _ref_owner(cfg: dict, row: pd.Series | None, feature: str) -> str:
    """The reason ``feature`` counts towards for one row (``None``: values unknown)."""
    for group in cfg["reasons"]:
        for pat in group["patterns"]:
            if isinstance(pat, str):
                glob, _, conds = pat.partition(" if ")
                globs, when = [glob], conds.split(" and ") if conds else []
            else:
                globs = [pat["pattern"]] if isinstance(pat["pattern"], str) else pat["pattern"]
                when = [pat["when"]] if isinstance(pat["when"], str) else pat["when"]
            if not any(fnmatch.fnmatch(feature.lower(), g.lower()) for g in globs):
                continue
            if all(row is not None and _ref_holds(c, row, feature) for c in when):
                return group["id"]
    return feature


def test_conditional_membership_equals_a_row_by_row_loop():
    X, contrib = _conditional_data()
    cfg = ReasonConfig.model_validate(CONDITIONAL)
    owners = pd.DataFrame(
        [[_ref_owner(CONDITIONAL, row, f) for f in X.columns] for _, row in X.iterrows()],
        index=X.index, columns=X.columns,
    )
    pd.testing.assert_frame_equal(feature_reasons(X, cfg), owners.astype(STR_DTYPE))
    grouped = group_contributions(contrib, cfg, X=X)
    features = contrib.drop(columns=EXPECTED_COLUMN)
    expected = {gid: features.where(owners == gid, 0.0).sum(axis=1) for gid in grouped.columns}
    pd.testing.assert_frame_equal(grouped, pd.DataFrame(expected), atol=1e-12)
    # every id seen in the loop has its column, and each column is used somewhere
    assert set(np.unique(owners)) <= set(grouped.columns)
    assert {"young", "price", "usage", "plan", "static__plan", "static__tenure_days",
            "other__x"} == set(grouped.columns)
    # the conditions do split features between reasons
    assert owners["transactions__amount__change__365d"].nunique() == 3
    top = top_reasons(contrib, X, cfg, k=2)
    best = grouped.to_numpy().argmax(axis=1)
    positive = grouped.to_numpy().max(axis=1) > 0
    assert (top["reason_1_id"][positive] == grouped.columns[best][positive]).all()


def test_without_values_conditional_patterns_are_skipped():
    X, contrib = _conditional_data()
    cfg = ReasonConfig.model_validate(CONDITIONAL)
    owners = {f: _ref_owner(CONDITIONAL, None, f) for f in X.columns}
    assert cfg.assign(list(X.columns)) == {f: None if g == f else g for f, g in owners.items()}
    assert owners["usage__logins__sum__90d"] == "usage"
    assert owners["static__plan"] == "static__plan"
    grouped = group_contributions(contrib, cfg)
    features = contrib.drop(columns=EXPECTED_COLUMN)
    for gid in grouped.columns:
        members = [f for f, g in owners.items() if g == gid]
        np.testing.assert_allclose(grouped[gid], features[members].sum(axis=1), atol=1e-12)
    assert (grouped["young"] == 0).all()
    imp = global_importance(contrib, cfg)
    assert imp.features.loc["transactions__amount__change__365d", "reason_id"] == "usage"
    with_x = global_importance(contrib, cfg, X=X)
    assert with_x.reasons.loc["young", "n_features"] == 4
    np.testing.assert_allclose(with_x.reasons.loc["price", "mean_abs_contribution"],
                               group_contributions(contrib, cfg, X=X)["price"].abs().mean())


def test_missing_values_never_satisfy_a_condition():
    cfg = ReasonConfig.model_validate({"reasons": [
        {"id": "up", "label": "Up", "template": [], "patterns": ["x__change if != 0"]},
        {"id": "any", "label": "Any", "template": [], "patterns": ["x__*"]},
    ]})
    X = pd.DataFrame({"x__change": [1.0, 0.0, np.nan]})
    contrib = pd.DataFrame({"x__change": [0.5, 0.5, 0.5]})
    assert feature_reasons(X, cfg)["x__change"].tolist() == ["up", "any", "any"]
    assert top_reasons(contrib, X, cfg, k=1)["reason_1_id"].tolist() == ["up", "any", "any"]


def test_string_and_mapping_patterns_are_the_same():
    a = ReasonConfig.model_validate({"reasons": [{"id": "a", "label": "A", "template": [],
                                                  "patterns": ["x__* if > 0 and y < 3"]}]})
    b = ReasonConfig.model_validate({"reasons": [{"id": "a", "label": "A", "template": [],
                                                  "patterns": [{"pattern": "x__*",
                                                                "when": ["> 0", "y < 3"]}]}]})
    assert a == b
    assert a.reasons[0].patterns[0].when == ("> 0", "y < 3")
    assert a.chain("x__v") == (("a", ("> 0", "y < 3")), (None, ()))
    assert a.chain("z") == ((None, ()),)


def test_mismatched_values_are_refused():
    X, contrib = _conditional_data()
    cfg = ReasonConfig.model_validate(CONDITIONAL)
    with pytest.raises(SchemaError, match="same index"):
        group_contributions(contrib, cfg, X=X.iloc[1:])
    with pytest.raises(SchemaError, match="X must be a DataFrame"):
        global_importance(contrib, cfg, X=X.to_numpy())


# ----------------------------------------------------------------------------- built-in reasons
def _one_reason(values: dict, contributions: dict, k: int = 1) -> pd.DataFrame:
    n = len(next(iter(values.values())))
    X = pd.DataFrame(values, index=pd.RangeIndex(n))
    contrib = pd.DataFrame({c: contributions.get(c, [0.0] * n) for c in X.columns}, index=X.index)
    return top_reasons(contrib, X, load_reasons(), k=k)


def test_invoice_up_is_price_and_down_is_falling_spend():
    top = _one_reason(
        {"transactions__amount__change__365d": [50.0, -50.0, np.nan],
         "transactions__amount__last__365d": [350.0, 250.0, 300.0],
         "static__tenure_days": [900.0, 900.0, 900.0]},
        {"transactions__amount__change__365d": [0.8, 0.8, 0.8]},
    )
    assert top["reason_1_id"].tolist() == ["billing_price", "falling_usage", "falling_usage"]
    assert top.loc[0, "reason_1"] == "Invoice up by 50 over the last year, to 350"
    assert top.loc[1, "reason_1"] == "Invoice down by 50 over the last year, to 250"


def test_young_customers_low_activity_is_early_life():
    values = {
        "static__tenure_days": [45.2, 45.2, 900.0, np.nan],
        "usage__logins__mean__90d": [3.0, 3.0, 3.0, 3.0],
        "contacts__topic=onboarding__count__365d": [1.0, 0.0, 0.0, 0.0],
        "contacts__outbound__days_since_last": [40.0, 40.0, 40.0, 40.0],
    }
    top = _one_reason(values, {"usage__logins__mean__90d": [0.9] * 4,
                               "contacts__outbound__days_since_last": [0.4] * 4}, k=2)
    assert top["reason_1_id"].tolist() == ["early_life", "early_life", "falling_usage",
                                          "falling_usage"]
    assert top.loc[0, "reason_1"] == "New customer: 45 days since signing up, 1 onboarding contact"
    assert top.loc[1, "reason_1"] == "New customer: 45 days since signing up, no onboarding contact"
    assert top.loc[2, "reason_2_id"] == "fading_relationship"
    # tenure itself: early life while young, length of relationship afterwards
    owner = feature_reasons(pd.DataFrame({"static__tenure_days": [45.0, 900.0]}), load_reasons())
    assert owner["static__tenure_days"].tolist() == ["early_life", "tenure"]


def test_no_contact_at_all_is_not_an_unresolved_complaint():
    top = _one_reason(
        {"contacts__resolved__share__90d": [0.5, np.nan],
         "contacts__unresolved__count__90d": [1.0, 0.0],
         "contacts__days_since_last": [20.0, 130.4],
         "static__tenure_days": [900.0, 900.0]},
        {"contacts__resolved__share__90d": [0.7, 0.7]},
    )
    assert top["reason_1_id"].tolist() == ["unresolved_complaints", "fading_relationship"]
    assert top["reason_1"].tolist() == ["1 unresolved contact in the last 90 days",
                                        "No contact at all for 130 days"]


def test_nps_and_csat_wording():
    values = {
        "feedback__nps__first__365d": [9.0, 4.0, np.nan],
        "feedback__nps__last__365d": [3.0, 4.0, np.nan],
        "feedback__detractor__days_since_last": [20.0, 124.48, np.nan],
        "feedback__csat__first__365d": [np.nan, np.nan, 5.0],
        "feedback__csat__last__365d": [np.nan, np.nan, 2.0],
        "feedback__csat__min__365d": [np.nan, np.nan, 2.0],
    }
    top = _one_reason(values, {"feedback__detractor__days_since_last": [0.6, 0.6, 0.0],
                               "feedback__csat__last__365d": [0.0, 0.0, 0.6]})
    assert top["reason_1"].tolist() == [
        "NPS fell from 9 to 3 in the last year",
        "Detractor: last NPS answer 4 out of 10",
        "CSAT fell from 5 to 2 in the last year",
    ]


def test_fallback_values_are_formatted_for_people():
    cfg = ReasonConfig.model_validate({"reasons": [
        {"id": "a", "label": "A", "patterns": ["x"], "template": []}]})
    X = pd.DataFrame({
        "feedback__detractor__days_since_last": [124.48],
        "contacts__duration_min__mean__365d": [15.28],
        "usage__minutes__change__365d": [-1425.6],
        "contacts__unresolved__share__90d": [0.25],
    })
    contrib = pd.DataFrame([[0.4, 0.3, 0.2, 0.1]], columns=X.columns)
    top = top_reasons(contrib, X, cfg, k=4)
    assert top.iloc[0, :4].tolist() == [
        "Days since the last detractor feedback: 124",
        "Average duration (minutes, contacts, last 365 days): 15",
        "Change in minutes (usage, last 365 days): -1,426",
        "Share of unresolved contacts (last 90 days): 25%",
    ]
    # missing values say what they mean
    top = top_reasons(contrib, X.iloc[:, [0, 1, 2, 3]] * np.nan, cfg, k=4)
    assert top.iloc[0, :4].tolist() == [
        "Days since the last detractor feedback: never",
        "Average duration (minutes, contacts, last 365 days): none in that period",
        "Change in minutes (usage, last 365 days): none in that period",
        "Share of unresolved contacts (last 90 days): none in that period",
    ]


@pytest.mark.parametrize(
    ("value", "feature", "text"),
    [
        (124.48, "feedback__detractor__days_since_last", "124"),
        (45.7, "static__tenure_days", "46"),
        (3.0, "contacts__unresolved__count__90d", "3"),
        (-2.0, "contacts__count__trend__90d", "-2"),
        (2.0, "contacts__count__trend__90d", "+2"),
        (0.0, "usage__logins__change__90d", "0"),
        (0.4321, "static__wallet_share", "43%"),
        (0.5, "feedback__promoter__share__90d", "50%"),
        (7.25, "feedback__nps__mean__90d", "7.2"),
        (9.0, "feedback__nps__last__365d", "9"),
        (-1425.6, "usage__minutes__change__365d", "-1,426"),
        (15.28, "contacts__duration_min__mean__365d", "15"),
        (99.65, "static__MonthlyCharges", "99.65"),
        (2500.0, "static__value", "2,500"),
        (1234.56, "transactions__amount__sum__90d", "1,235"),
        (3.456, "static__ratio", "3.5"),
        (0.01234, "static__ratio", "0.012"),
        (True, "static__flag", "yes"),
        ("Month-to-month", "static__Contract", "Month-to-month"),
        (np.nan, "static__value", None),
        (None, "static__value", None),
        (3.14159, "x", "3.142"),
        (0.5, "usage__count__monthly__90d", "0.5"),
        (0.04, "usage__count__monthly__365d", "0"),
        (2.0, "contacts__count__monthly__30d", "2"),
        (250.4, "usage__minutes__monthly__365d", "250"),
        (12.345, "transactions__amount__monthly__90d", "12.35"),
        (0.054, "contacts__days_since_last__tenure_share", "5%"),
    ],
)
def test_format_value(value, feature, text):
    spec = ".3f" if feature == "x" else ""
    assert format_value(value, feature, spec) == text
