"""The explain job: one customer's score, reasons and SHAP waterfall."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from churnkit.config import Config
from churnkit.data import load_dataset
from churnkit.explain import (
    CustomerExplanation,
    customer_features,
    explain_customer,
    load_reasons,
    write_customer_explanation,
)

__all__ = ["explain"]


def explain(
    config: Config,
    model: Any,
    customer_id: Any,
    *,
    as_of: str | pd.Timestamp | None = None,
    out_dir: str | Path | None = None,
) -> tuple[CustomerExplanation, dict[str, Path]]:
    """Explain one customer's churn probability, with the features ``score`` builds.

    Parameters
    ----------
    config : Config
        The configuration whose tables hold the customer.
    model : ChurnModel
        A model trained by :func:`churnkit.train`.
    customer_id : object
        The customer id (compared as text).
    as_of : str or Timestamp, optional
        Point in time (default: the end of the data).
    out_dir : path-like, optional
        Writes the waterfall PNG, the contributions CSV and an HTML summary here.

    Returns
    -------
    explanation : CustomerExplanation
    files : dict of str to Path
        The files written (empty without ``out_dir``).
    """
    dataset = load_dataset(config)
    X = customer_features(model, dataset, customer_id, as_of=as_of)
    expl = explain_customer(model, X, reasons=load_reasons(config.resolve(config.scoring.reasons)),
                            ranking=config.scoring.reason_ranking)
    files = write_customer_explanation(expl, out_dir) if out_dir is not None else {}
    return expl, files
