"""Properties of the BTYD models, the summary and the customer value on small data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnkit.clv import BGNBD, GammaGamma, ParetoNBD, customer_clv, rfm_summary
from churnkit.exceptions import NotFittedError, SchemaError


def _simulated(rng, n=1500, T=52.0):  # noqa: N803
    """Pareto/NBD customers: Poisson purchases until an exponential death."""
    lam = rng.gamma(0.8, 1 / 6.0, n)
    mu = rng.gamma(0.7, 1 / 12.0, n)
    death = rng.exponential(1 / mu)
    x = np.zeros(n)
    t_x = np.zeros(n)
    for i in range(n):
        t, end = 0.0, min(death[i], T)
        while True:
            t += rng.exponential(1 / lam[i])
            if t > end:
                break
            x[i] += 1
            t_x[i] = t
    return x, t_x, np.full(n, T)


@pytest.mark.parametrize("cls", [BGNBD, ParetoNBD])
def test_models_rank_recent_buyers_alive_and_predict_positive(cls, rng):
    x, t_x, t = _simulated(rng)
    m = cls().fit(x, t_x, t)
    assert all(v > 0 for v in m.params_.values())
    alive = m.p_alive([4, 4], [50.0, 5.0], [52.0, 52.0])
    assert alive[0] > alive[1]
    e = m.expected_purchases(26, [4, 4, 0], [50.0, 5.0, 0.0], [52.0, 52.0, 52.0])
    assert e[0] > e[1] > 0
    assert e[2] > 0
    growing = [m.expected_purchases(h, [4], [50.0], [52.0])[0] for h in (1.0, 10.0, 50.0)]
    assert np.all(np.diff(growing) > 0)


def test_identical_rows_as_weights_give_the_same_fit(rng):
    x, t_x, t = _simulated(rng, n=400)
    full = BGNBD().fit(x, t_x, t)
    rows = pd.DataFrame({"x": x, "t_x": t_x, "t": t}).value_counts().reset_index()
    weighted = BGNBD().fit(rows["x"], rows["t_x"], rows["t"], sample_weight=rows["count"])
    for k in full.params_:
        assert weighted.params_[k] == pytest.approx(full.params_[k], rel=1e-6)


def test_bad_inputs_are_named():
    with pytest.raises(SchemaError, match="recency must be <= T"):
        BGNBD().fit([1, 2], [5.0, 60.0], [52.0, 52.0])
    with pytest.raises(SchemaError, match=r"frequency must be finite and >= 0; rows \[1\]"):
        ParetoNBD().fit([1, -2], [5.0, 6.0], [52.0, 52.0])
    with pytest.raises(SchemaError, match="recency must be 0 where frequency is 0"):
        BGNBD().fit([0, 2], [3.0, 6.0], [52.0, 52.0])
    with pytest.raises(NotFittedError, match="not fitted yet"):
        BGNBD().p_alive([1], [2.0], [3.0])
    with pytest.raises(SchemaError, match="fewer than 3 customers"):
        GammaGamma().fit([0, 1], [0.0, 5.0])
    with pytest.raises(ValueError, match="'steps' parameter of customer_clv"):
        customer_clv(BGNBD(), [1], [1.0], [2.0], 1.0, horizon=5, steps=0)


def test_summary_ignores_the_future_and_counts_days():
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "c"],
        "timestamp": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 18:00", "2024-01-15 00:00",
                                     "2024-01-10 00:00", "2024-01-31 00:00"]),
        "amount": [1.0, 2.0, 10.0, 4.0, 8.0],
    })
    s = rfm_summary(tx, "2024-01-31", amount_col="amount")
    assert list(s.index) == ["a", "b"]  # c bought on the cutoff day: not seen
    assert s.loc["a"].tolist() == [1, 14.0, 29.0, 10.0, 3.0]
    future = pd.concat([tx, pd.DataFrame({"customer_id": ["a", "b", "d"],
                                          "timestamp": pd.to_datetime(["2024-01-31", "2024-03-01",
                                                                       "2025-01-01"]),
                                          "amount": [100.0, 100.0, 100.0]})])
    pd.testing.assert_frame_equal(rfm_summary(future, "2024-01-31", amount_col="amount"), s)
    weeks = rfm_summary(tx, "2024-01-31", unit_days=7)
    assert weeks.loc["a", "T"] == pytest.approx(29 / 7)
    with pytest.raises(SchemaError, match=r"column\(s\) \['spend'\] missing"):
        rfm_summary(tx, "2024-01-31", amount_col="spend")


def test_customer_clv_discounts_and_scales(rng):
    x, t_x, t = _simulated(rng, n=400)
    m = BGNBD().fit(x, t_x, t)
    plain = customer_clv(m, [3, 0], [40.0, 0.0], [52.0, 52.0], 10.0, horizon=52, steps=1)
    total = m.expected_purchases(52, [3, 0], [40.0, 0.0], [52.0, 52.0]) * 10.0
    np.testing.assert_allclose(plain, total)
    discounted = customer_clv(m, [3, 0], [40.0, 0.0], [52.0, 52.0], 10.0, horizon=52,
                              discount_rate=0.05, margin=0.5)
    assert np.all(discounted < plain * 0.5)
