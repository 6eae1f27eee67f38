"""One customer's explanation, on a model trained through the pipeline on the sample CRM."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import yaml

import churnkit as ck
from churnkit._core import builtin_config
from churnkit.datasets import make_crm
from churnkit.exceptions import SchemaError
from churnkit.explain import (
    EXPECTED_COLUMN,
    CustomerExplanation,
    customer_features,
    explain_customer,
    feature_reasons,
    group_contributions,
    load_reasons,
    top_reasons,
    write_customer_explanation,
)

pytestmark = pytest.mark.slow  # trains a model on the sample CRM for its explanations


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("customer")
    make_crm(600, random_state=4).write(root / "data", format="parquet")
    config = yaml.safe_load(builtin_config("default.yaml").read_text(encoding="utf-8"))
    for table in [config["data"]["customers"], *config["data"]["events"].values()]:
        table["path"] = table["path"].replace(".csv", ".parquet")
    config["model"].update(n_estimators=60, learning_rate=0.2, n_jobs=1)
    (root / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return ck.load_config(root / "config.yaml")


@pytest.fixture(scope="module")
def config(trained_run):
    return trained_run


@pytest.fixture(scope="module")
def trained(config):
    result = ck.train(config)
    return result.model, result.dataset


@pytest.fixture(scope="module")
def risky(trained):
    """Features of the customer with the highest churn probability at the end of the data."""
    model, ds = trained
    spine = pd.DataFrame({"customer_id": ds.customers["customer_id"].to_numpy(),
                          "cutoff": ds.end.to_datetime64()})
    X = model.feature_set_.transform(ds, spine)
    X.index = pd.Index(spine["customer_id"], name="customer_id")
    X = X[ds.customers["end_date"].isna().to_numpy()]
    best = int(np.argmax(model.predict_proba(X)[:, 1]))
    return X.iloc[[best]]


def test_contributions_add_up_to_the_score(trained, risky):
    model, _ = trained
    expl = explain_customer(model, risky)
    assert isinstance(expl, CustomerExplanation)
    assert expl.customer_id == risky.index[0]
    assert expl.probability == pytest.approx(model.predict_proba(risky)[0, 1])
    raw = model.booster_.predict(risky[list(model.feature_names_in_)], raw_score=True)[0]
    assert expl.raw_score == pytest.approx(raw, abs=1e-9)
    assert expl.expected_value + expl.table["contribution"].sum() == pytest.approx(raw, abs=1e-9)
    assert expl.contributions[EXPECTED_COLUMN] == pytest.approx(expl.expected_value)


def test_table_is_long_sorted_and_worded(trained, risky):
    model, _ = trained
    expl = explain_customer(model, risky)
    table = expl.table
    assert list(table.columns) == ["feature", "description", "value", "contribution", "reason_id"]
    assert sorted(table["feature"]) == sorted(model.feature_names_in_)
    size = table["contribution"].abs().to_numpy()
    assert (np.diff(size) <= 0).all()
    row = table.set_index("feature")
    tenure = risky["static__tenure_days"].iloc[0]
    assert row.loc["static__tenure_days", "value"] == f"{tenure:,.0f}"
    assert row.loc["static__tenure_days", "description"] == "Tenure (days)"
    owners = feature_reasons(risky, load_reasons()).iloc[0]
    assert (row["reason_id"] == owners[row.index]).all()


@pytest.mark.parametrize("ranking", ["sum", "players"])
def test_reasons_match_top_reasons(trained, risky, ranking):
    """explain_customer words and ranks the reasons as scoring does with the same ranking."""
    model, _ = trained
    ranker = model if ranking == "players" else None
    expl = explain_customer(model, risky, k=3, ranking=ranking)
    contrib = model.explain(risky)
    Xm = risky[list(model.feature_names_in_)]
    top = top_reasons(contrib, Xm, load_reasons(), k=3, model=ranker).iloc[0]
    n = len(expl.reasons)
    assert 1 <= n <= 3
    assert expl.reasons["reason"].tolist() == [top[f"reason_{i}"] for i in range(1, n + 1)]
    assert expl.reasons["reason_id"].tolist() == [top[f"reason_{i}_id"] for i in range(1, n + 1)]
    assert (expl.reasons["contribution"] > 0).all()
    assert (np.diff(expl.reasons["contribution"]) <= 0).all()
    # either way the groups' values add up to the features' contributions
    grouped = group_contributions(contrib, load_reasons(), X=Xm, model=ranker)
    np.testing.assert_allclose(expl.reasons["contribution"],
                               grouped.iloc[0][expl.reasons["reason_id"]], atol=1e-12)
    np.testing.assert_allclose(grouped.sum(axis=1), expl.table["contribution"].sum(), atol=1e-9)


def test_groups_as_players_against_summed_contributions(trained, risky):
    """Same total, exact per row; a group's value is its features' sum only without interactions."""
    model, ds = trained
    spine = pd.DataFrame({"customer_id": ds.customers["customer_id"].to_numpy()[:200],
                          "cutoff": ds.end.to_datetime64()})
    X = model.feature_set_.transform(ds, spine)
    contrib = model.explain(X)
    players = group_contributions(contrib, load_reasons(), X=X, model=model)
    summed = group_contributions(contrib, load_reasons(), X=X)
    assert list(players.columns) == list(summed.columns)
    np.testing.assert_allclose(players.sum(axis=1), summed.sum(axis=1), atol=1e-9)
    assert not np.allclose(players.to_numpy(), summed.to_numpy(), atol=1e-6)
    top = top_reasons(contrib, X, load_reasons(), k=1, model=model)
    best = players.to_numpy().argmax(axis=1)
    positive = players.to_numpy().max(axis=1) > 0
    assert (top["reason_1_id"].to_numpy()[positive] == players.columns.to_numpy()[best][positive]).all()
    with pytest.raises(SchemaError, match="Ranking reasons with the model needs"):
        top_reasons(contrib.iloc[:, ::-1], X, load_reasons(), model=model)


def test_waterfall_and_summary(trained, risky):
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    model, _ = trained
    expl = explain_customer(model, risky, max_features=6)
    ax = Figure().add_subplot()
    assert expl.plot(ax=ax) is ax
    assert isinstance(ax, Axes)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 7
    assert labels[0] == f"{len(expl.table) - 6} other features"
    first = expl.table.iloc[0]
    assert labels[-1] == f"{first['description']} = {first['value']}"
    text = expl.to_markdown()
    assert f"# Customer {expl.customer_id}" in text
    assert text.count("\n| ") == 6 + 1  # header and six features
    for reason in expl.reasons["reason"]:
        assert reason in text


def test_written_files(trained, risky, tmp_path):
    model, _ = trained
    expl = explain_customer(model, risky)
    paths = write_customer_explanation(expl, tmp_path / "out")
    assert set(paths) == {"waterfall", "table", "summary"}
    assert paths["waterfall"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(paths["table"])
    assert len(table) == len(expl.table)
    assert table["feature"].tolist() == expl.table["feature"].tolist()
    page = paths["summary"].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "data:image/png;base64," in page
    assert "<script" not in page
    assert "http" not in page
    for reason in expl.reasons["reason"]:
        assert reason.replace("'", "&#x27;") in page
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in paths.values())


def test_customer_features_by_id_and_date(trained, risky):
    model, ds = trained
    cid = risky.index[0]
    X = customer_features(model, ds, cid)
    pd.testing.assert_frame_equal(X, risky)
    earlier = customer_features(model, ds, cid, as_of=ds.end - pd.Timedelta(days=30))
    assert earlier["static__tenure_days"].iloc[0] == pytest.approx(
        X["static__tenure_days"].iloc[0] - 30)
    with pytest.raises(SchemaError, match=r"no customer 'C0001' among 600\. Did you mean"):
        customer_features(model, ds, "C0001")


def test_bad_inputs_are_refused(trained, risky):
    model, _ = trained
    both = pd.concat([risky, risky])
    with pytest.raises(SchemaError, match="exactly one row .* got 2 rows"):
        explain_customer(model, both)
    with pytest.raises(SchemaError, match="got Series"):
        explain_customer(model, risky.iloc[0])
    with pytest.raises(ValueError, match="'max_features' parameter of explain_customer"):
        explain_customer(model, risky, max_features=0)


def test_explain_builds_the_features_score_builds(config, trained):
    """A numeric column arriving as text ("1,234.50") is repaired the same way by both."""
    model, ds = trained
    cust = ds.customers.copy()
    cust["value"] = [f"{1000 + v:,.2f}" for v in cust["value"].to_numpy(dtype=float)]
    cust.loc[cust.index[0], "value"] = "n/a"
    text = dataclasses.replace(ds, customers=cust)
    scored = ck.scoring.score_partition(config, model, text, as_of=ds.end)
    raw = dict(zip(cust["customer_id"], cust["value"], strict=True))
    for customer in scored.scores["customer_id"].head(4):
        one = customer_features(model, text, customer)
        row = scored.features[scored.scores["customer_id"].to_numpy() == customer]
        if raw[customer] != "n/a":
            assert one["static__value"].iloc[0] >= 1000
        pd.testing.assert_frame_equal(one.reset_index(drop=True), row.reset_index(drop=True))


def test_explain_parses_as_of_like_score(trained):
    model, ds = trained
    customer = ds.customers["customer_id"].iloc[0]
    with pytest.raises(ck.ConfigError, match="as_of: 'next tuesday' is not a date"):
        customer_features(model, ds, customer, as_of="next tuesday")
