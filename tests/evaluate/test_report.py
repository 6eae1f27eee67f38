"""The model report is one self-contained, escaped HTML page; the evaluate job writes files."""

import base64
import json
import re

import pandas as pd
import pytest
from matplotlib.axes import Axes

from churnkit import SchemaError
from churnkit.config import config_from_dict
from churnkit.evaluate import (
    backtest,
    plot_calibration,
    plot_gains,
    plot_pr,
    plot_profit,
    plot_roc,
    write_model_report,
)
from churnkit.jobs import comparison_rows
from churnkit.jobs import evaluate as run_evaluation


@pytest.fixture(scope="module")
def snapshot_result(snapshot_frame):
    from _evaluate_data import FAST_MODEL

    cfg = config_from_dict({
        "name": "snap <b>&</b> test",
        "data": {"snapshot": {"customer_id": "id", "label": "churned", "positive": ["Yes"]}},
        "model": FAST_MODEL,
    })
    return backtest(cfg, tables={"snapshot": snapshot_frame}, n_folds=3)


def test_report_is_self_contained_and_escaped(snapshot_result, tmp_path):
    path = write_model_report(snapshot_result, tmp_path, model=snapshot_result.last_model)
    assert path == tmp_path / "model_report.html"
    html = path.read_text(encoding="utf-8")
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 6  # ROC, PR, gains, calibration, profit, global reasons
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert not re.search(r"""(src|href)=["'](?!data:)""", html)  # no external asset
    assert "<script" not in html
    assert "<link" not in html
    assert "@import" not in html
    assert "snap &lt;b&gt;&amp;&lt;/b&gt; test" in html
    assert "<b>&</b>" not in html
    head = re.search(r"<h2>Model against baselines</h2>.*?</thead>", html, re.S)
    assert head is not None
    assert re.findall(r"<th class='?\"?num'?\"?>(\w+)</th>", head.group(0)) == [
        "model", "rule", "logistic", "lightgbm"]
    assert "n_estimators=300, learning_rate=0.03, num_leaves=31" in html
    for heading in ("Model against baselines", "Folds", "Calibration by decile",
                    "Retention campaign", "Global reasons"):
        assert heading in html
    assert "static__contract" in html  # the planted driver is among the global reasons
    assert [p.name for p in tmp_path.iterdir()] == ["model_report.html"]  # no temp file left


def test_report_without_model_has_no_reasons_and_foreign_model_is_refused(snapshot_result,
                                                                            tmp_path):
    html = write_model_report(snapshot_result, tmp_path).read_text()
    assert "Global reasons" not in html
    model = snapshot_result.last_model
    sample = snapshot_result.features_sample
    snapshot_result.features_sample = sample.drop(columns=["static__tenure"])
    try:
        with pytest.raises(SchemaError, match=r"needs 1 feature\(s\).*static__tenure"):
            write_model_report(snapshot_result, tmp_path, model=model)
    finally:
        snapshot_result.features_sample = sample


def test_plots_take_an_axes_and_return_it(snapshot_result):
    from matplotlib.figure import Figure

    pred = snapshot_result.predictions
    y = pred["label"]
    scores = {"model": pred["model"], "rule": pred["rule"]}
    fig = Figure()
    axes = fig.subplots(1, 5)
    returned = [plot_roc(y, scores, ax=axes[0]), plot_pr(y, scores, ax=axes[1]),
                plot_gains(y, scores, ax=axes[2]), plot_calibration(y, pred["model"], ax=axes[3]),
                plot_profit(y, scores, ax=axes[4])]
    assert returned == list(axes)
    assert isinstance(plot_roc(y, scores), Axes)  # a new figure without pyplot
    assert "model (AUC" in axes[0].get_legend().get_texts()[0].get_text()


@pytest.mark.slow
def test_run_evaluation_writes_metrics_predictions_folds_and_report(tmp_path, snapshot_frame):
    from _evaluate_data import FAST_MODEL

    cfg_path = tmp_path / "config.yaml"
    snapshot_frame.to_csv(tmp_path / "snap.csv", index=False)
    cfg_path.write_text(
        "name: snap\ndata:\n  snapshot: {path: snap.csv, customer_id: id, label: churned,"
        " positive: ['Yes']}\n"
        f"model: {json.dumps(FAST_MODEL)}\nevaluation: {{folds: 3}}\n"
    )
    summary = run_evaluation(cfg_path, out_dir=tmp_path / "out")
    assert summary["mode"] == "snapshot"
    assert summary["folds"] == 3
    assert set(summary["files"]) == {"metrics", "predictions", "folds", "report"}
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["roc_auc"] == pytest.approx(summary["roc_auc"])
    assert set(metrics["baseline"]) == {"rule", "logistic", "lightgbm"}
    pred = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert len(pred) == len(snapshot_frame)
    assert len(pd.read_csv(tmp_path / "out" / "folds.csv")) == 3
    rows = comparison_rows(summary)
    assert rows[0][0] == "roc_auc"
    assert len(rows[0]) == 5  # metric, model, rule, logistic, plain LightGBM
    assert float(rows[0][4]) == pytest.approx(summary["baseline"]["lightgbm"]["roc_auc"], abs=1e-4)
    assert summary["plain_lightgbm"]["settings"]["num_leaves"] == 31
    assert float(rows[0][1]) == pytest.approx(summary["roc_auc"], abs=1e-4)
    assert run_evaluation(cfg_path, n_folds=2)["folds"] == 2


@pytest.mark.slow
def test_evaluate_command_shows_the_plain_lightgbm_in_text_and_json(tmp_path, snapshot_frame):
    from _evaluate_data import FAST_MODEL
    from cli_runner import cli_runner

    from churnkit.cli import app

    snapshot_frame.to_csv(tmp_path / "snap.csv", index=False)
    cfg_path = tmp_path / "config.yaml"
    cfg_path.write_text(
        "name: snap\ndata:\n  snapshot: {path: snap.csv, customer_id: id, label: churned,"
        f" positive: ['Yes']}}\nmodel: {json.dumps(FAST_MODEL)}\nevaluation: {{folds: 3}}\n")
    runner = cli_runner()
    text = runner.invoke(app, ["evaluate", "-c", str(cfg_path)])
    assert text.exit_code == 0, text.output
    header = next(line for line in text.stdout.splitlines() if "metric" in line)
    assert [c.strip() for c in header.split("┃")[1:-1]] == ["metric", "model", "rule",
                                                         "logistic", "lightgbm"]
    assert "plain LGBMClassifier (n_estimators=300" in text.stderr  # the legend goes to stderr, the table to stdout
    js = runner.invoke(app, ["evaluate", "-c", str(cfg_path), "--format", "json"])
    assert js.exit_code == 0, js.output
    data = json.loads(js.stdout)
    plain = data["baseline"]["lightgbm"]
    assert set(plain) == set(data["baseline"]["logistic"])
    assert 0.5 < plain["roc_auc"] <= 1.0
    folds = data["tuning"]["folds"]
    assert [f["fold"] for f in folds] == [1, 2, 3]
    assert all(isinstance(f["trees"], int) and f["trees"] > 0 for f in folds)
    assert folds[0]["settings"].startswith("num_leaves=7 min_child_samples=20")
    assert "model: num_leaves=7" in text.stderr
