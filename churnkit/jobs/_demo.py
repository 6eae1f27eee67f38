"""The demo job: the whole pipeline on the built-in sample CRM, everything written to one folder."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from churnkit._core import Progress, __version__, no_progress
from churnkit.config import load_config
from churnkit.datasets import make_crm
from churnkit.jobs._report import report
from churnkit.jobs._retention import retention
from churnkit.jobs._score import score
from churnkit.jobs._train import train

__all__ = ["demo"]


def demo(
    out_dir: str | Path,
    *,
    customers: int = 5000,
    random_state: int = 0,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """Generate the sample CRM, train, score, write the lists and the retention report.

    Parameters
    ----------
    out_dir : path-like
        Folder for the sample data (``data/``), ``config.yaml``, ``model/``,
        ``scores.csv``, ``rejects.csv``, the at-risk lists and ``retention/``.
    customers : int, default 5000
        Sample customers.
    random_state : int, default 0
        Seed of the sample CRM's random generator.
    progress : callable, optional
        Called with a short description before each step.

    Returns
    -------
    dict
        The summary the ``churnkit demo`` command prints.
    """
    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    progress(f"Generating the sample CRM ({customers:,} customers)")
    crm = make_crm(customers, random_state=random_state)
    cfg = load_config(crm.write_project(out))
    trained = train(cfg, progress=progress)
    progress("Saving the model")
    trained.write(out / "model")
    scored = score(cfg, trained.model, progress=progress)
    progress("Writing outputs")
    scored.write(out / "scores.csv")
    progress("Writing at-risk lists per account manager")
    lists = report(scored.scores, out, min_band="medium", currency=cfg.scoring.currency)
    progress("Measuring retention")
    ret = retention(cfg, out / "retention", dataset=scored.dataset)
    metrics = trained.summary["validation"]
    return {
        "customers": len(crm.customers),
        "training_rows": trained.summary["rows"],
        "cutoffs": f"{trained.summary['first_cutoff']} .. {trained.summary['last_cutoff']}",
        "features": trained.summary["features"],
        "validation_roc_auc": metrics.get("roc_auc"),
        "validation_pr_auc": metrics.get("pr_auc"),
        "top_decile_lift": metrics.get("top_decile_lift"),
        "scored": scored.summary["scored"],
        "risk_bands": scored.summary["risk_bands"],
        "value_at_risk": scored.summary["value_at_risk"],
        "retention_rate_last_month": f"{ret['crr']:.1f}% (annualised churn "
                                     f"{ret['churn_rate_annualised']:.0%})",
        "at_risk_listed": f"{lists['at_risk_customers']:,} customers, "
                          f"{lists['account_managers']} account managers",
        "output": str(out),
        "seconds": round(time.perf_counter() - start, 1),
        "churnkit_version": __version__,
    }
