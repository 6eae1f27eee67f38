"""The one result type of scoring, whatever the engine, and the one summary reducer."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnkit._core import (
    __version__,
    atomic_write_text,
    check_table_path,
    output_run,
    short_repr,
    write_table,
)
from churnkit.data import REJECT_COLUMNS, Dataset
from churnkit.exceptions import OutputError
from churnkit.model import add_counts
from churnkit.scoring._run import RUN_FILE, dump_run, run_record

__all__ = [
    "ScoreResult",
    "concat_scores",
    "merge_summaries",
    "score_paths",
    "value_total",
    "write_table",
]

#: Summary keys added up over partitions.
_COUNTS = ("scored", "rejected_rows", "not_active")


def merge_summaries(parts: Sequence[dict[str, Any]], *, as_of: pd.Timestamp,
                    model_version: str) -> dict[str, Any]:
    """The summary of a run from the summaries of its partitions (any engine).

    Counts, risk bands, unseen categories and value at risk are added up; the
    keys come in the same order for every engine.
    """
    bands: dict[str, int] = {}
    unseen: dict[str, int] = {}
    for p in parts:
        _add(bands, p["risk_bands"])
        _add(unseen, p["unseen_categories"])
    out: dict[str, Any] = {"as_of": as_of.date().isoformat()}
    for key in _COUNTS:
        out[key] = int(sum(p[key] for p in parts))
    out["unseen_categories"] = dict(sorted(unseen.items()))
    out["risk_bands"] = dict(sorted(bands.items(), key=lambda kv: (-kv[1], kv[0])))
    out["value_at_risk"] = float(sum(p["value_at_risk"] for p in parts))
    out["model_version"] = model_version
    out["churnkit_version"] = __version__
    monitoring = None
    for p in parts:
        monitoring = add_counts(monitoring, p.get("monitoring"))
    if monitoring is not None:  # taken out of the summary by ScoreResult, into run.json
        out["monitoring"] = monitoring
    return out


def _add(total: dict[str, int], part: dict[str, int]) -> None:
    for key, n in part.items():
        total[key] = total.get(key, 0) + int(n)


@dataclass
class ScoreResult:
    """What scoring produced: one row per scored customer, the rejects, and a summary.

    Every engine (``local``, ``chunked``, ``dask``) returns this type. The Dask
    engine leaves its scores and rejects in part files on disk (``parts``); they
    are read back only when :attr:`scores` or :attr:`rejects` is asked for.

    Attributes
    ----------
    summary : dict
        ``as_of``, ``scored``, ``rejected_rows``, ``not_active``,
        ``unseen_categories``, ``risk_bands``, ``value_at_risk``, ``model_version``,
        then engine details (``engine``, ``partitions``).
    dataset : Dataset or None
        The validated tables (local engine only).
    features : DataFrame or None
        The feature rows of the scored customers (local engine only).
    contributions : DataFrame or None
        SHAP contributions (log-odds) of the explained rows (local engine only).
    parts : dict of str to list of Path
        ``scores`` and ``rejects`` part files, when the engine wrote them.
    monitoring : dict or None
        Counts of the scored rows in the bins of the model's training profile
        and rejects by reason, written to ``run.json`` (see :mod:`churnkit.monitoring`).
    run_info : dict
        Settings of the run written to ``run.json`` (configuration hash, label).
    """

    summary: dict[str, Any]
    frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    dataset: Dataset | None = field(default=None, repr=False)
    features: pd.DataFrame | None = field(default=None, repr=False)
    contributions: pd.DataFrame | None = field(default=None, repr=False)
    parts: dict[str, list[Path]] = field(default_factory=dict)
    monitoring: dict[str, Any] | None = field(default=None, repr=False)
    run_info: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        found = self.summary.pop("monitoring", None)
        if self.monitoring is None:
            self.monitoring = found

    def run_record(self, files: dict[str, str]) -> dict[str, Any]:
        """The content of ``run.json`` (see :func:`churnkit.scoring.run_record`)."""
        return run_record(self.summary, self.monitoring, files=files, run_info=self.run_info)

    @property
    def scores(self) -> pd.DataFrame:
        """One row per scored customer: ``customer_id, as_of, churn_probability, …``."""
        return self._frame("scores")

    @property
    def rejects(self) -> pd.DataFrame:
        """``table, row, customer_id, column, value, reason``: every row or customer not scored."""
        return self._frame("rejects")

    def _frame(self, name: str) -> pd.DataFrame:
        if name not in self.frames:
            files = self.parts.get(name, [])
            frames = [pd.read_parquet(p) for p in files]
            empty = pd.DataFrame(columns=REJECT_COLUMNS if name == "rejects" else ["customer_id"])
            self.frames[name] = pd.concat(frames, ignore_index=True) if frames else empty
        return self.frames[name]

    def write(self, out: str | Path, *, rejects: str | Path | None = None) -> dict[str, Path]:
        """Write the scores to ``out`` (``.csv`` or ``.parquet``) and the rejects beside it.

        The two files are one run (see :func:`churnkit._core.output_run`): they
        appear together or not at all, and a second run into the same folder at
        the same time is refused. Results whose parts are already on disk (Dask
        engine) take ``out`` as their folder and write its ``summary.json`` only.
        The run's record, ``run.json``, goes beside the scores (into ``out``
        for parts), in the same run.

        Returns
        -------
        dict of str to Path
            ``scores`` and ``rejects`` (files or folders), ``run``, and ``summary``
            for parts.
        """
        if self.parts:
            out = Path(out)
            with output_run(out, command="churnkit score") as run:
                text = json.dumps(self.summary, indent=2, default=str) + "\n"
                atomic_write_text(run.stage(out / "summary.json"), text)
                record = self.run_record({"scores": "scores", "rejects": "rejects"})
                atomic_write_text(run.stage(out / RUN_FILE), dump_run(record))
            return {"scores": out / "scores", "rejects": out / "rejects",
                    "summary": out / "summary.json", "run": out / RUN_FILE}
        out, rej = score_paths(out, rejects)
        record_path = out.parent / RUN_FILE
        with output_run(out.parent, rej.parent, command="churnkit score") as run:
            write_table(self.scores, run.stage(out))
            write_table(self.rejects, run.stage(rej))
            files = {"scores": out.name, "rejects": _relative(rej, out.parent)}
            atomic_write_text(run.stage(record_path), dump_run(self.run_record(files)))
        return {"scores": out, "rejects": rej, "run": record_path}


def _relative(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` where it lies inside it, else absolute."""
    try:
        return str(path.absolute().relative_to(folder.absolute()))
    except ValueError:
        return str(path.absolute())


