"""The demo job: the whole pipeline on the built-in sample CRM, everything written to one folder."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd

from churnkit._core import Progress, __version__, no_progress
from churnkit.config import Config, config_from_dict, load_config
from churnkit.data import load_dataset
from churnkit.datasets import make_crm
from churnkit.jobs._report import report
from churnkit.jobs._retention import retention
from churnkit.jobs._score import score
from churnkit.jobs._train import train
from churnkit.monitoring import monitor as monitor_runs

__all__ = ["demo", "demo_production"]

#: The production year of ``churnkit demo --monitor``: trained on the data before
#: TRAINED_TO, scored monthly for a year from then; from CHANGE on, a new billing
#: system raises every invoice and open complaints stop driving churn.
TRAINED_TO, CHANGE, RUNS = "2025-07-01", "2025-10-01", 12


def demo(
    out_dir: str | Path,
    *,
    n_customers: int = 5000,
    random_state: int = 0,
    monitor: bool = False,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """Generate the sample CRM, train, score, write the lists and the retention report.

    Parameters
    ----------
    out_dir : path-like
        Folder for the sample data (``data/``), ``config.yaml``, ``model/``,
        ``scores.csv``, ``rejects.csv``, the at-risk lists and ``retention/``.
    n_customers : int, default 5000
        Sample customers.
    random_state : int, default 0
        Seed of the sample CRM's random generator.
    monitor : bool, default False
        Also run a year in production (:func:`demo_production`) into
        ``production/``: monthly runs after planted drift, and their monitoring.
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
    progress(f"Generating the sample CRM ({n_customers:,} customers)")
    crm = make_crm(n_customers, random_state=random_state)
    cfg = load_config(crm.write_project(out))
    trained = train(cfg, progress=progress)
    progress("Saving the model")
    trained.write(out / "model")
    scored = score(cfg, trained.model, dataset=trained.dataset, progress=progress)
    progress("Writing outputs")
    scored.write(out / "scores.csv")
    progress("Writing at-risk lists per account manager")
    lists = report(scored.scores, out, min_band="medium", currency=cfg.scoring.currency)
    progress("Measuring retention")
    ret = retention(cfg, out / "retention", dataset=scored.dataset)
    metrics = trained.summary["validation"]
    production = (demo_production(out / "production", n_customers=n_customers,
                                  random_state=random_state, progress=progress)
                  if monitor else {})
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
        **production,
        "output": str(out),
        "seconds": round(time.perf_counter() - start, 1),
        "churnkit_version": __version__,
    }


def _with(config: Config, **sections: dict[str, Any]) -> Config:
    data = config.model_dump(exclude={"base_dir"})
    for name, values in sections.items():
        data[name] = {**data[name], **values}
    return config_from_dict(data, base_dir=config.base_dir)


def demo_production(
    out_dir: str | Path,
    *,
    n_customers: int = 5000,
    random_state: int = 0,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """A year of monthly scoring runs after planted drift, and what ``monitor`` finds.

    A sample CRM of three years is generated with two changes from
    2025-10-01 on: a new billing system multiplies every invoice by 1.3 (data
    drift), and open complaints no longer drive churn (a broken relationship:
    as many customers leave, for reasons the data does not show). A model is
    trained on the data before 2025-07-01, scores the customers on the first of
    each month for a year (``runs/<date>/``), and :func:`churnkit.monitor`
    compares the runs with the training data and with what happened
    (``monitor/monitor.html``).

    Parameters
    ----------
    out_dir : path-like
        Folder for ``data/``, ``config.yaml``, ``model/``, ``runs/`` and ``monitor/``.
    n_customers : int, default 5000
    random_state : int, default 0
    progress : callable, optional

    Returns
    -------
    dict
        Summary lines: the runs, the first drift alarm and the first run whose
        realised performance calls for retraining, and the monitor's exit code.
    """
    out = Path(out_dir)
    progress(f"A year in production: a sample CRM with a new billing system and a broken "
             f"cause from {CHANGE}")
    crm = make_crm(n_customers, random_state=random_state, months=36,
                   shift_amounts_from=CHANGE, break_from=CHANGE,
                   break_cause="unresolved_complaints")
    base = load_config(crm.write_project(out))
    trained = train(_with(base, data={"end": TRAINED_TO}), progress=progress)
    trained.write(out / "model")
    config = _with(base, scoring={"explain": "none"})
    dates = [(pd.Timestamp(TRAINED_TO) + pd.DateOffset(months=m)).date().isoformat()
             for m in range(RUNS)]
    for as_of in dates:
        progress(f"Scoring the run of {as_of}")
        score(config, trained.model, as_of=as_of).write(
            out / "runs" / as_of / "scores.csv")
    progress("Monitoring the year of runs")
    result = monitor_runs(trained.model, [out / "runs"], config=config,
                          dataset=load_dataset(config))
    result.write(out / "monitor")
    runs = result.summary["runs"]
    drift = next((r for r in runs if r["top_drift"] and r["top_drift"][0]["level"] == "act"),
                 None)
    worse = next((r for r in runs if r["performance"].get("level") == "act"), None)
    return {
        "production_runs": f"{len(runs)} monthly runs {dates[0]} .. {dates[-1]}, planted "
                           f"changes from {CHANGE}",
        "first_drift_alarm": (f"{drift['as_of']}: {drift['top_drift'][0]['feature']} "
                              f"(PSI {drift['top_drift'][0]['psi']:.2f})" if drift else "none"),
        "first_retrain_advice": (f"{worse['as_of']}: {worse['performance']['evidence'][0]}"
                                 if worse else "none"),
        "monitor": f"{out / 'monitor' / 'monitor.html'} (exit code {result.exit_code})",
    }
