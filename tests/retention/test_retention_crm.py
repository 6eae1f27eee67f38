"""CRR and churn rate on the sample CRM against a count one customer at a time."""

import numpy as np
import pandas as pd

from churnkit.datasets import make_crm
from churnkit.retention import crr


def test_crr_on_the_sample_crm_matches_a_brute_force_count():
    cust = make_crm(800, random_state=5).customers
    table = crr(cust, period="M", by="segment", start="2024-01-01", end="2025-12-31")
    assert len(table) == 24 * cust["segment"].nunique()
    rows = list(cust[["signup_date", "end_date", "segment"]].itertuples(index=False))
    for rec in table.itertuples(index=False):
        start, stop = pd.Timestamp(rec.period_start), pd.Timestamp(rec.period_end) + pd.Timedelta(days=1)
        S = N = lost = E = 0
        for signup, end, seg in rows:
            if seg != rec.segment:
                continue
            alive_at = lambda t, signup=signup, end=end: signup < t and (pd.isna(end) or end >= t)  # noqa: E731
            at_start, at_end = alive_at(start), alive_at(stop)
            S += at_start
            E += at_end
            N += start <= signup < stop
            lost += at_start and not at_end
        assert (rec.S, rec.N, rec.lost, rec.E) == (S, N, lost, E), rec
        if S:
            np.testing.assert_allclose(rec.crr, (E - N) / S * 100)
            np.testing.assert_allclose(rec.churn_rate, lost / S)