def score_paths(out: str | Path, rejects: str | Path | None = None) -> tuple[Path, Path]:
    """The scores and rejects files of a run, checked: table names, two different files.

    ``rejects`` defaults to ``rejects.<suffix of out>`` beside ``out``.

    Raises
    ------
    OutputError
        For a name that is no CSV or Parquet file, a folder, or the same file twice.
    """
    out = check_table_path(out, option="--out")
    rej = check_table_path(rejects if rejects is not None else out.with_name(f"rejects{out.suffix}"),
                           option="--rejects")
    if out.absolute() == rej.absolute() or (rej.exists() and out.exists() and rej.samefile(out)):
        which = "its default, rejects" + out.suffix if rejects is None else "--rejects"
        raise OutputError(
            f"--out {short_repr(str(out))} and {which} name the same file; the rejects would "
            "overwrite the scores. Give --rejects another file name."
        )
    return out, rej


def concat_scores(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Scores of several partitions as one table, text columns typed as on a whole table."""
    frames = list(frames)
    out = pd.concat([s for s in frames if len(s)] or frames[:1], ignore_index=True)
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            out[col] = pd.Series(out[col].to_numpy(dtype=object), index=out.index)
    return out


def value_total(scores: pd.DataFrame) -> float:
    """Value at risk summed over scored customers (0 for none)."""
    return float(np.nansum(scores["value_at_risk"])) if len(scores) else 0.0
