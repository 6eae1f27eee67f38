"""The Pareto/NBD baseline of non-contractual (inactivity) labels, in every output."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _evaluate_data import FAST_MODEL

from churnkit.clv import ParetoNBD, rfm_summary
from churnkit.config import config_from_dict
from churnkit.evaluate import backtest, write_model_report

pytestmark = pytest.mark.slow  # backtests with a Pareto/NBD fit per cutoff


def _purchases(n=400, seed=0):
    """Buyers who purchase at a Poisson rate until they silently leave."""
    rng = np.random.default_rng(seed)
    ids, days, amounts = [], [], []
    for i in range(n):
        rate, life = rng.gamma(1.2, 1 / 25), rng.exponential(rng.gamma(1.0, 250.0))
        t = float(rng.integers(0, 60))
        end = min(t + life, 540)
        first = True
        while first or t < end:
            ids.append(f"c{i:04d}")
            days.append(t)
            amounts.append(round(float(rng.gamma(3.0, 10.0)), 2))
            t += rng.exponential(1 / rate)
            first = False
    stamps = pd.Timestamp("2023-01-01") + pd.to_timedelta(np.floor(days), unit="D")
    return pd.DataFrame({"customer_id": ids, "date": stamps.strftime("%Y-%m-%d"),
                         "amount": amounts})


def _config(**extra):
    raw = {
        "name": "shop",
        "data": {"customers": {"from_events": "purchases"},
                 "events": {"purchases": {"kind": "transactions", "timestamp": "date",
                                          "columns": {"amount": "numeric"}}},
                 "end": "2024-06-24"},
        "labels": {"definition": "inactivity", "horizon_days": 90,
                   "cutoffs": {"start": "2023-06-30", "end": "2024-03-31", "every": "ME"},
                   "validation_cutoffs": 1},
        "evaluation": {"test_cutoffs": 1},
        "model": dict(FAST_MODEL),
        **extra,
    }
    return config_from_dict(raw)


@pytest.fixture(scope="module")
def result():
    return backtest(_config(), tables={"purchases": _purchases()})


def test_btyd_baseline_is_fitted_and_reported(result, tmp_path):
    m = result.metrics
    assert list(m["baseline"]) == ["rule", "logistic", "lightgbm", "btyd"]
    assert 0.6 < m["baseline"]["btyd"]["roc_auc"] <= 1.0
    assert "btyd" in result.predictions
    assert result.predictions["btyd"].between(0, 1).all()
    assert result.comparison().columns.tolist() == ["model", "rule", "logistic", "lightgbm", "btyd"]
    assert json.loads(result.to_json())["baseline"]["btyd"]["roc_auc"] == pytest.approx(
        m["baseline"]["btyd"]["roc_auc"])
    assert result.folds["btyd"].iloc[0] == "Pareto/NBD expected purchases in 90 days (purchases)"
    assert "btyd_roc_auc" in result.folds
    page = write_model_report(result, tmp_path).read_text()
    assert "<b>btyd</b> = Pareto/NBD expected purchases in 90 days" in page
    assert '<th class="num">btyd</th>' in page


def test_btyd_baseline_ranks_by_purchases_expected_before_the_test_cutoff(result):
    # its ranking is the Pareto/NBD expectation fitted on the purchases before the test cutoff
    tx = _purchases()
    tx["timestamp"] = pd.to_datetime(tx["date"])
    test_cutoff = result.folds["test_cutoff"].iloc[0]
    s = rfm_summary(tx, test_cutoff, unit_days=7)
    model = ParetoNBD().fit(s["frequency"], s["recency"], s["T"])
    expected = pd.Series(model.expected_purchases(90 / 7, s["frequency"], s["recency"], s["T"]),
                         index=s.index)
    pred = result.predictions.set_index("customer_id")["btyd"]
    common = pred.index.intersection(expected.index)
    rho = pd.Series(pred[common].to_numpy()).corr(pd.Series(expected[common].to_numpy()),
                                                  method="spearman")
    assert rho < -0.999  # fewer expected purchases = more likely to churn


def test_the_cli_shows_btyd_in_text_and_json(tmp_path):
    from cli_runner import cli_runner

    from churnkit.cli import app

    _purchases(200, seed=1).to_csv(tmp_path / "purchases.csv", index=False)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "name: shop\ndata:\n  customers: {from_events: purchases}\n  events:\n"
        "    purchases: {kind: transactions, path: purchases.csv, timestamp: date,"
        " columns: {amount: numeric}}\n  end: 2024-06-24\n"
        "labels: {definition: inactivity, horizon_days: 90, validation_cutoffs: 1,"
        " cutoffs: {start: 2023-06-30, end: 2024-03-31, every: ME}}\n"
        f"evaluation: {{test_cutoffs: 1}}\nmodel: {json.dumps(FAST_MODEL)}\n")
    runner = cli_runner()
    text = runner.invoke(app, ["evaluate", "-c", str(cfg)])
    assert text.exit_code == 0, text.output
    header = next(line for line in text.stdout.splitlines() if "metric" in line)
    assert [c.strip() for c in header.split("┃")[1:-1]] == [
        "metric", "model", "rule", "logistic", "lightgbm", "btyd"]
    assert "btyd: Pareto/NBD expected purchases in 90 days" in text.stderr
    js = runner.invoke(app, ["evaluate", "-c", str(cfg), "--format", "json"])
    assert js.exit_code == 0, js.output
    data = json.loads(js.stdout)
    assert set(data["baseline"]["btyd"]) == set(data["baseline"]["rule"])
    assert data["btyd"].startswith("Pareto/NBD")
