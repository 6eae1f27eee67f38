"""Problems with disks, paths, dates and option values: one paragraph through the CLI, no traceback."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from cli_runner import cli_runner

from churnkit.cli import app

BASE = Path(__file__).parent / "bad_inputs" / "base"
runner = cli_runner()


def _config(tmp_path: Path, *, name: str = "config.yaml", customers: str | None = None,
            customer_id: str = "customer_id", **labels) -> Path:
    raw = {
        "name": "messages",
        "data": {
            "customers": {"path": customers or str(BASE / "customers.csv"),
                          "customer_id": customer_id, "signup_date": "signup_date",
                          "end_date": "end_date", "segment": "segment", "value": "monthly_value"},
            "events": {"contacts": {"kind": "contacts", "path": str(BASE / "contacts.csv"),
                                    "columns": {"channel": "categorical", "topic": "categorical",
                                                "resolved": "boolean", "duration_min": "numeric",
                                                "note": "text"}}},
            "end": "2024-07-01",
        },
        "labels": {"horizon_days": 30, "validation_cutoffs": 1,
                   "cutoffs": ["2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01"], **labels},
        "model": {"n_estimators": 10, "min_child_samples": 3, "calibration": "none", "n_jobs": 1},
        "scoring": {"explain": "none"},
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


def _one_paragraph(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    text = result.stderr.strip()
    assert "Traceback" not in result.output
    assert "\n" not in text, text  # one paragraph: no wrapped or stacked lines
    return text


def _scores(tmp_path: Path) -> Path:
    path = tmp_path / "scores.csv"
    pd.DataFrame({"customer_id": ["a", "b"], "as_of": "2024-06-30",
                  "churn_probability": [0.7, 0.3], "risk_band": ["high", "medium"],
                  "value_at_risk": [10.0, 5.0], "account_manager": ["Ana", "Bo"]}).to_csv(
        path, index=False)
    return path


@pytest.mark.parametrize(("code", "words"), [
    (errno.ENOSPC, ["No space left on device", "disk is full", "another folder"]),
    (errno.EROFS, ["Read-only file system", "writable disk"]),
])
def test_full_or_read_only_disk(tmp_path, monkeypatch, code, words):
    scores = _scores(tmp_path)
    real_replace = os.replace

    def failing_replace(src, dst, *args, **kwargs):
        if str(dst).endswith(".csv"):
            raise OSError(code, os.strerror(code), str(dst))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", failing_replace)
    r = runner.invoke(app, ["report", "--scores", str(scores), "--out", str(tmp_path / "lists")])
    text = _one_paragraph(r)
    for word in words:
        assert word in text
    assert "at_risk" in text  # names the file
    assert not (tmp_path / "lists" / "at_risk.csv").exists()


def test_horizon_of_a_billion_days_is_refused(tmp_path):
    cfg = _config(tmp_path, horizon_days=1_000_000_000)
    r = runner.invoke(app, ["train", "--config", str(cfg), "--out", str(tmp_path / "m")])
    text = _one_paragraph(r)
    assert "labels.horizon_days" in text
    assert "36500" in text


@pytest.mark.parametrize("cutoffs", [["2024-02-01", "9999-03-01"], {"start": "9999-01-01"}])
def test_cutoffs_in_the_year_9999_are_refused(tmp_path, cutoffs):
    cfg = _config(tmp_path, cutoffs=cutoffs)
    r = runner.invoke(app, ["train", "--config", str(cfg), "--out", str(tmp_path / "m")])
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    assert "9999-0" in r.stderr
    assert "outside the dates churnkit can work with" in r.stderr


def test_a_far_date_anywhere_else_is_a_message_not_a_traceback(tmp_path, monkeypatch):
    from churnkit import jobs

    def overflow(*args, **kwargs):
        return pd.Timestamp("2200-01-01") + pd.Timedelta(days=10**9)

    monkeypatch.setattr(jobs, "train", overflow)
    r = runner.invoke(app, ["train", "--config", str(_config(tmp_path)), "--out", str(tmp_path / "m")])
    text = _one_paragraph(r)
    assert "1678-2261" in text


def test_table_path_that_is_a_folder_fifo_or_device(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for path, words in [(tmp_path, "is a folder"), (fifo, "not a regular file"),
                        (Path(os.devnull), "not a regular file")]:
        cfg = _config(tmp_path, customers=str(path))
        r = runner.invoke(app, ["validate", "--config", str(cfg)])
        assert r.exit_code == 1, r.output
        assert words in r.stderr
        assert "does not exist" not in r.stderr
        assert "Traceback" not in r.output
    r = runner.invoke(app, ["validate", "--config", str(tmp_path)])
    assert "not a file" in _one_paragraph(r)


@pytest.mark.parametrize(("as_of", "words"), [
    ("next tuesday", "is not a date"),
    ("2025-13-45", "is not a date"),
    ("2025-06-01T00:00+02:00", "has a time zone"),
])
def test_bad_as_of_is_a_usage_error(tmp_path, as_of, words):
    cfg = _config(tmp_path)
    r = runner.invoke(app, ["score", "--config", str(cfg), "--model", str(tmp_path),
                            "--out", str(tmp_path / "s.csv"), "--as-of", as_of])
    assert r.exit_code == 2, r.output
    assert words in " ".join(r.stderr.split())
    assert "Traceback" not in r.output


@pytest.mark.parametrize(("args", "words"), [
    (["--out", "{t}/s.csv", "--rejects", "{t}/s.csv"], "name the same file"),
    (["--out", "{t}/rejects.csv"], "name the same file"),
    (["--out", "{t}/s.xlsx"], "CSV or Parquet"),
    (["--out", "{t}/s.csv", "--rejects", "{t}/r.xlsx"], "--rejects"),
    (["--out", "{t}"], "CSV or Parquet"),
])
def test_clashing_or_wrongly_named_score_outputs_are_refused(tmp_path, args, words):
    cfg = _config(tmp_path)
    args = [a.format(t=tmp_path) for a in args]
    r = runner.invoke(app, ["score", "--config", str(cfg), "--model", str(tmp_path), *args])
    text = _one_paragraph(r)
    assert words in text
    assert not list(tmp_path.glob("*.csv"))
    assert not list(tmp_path.glob("*.xlsx"))


def test_validate_rejects_option_takes_a_table_name(tmp_path):
    r = runner.invoke(app, ["validate", "--config", str(_config(tmp_path)),
                            "--rejects", str(tmp_path / "rejects.xlsx")])
    assert "CSV or Parquet" in _one_paragraph(r)


def test_markup_and_emoji_codes_in_paths_and_columns_are_shown_as_written(tmp_path):
    folder = tmp_path / ":x: [bold]red"
    folder.mkdir()
    r = runner.invoke(app, ["validate", "--config", str(folder / ":smile:.yaml")])
    text = _one_paragraph(r)
    assert ":x: [bold]red" in text
    assert ":smile:.yaml" in text
    assert "❌" not in text
    assert "😄" not in text
    cfg = _config(tmp_path, customer_id=":x:[bold]id")
    r = runner.invoke(app, ["validate", "--config", str(cfg)])
    assert r.exit_code == 1, r.output
    assert ":x:[bold]id" in r.stderr
    assert "❌" not in r.stderr


def test_scores_path_that_is_a_fifo_or_device(tmp_path):
    fifo = tmp_path / "scores.csv"
    os.mkfifo(fifo)
    for path in (fifo, Path(os.devnull)):
        r = runner.invoke(app, ["report", "--scores", str(path), "--out", str(tmp_path / "l")])
        text = _one_paragraph(r)
        assert "not a regular file" in text


def test_report_seed_is_a_hidden_deprecated_name_of_random_state(tmp_path):
    scores = Path(__file__).parent / "golden" / "demo_600_scores.csv"
    args = ["report", "--scores", str(scores), "--min-band", "low", "--holdout", "0.2"]
    runs = {name: runner.invoke(app, [*args, *extra, "--out", str(tmp_path / name)])
            for name, extra in {"new": ["--random-state", "3"], "old": ["--seed", "3"],
                                "default": []}.items()}
    assert _one_paragraph(runs["old"], 0) == "--seed is deprecated: use --random-state."
    for name in ("new", "default"):
        assert runs[name].exit_code == 0, runs[name].output
        assert runs[name].stderr == ""

    def assignments(name: str) -> bytes:
        return (tmp_path / name / "assignments.csv").read_bytes()

    assert assignments("old") == assignments("new") != assignments("default")
    shown = runner.invoke(app, ["report", "--help"]).stdout
    assert "--random-state" in shown
    assert "--seed" not in shown
