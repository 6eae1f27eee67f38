"""Small synthetic tables with a planted churn signal, for backtests in seconds."""

from __future__ import annotations

import numpy as np
import pandas as pd

START = pd.Timestamp("2023-01-01")
END = pd.Timestamp("2025-03-01")
FAST_MODEL = {"n_estimators": 40, "learning_rate": 0.1, "num_leaves": 7,
              "min_child_samples": 20, "early_stopping_rounds": 10, "n_jobs": 1, "tune": "off",
              "refit": False}


def make_event_tables(n: int = 300, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Customers who log in less and complain more in the 90 days before they leave."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"c{i:04d}" for i in range(n)])
    signup = START + pd.to_timedelta(rng.integers(0, 300, n), "D")
    leaves = rng.random(n) < 0.45
    end = pd.Series(START + pd.to_timedelta(rng.integers(380, 780, n), "D")).where(leaves)
    logins, tickets = [], []
    for i in range(n):
        stop = end.iloc[i] if leaves[i] else END
        days = pd.date_range(signup[i], stop - pd.Timedelta(days=1), freq="D")
        fading = (stop - days).days < 90
        rate = np.where(fading & leaves[i], 0.1, 0.2)
        on = rng.random(len(days)) < rate
        logins.append(pd.DataFrame({"customer": ids[i], "day": days[on],
                                    "minutes": rng.gamma(2.0, 10.0, on.sum()).round(1)}))
        t_rate = np.where(fading & leaves[i], 0.02, 0.01)
        hit = rng.random(len(days)) < t_rate
        topic = np.where(rng.random(hit.sum()) < np.where(fading[hit] & leaves[i], 0.7, 0.2),
                         "complaint", rng.choice(["billing", "howto"], hit.sum()))
        tickets.append(pd.DataFrame({"customer": ids[i], "opened": days[hit], "topic": topic}))
    customers = pd.DataFrame({
        "customer": ids, "signup": signup.strftime("%Y-%m-%d"),
        "ended": end.dt.strftime("%Y-%m-%d").to_numpy(dtype=object),
        "plan": rng.choice(["basic", "pro"], n), "mrr": rng.integers(20, 200, n).astype(float),
    })
    return {"customers": customers, "logins": pd.concat(logins, ignore_index=True),
            "tickets": pd.concat(tickets, ignore_index=True)}


def event_config_dict(**model) -> dict:
    return {
        "name": "synthetic",
        "data": {
            "customers": {"customer_id": "customer", "signup_date": "signup", "end_date": "ended",
                          "product": "plan", "value": "mrr"},
            "events": {
                "logins": {"kind": "usage", "customer_id": "customer", "timestamp": "day",
                           "columns": {"minutes": "numeric"}},
                "tickets": {"kind": "contacts", "customer_id": "customer", "timestamp": "opened",
                            "columns": {"topic": "categorical"}, "roles": {"topic": "topic"}},
            },
            "end": str(END.date()),
        },
        "labels": {"definition": "contractual", "horizon_days": 60,
                   "cutoffs": {"start": "2023-09-01", "every": "MS"}, "validation_cutoffs": 2},
        "features": {"windows": [30, 90]},
        "model": {**FAST_MODEL, **model},
    }


def make_snapshot(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Month-to-month contracts churn most; charges and tenure add a little."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["monthly", "one year", "two year"], n, p=[0.5, 0.3, 0.2])
    tenure = rng.integers(1, 72, n)
    charges = rng.normal(70, 20, n).round(2)
    logit = -1.0 + 2.5 * (contract == "monthly") - 0.05 * tenure + 0.02 * (charges - 70)
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({"id": [f"s{i}" for i in range(n)], "contract": contract,
                         "tenure": tenure, "charges": charges,
                         "churned": np.where(churn, "Yes", "No")})
