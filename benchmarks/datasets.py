"""Preparation of the public datasets whose files churnkit cannot read as they are.

The benchmarks (``real_data.py``) and the slow tests read ``../shared/data`` (relative
to the repository root) and pass the prepared tables to churnkit in memory
(``backtest(config, tables=...)``); the configs in ``benchmarks/configs/`` describe the
columns of those tables. Nothing here is shipped with churnkit.

- **Cell2Cell** (``cell2cell/cell2celltrain.csv.gz``): the gzipped CSV read as text,
  exactly as in the file.
- **OULAD** (``oulad/*.csv.gz``): one row per enrolment (module, presentation,
  student); its dates are days relative to the start of its presentation.
  Every presentation is placed on one calendar, day 0 = :data:`OULAD_DAY0`, so a
  cutoff is a day of the course for all presentations at once (a student who
  completes a presentation leaves at its end without churning, which a calendar
  of real start dates cannot express: the completers of earlier presentations
  would stay "active" ever after). Registration = signup, unregistration = end
  (withdrawing is churn); ``final_result`` is known only at the end and is left
  out. Every submission is an event, with its score, whether it was banked from
  an earlier attempt, the assessment type and weight, and the days between the
  submission and the assessment's due date.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["DATA", "OULAD_DAY0", "cell2cell_tables", "oulad_tables"]

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
"""``../shared/data`` relative to the repository root."""
OULAD_DAY0 = pd.Timestamp("2000-01-01")
"""The date standing for day 0 of every OULAD presentation."""


def cell2cell_tables(data: Path = DATA) -> dict[str, pd.DataFrame]:
    """``{"snapshot": frame}``: Cell2Cell's 51,047 customers, every column as text."""
    path = data / "cell2cell" / "cell2celltrain.csv.gz"
    return {"snapshot": pd.read_csv(path, dtype=str, keep_default_na=False)}


def _day(days: pd.Series) -> pd.Series:
    """Relative days as dates on the common calendar (missing stays missing)."""
    return OULAD_DAY0 + pd.to_timedelta(pd.to_numeric(days, errors="coerce"), unit="D")


def oulad_tables(data: Path = DATA, *, students: float = 1.0, seed: int = 0
                 ) -> dict[str, pd.DataFrame]:
    """``{"customers": enrolments, "submissions": events}`` of OULAD.

    Parameters
    ----------
    data : Path
        The folder holding ``oulad/``.
    students : float, default 1.0
        Share of students kept (all their enrolments), to make benchmarks faster.
    seed : int, default 0
        Seed of that sample.
    """
    d = data / "oulad"
    info = pd.read_csv(d / "studentInfo.csv.gz")
    reg = pd.read_csv(d / "studentRegistration.csv.gz")
    courses = pd.read_csv(d / "courses.csv.gz")
    assessments = pd.read_csv(d / "assessments.csv.gz")
    subs = pd.read_csv(d / "studentAssessment.csv.gz")
    key = ["code_module", "code_presentation", "id_student"]
    if students < 1.0:
        ids = pd.Series(info["id_student"].unique())
        keep = set(ids.sample(frac=students, random_state=seed))
        info = info[info["id_student"].isin(keep)]
        reg = reg[reg["id_student"].isin(keep)]
        subs = subs[subs["id_student"].isin(keep)]
    enrol = info.merge(reg, on=key, how="left", validate="one_to_one").merge(
        courses, on=["code_module", "code_presentation"], how="left", validate="many_to_one")
    enrol["enrolment"] = (enrol["code_module"] + "-" + enrol["code_presentation"] + "-"
                          + enrol["id_student"].astype(str))
    customers = pd.DataFrame({
        "enrolment": enrol["enrolment"],
        "registered": _day(enrol["date_registration"]).dt.strftime("%Y-%m-%d"),
        "unregistered": _day(enrol["date_unregistration"]).dt.strftime("%Y-%m-%d"),
        "code_module": enrol["code_module"],
        "code_presentation": enrol["code_presentation"],
        "presentation_length": enrol["module_presentation_length"],
        **{c: enrol[c] for c in ("gender", "region", "highest_education", "imd_band",
                                 "age_band", "num_of_prev_attempts", "studied_credits",
                                 "disability")},
    })
    ev = subs.merge(assessments, on="id_assessment", how="left", validate="many_to_one")
    ev = ev[ev["date_submitted"].notna()]
    submissions = pd.DataFrame({
        "enrolment": ev["code_module"] + "-" + ev["code_presentation"] + "-"
        + ev["id_student"].astype(str),
        "submitted": _day(ev["date_submitted"]).dt.strftime("%Y-%m-%d"),
        "score": ev["score"],
        "is_banked": ev["is_banked"].astype(bool),
        "assessment_type": ev["assessment_type"],
        "weight": ev["weight"],
        "days_before_due": pd.to_numeric(ev["date"], errors="coerce") - ev["date_submitted"],
    })
    return {"customers": customers.reset_index(drop=True),
            "submissions": submissions.reset_index(drop=True)}
