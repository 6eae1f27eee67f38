"""Reading the records scoring runs leave (``run.json``) and the scores they point to."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from churnkit._core import settle
from churnkit.exceptions import ConfigError, SchemaError
from churnkit.scoring import RUN_FILE

__all__ = ["read_run_scores", "read_runs"]


def _records_in(path: Path) -> list[Path]:
    if path.is_file():
        settle(path.parent)
        return [path]
    if path.is_dir():  # runs interrupted while renaming their files are completed first
        settle(path)
        for sub in path.iterdir():
            if sub.is_dir():
                settle(sub)
    if (path / RUN_FILE).is_file():
        return [path / RUN_FILE]
    if path.is_dir():
        return sorted(path.glob(f"*/{RUN_FILE}"))
    raise ConfigError(f"--runs {str(path)!r} does not exist. Give the folders that 'churnkit "
                      f"score' wrote its scores and {RUN_FILE} to (or their parent folder).")


def read_runs(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """The run records found at ``paths``, oldest ``as_of`` first.

    Each path is a ``run.json`` file, a folder holding one, or a folder whose
    sub-folders hold one each (one folder per monthly run). Each record gets
    ``_path``, the file it was read from.

    Raises
    ------
    ConfigError
        If a path does not exist, holds no run record, or a record is not one.
    """
    files: list[Path] = []
    for p in paths:
        found = _records_in(Path(p))
        if not found:
            raise ConfigError(f"--runs {str(p)!r} holds no {RUN_FILE} (nor do its sub-folders). "
                              "Score with 'churnkit score --out DIR/scores.csv' first.")
        files += found
    runs = []
    for f in dict.fromkeys(files):
        try:
            record = json.loads(f.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SchemaError(f"{f} is not valid JSON ({str(exc)[:120]}). Score that run again "
                              "or remove the file.") from None
        if not isinstance(record, dict) or record.get("format") != "churnkit.run":
            raise SchemaError(f"{f} is not a churnkit run record (no 'format': 'churnkit.run'). "
                              "Give folders written by 'churnkit score'.")
        record["_path"] = str(f)
        runs.append(record)
    return sorted(runs, key=lambda r: (str(r.get("as_of")), str(r.get("created"))))


def read_run_scores(run: dict[str, Any]) -> pd.DataFrame:
    """The scores table a run record points to: ``customer_id`` and ``churn_probability``."""
    folder = Path(run["_path"]).parent
    rel = run.get("files", {}).get("scores")
    if not rel:
        raise SchemaError(f"{run['_path']} names no scores file ('files': {{'scores': ...}}).")
    path = Path(rel) if Path(rel).is_absolute() else folder / rel
    cols = ["customer_id", "churn_probability"]
    if path.is_dir():
        parts = sorted(path.glob("*.parquet"))
        frame = (pd.concat([pd.read_parquet(p, columns=cols) for p in parts], ignore_index=True)
                 if parts else pd.DataFrame(columns=cols))
    elif path.suffix.lower() in {".parquet", ".pq"}:
        frame = pd.read_parquet(path, columns=cols)
    elif path.is_file():
        frame = pd.read_csv(path, usecols=cols, dtype={"customer_id": str})
    else:
        raise SchemaError(f"{path}: the scores of run {run.get('run_id')} ({run['_path']}) are "
                          "missing. Restore the file or remove the run from --runs.")
    frame["customer_id"] = frame["customer_id"].astype(str)
    return frame
