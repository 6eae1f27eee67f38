"""The record every scoring run leaves beside its scores: ``run.json``.

It holds what the run was (id, date, model, configuration hash, engine), what
came in and out (rows scored, not active, rejected by reason) and, when the
model carries a training profile, the counts of the scored rows in the
profile's fixed bins: per feature and for the churn probability. Those are
what :mod:`churnkit.monitoring` compares with the training data and with the
previous run. Its size depends on the features and bins, not on the customers
(a few tens of kB for the sample CRM's 200 features).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import Any

import pandas as pd

from churnkit._core import __version__
from churnkit.config import Config

__all__ = ["RUN_FILE", "RUN_FORMAT", "config_hash", "dump_run", "rejects_by_reason", "run_record"]

RUN_FILE = "run.json"
RUN_FORMAT = "churnkit.run"
_MAX_REASONS = 50


def config_hash(config: Config) -> str:
    """sha256 (first 16 hex digits) of a configuration's content, its folder left out.

    Examples
    --------
    >>> import churnkit as ck
    >>> from churnkit._core import builtin_config
    >>> len(config_hash(ck.load_config(builtin_config("default.yaml"))))
    16
    """
    body = json.dumps(config.model_dump(mode="json", exclude={"base_dir"}), sort_keys=True,
                      separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def rejects_by_reason(rejects: pd.DataFrame) -> dict[str, int]:
    """Rejected rows per ``table: reason`` (the 50 most frequent; the rest as ``other``)."""
    if not len(rejects):
        return {}
    keys = rejects["table"].astype(str) + ": " + rejects["reason"].astype(str)
    counts = keys.value_counts()
    out = {str(k): int(v) for k, v in counts.head(_MAX_REASONS).items()}
    if len(counts) > _MAX_REASONS:
        out["other"] = int(counts.iloc[_MAX_REASONS:].sum())
    return out


def run_record(summary: dict[str, Any], monitoring: dict[str, Any] | None, *,
               files: dict[str, str], run_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """The content of ``run.json`` for a scoring run.

    Parameters
    ----------
    summary : dict
        The run's summary (see :class:`~churnkit.scoring.ScoreResult`).
    monitoring : dict or None
        The summed counts of the run's partitions: ``rows``, ``features``,
        ``score``, ``score_sum``, ``rejects_by_reason``.
    files : dict of str to str
        The scores and rejects, relative to the folder of ``run.json``.
    run_info : dict, optional
        Settings of the run: ``config_hash``, ``config_name``, ``label`` (churn
        definition and horizon).

    Returns
    -------
    dict
        Plain JSON data.
    """
    mon = dict(monitoring or {})
    reasons = mon.pop("rejects_by_reason", {})
    scored = int(summary.get("scored", 0))
    score_sum = float(mon.pop("score_sum", 0.0))
    return {
        "format": RUN_FORMAT, "format_version": 1,
        "run_id": uuid.uuid4().hex[:16],
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "as_of": summary.get("as_of"),
        "model_version": summary.get("model_version"),
        "churnkit_version": __version__,
        **(run_info or {}),
        "engine": summary.get("engine"), "partitions": summary.get("partitions"),
        "rows": {"scored": scored, "not_active": int(summary.get("not_active", 0)),
                 "rejected_rows": int(summary.get("rejected_rows", 0))},
        "rejects_by_reason": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "unseen_categories": summary.get("unseen_categories", {}),
        "risk_bands": summary.get("risk_bands", {}),
        "score_mean": score_sum / scored if scored else None,
        "files": files,
        "profiled": bool(mon.get("features")),
        "score": mon.get("score"),
        "features": mon.get("features", {}),
    }


def dump_run(record: dict[str, Any]) -> str:
    """``run.json`` text: one line per feature, so that hundreds of runs stay small and readable."""
    head = {k: v for k, v in record.items() if k != "features"}
    text = json.dumps(head, indent=1, default=str)[:-2]
    lines = [f" {json.dumps(name)}: {json.dumps(value, separators=(',', ':'))}"
             for name, value in record["features"].items()]
    return text + ',\n "features": {\n' + ",\n".join(lines) + "\n }\n}\n"
