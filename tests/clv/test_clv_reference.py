"""The BTYD models on the Fader-Hardie CDNOW sample: published and reference estimates.

The sample is the 2,357 customers listed in ``cdnow_sample_ids.txt`` (ids of
``CDNOW_master.txt``), summarised in weeks on purchase days up to 1997-09-30 (the
39-week calibration period), i.e. ``rfm_summary(as_of="1997-10-01", unit_days=7)``.

Reference values are what ``benchmarks/btyd_reference.py`` printed with lifetimes 0.11.3
(numpy 2.4.6, pandas 3.1.1, scipy 1.17.1)::

    customers 2357, repeat buyers 946
    BetaGeoFitter {'r': 0.242595, 'alpha': 4.4136, 'a': 0.792922, 'b': 2.42591}
    ParetoNBDFitter {'r': 0.553278, 'alpha': 10.5777, 's': 0.606274, 'beta': 11.6695}
    BetaGeoFitter x=2 t_x=30.43 T=38.86: expected purchases in 39 weeks 1.22591, P(alive) 0.726609
    BetaGeoFitter x=0 t_x=0.0 T=38.86: expected purchases in 39 weeks 0.194782, P(alive) 1
    BetaGeoFitter x=7 t_x=35.0 T=38.0: expected purchases in 39 weeks 4.55616, P(alive) 0.862004
    ParetoNBDFitter x=2 t_x=30.43 T=38.86: expected purchases in 39 weeks 1.45508, P(alive) 0.869111
    ParetoNBDFitter x=0 t_x=0.0 T=38.86: expected purchases in 39 weeks 0.107056, P(alive) 0.295089
    ParetoNBDFitter x=7 t_x=35.0 T=38.0: expected purchases in 39 weeks 4.79027, P(alive) 0.952819
    GammaGammaFitter {'p': 6.24957, 'q': 3.74422, 'v': 15.4435}
    GammaGammaFitter expected spend x=2 m=22.35, x=7 m=40: [24.658, 39.7149]

(lifetimes' Pareto/NBD optimiser stops at slightly different points from run to run,
about 1e-4 relative, so its parameters are compared at 1e-3.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnkit.clv import BGNBD, GammaGamma, ParetoNBD, rfm_summary

IDS = Path(__file__).with_name("cdnow_sample_ids.txt")

LIFETIMES_BGNBD = {"r": 0.242595, "alpha": 4.4136, "a": 0.792922, "b": 2.42591}
LIFETIMES_PARETO = {"r": 0.553278, "alpha": 10.5777, "s": 0.606274, "beta": 11.6695}
LIFETIMES_GG = {"p": 6.24957, "q": 3.74422, "gamma": 15.4435}


MASTER = Path(__file__).resolve().parents[3] / "shared" / "data" / "cdnow" / "CDNOW_master.txt"


@pytest.fixture(scope="module")
def sample_summary() -> pd.DataFrame:
    if not MASTER.is_file():
        pytest.skip(f"public dataset {MASTER} is absent")
    master = pd.read_csv(MASTER, sep=r"\s+")
    ids = np.loadtxt(IDS, dtype=int)
    tx = master[master["customer_id"].isin(ids)].copy()
    tx["timestamp"] = pd.to_datetime(tx["date"].astype(str), format="%Y%m%d")
    return rfm_summary(tx, "1997-10-01", amount_col="dollar_value", unit_days=7)


def test_sample_summary_is_the_published_one(sample_summary):
    # Fader-Hardie: 2,357 customers, 946 repeat buyers, 2,457 repeat purchases, T 27 .. 38.86
    s = sample_summary
    assert len(s) == 2357
    assert int((s["frequency"] > 0).sum()) == 946
    assert int(s["frequency"].sum()) == 2457
    assert s["T"].min() == pytest.approx(27.0)
    assert s["T"].max() == pytest.approx(38.857, abs=1e-3)


def test_bgnbd_matches_published_and_lifetimes(sample_summary):
    s = sample_summary
    m = BGNBD().fit(s["frequency"], s["recency"], s["T"])
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for k, v in published.items():
        assert round(m.params_[k], 3) == v, k
    for k, v in LIFETIMES_BGNBD.items():
        assert m.params_[k] == pytest.approx(v, rel=1e-3), k
    # published log-likelihood of BG/NBD on this sample: -9582.4
    assert m.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)


def test_pareto_nbd_matches_published_and_lifetimes(sample_summary):
    s = sample_summary
    m = ParetoNBD().fit(s["frequency"], s["recency"], s["T"])
    published = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}
    for k, v in published.items():
        assert round(m.params_[k], 2) == v, k
    for k, v in LIFETIMES_PARETO.items():
        assert m.params_[k] == pytest.approx(v, rel=1e-3), k
    # published log-likelihood of Pareto/NBD on this sample: -9595.0
    assert m.log_likelihood_ == pytest.approx(-9595.0, abs=0.05)


def test_gamma_gamma_matches_published_and_lifetimes(sample_summary):
    s = sample_summary
    m = GammaGamma().fit(s["frequency"], s["monetary"])
    assert m.n_customers_ == 946
    published = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    for k, v in published.items():
        assert round(m.params_[k], 2) == v, k
    for k, v in LIFETIMES_GG.items():
        assert m.params_[k] == pytest.approx(v, rel=1e-3), k


@pytest.mark.parametrize(("cls", "params", "rows"), [
    (BGNBD, LIFETIMES_BGNBD, [(2, 30.43, 38.86, 1.22591, 0.726609),
                              (0, 0.0, 38.86, 0.194782, 1.0),
                              (7, 35.0, 38.0, 4.55616, 0.862004)]),
    (ParetoNBD, LIFETIMES_PARETO, [(2, 30.43, 38.86, 1.45508, 0.869111),
                                   (0, 0.0, 38.86, 0.107056, 0.295089),
                                   (7, 35.0, 38.0, 4.79027, 0.952819)]),
])
def test_predictions_match_lifetimes_at_the_same_parameters(cls, params, rows):
    m = cls()
    m.params_ = dict(params)
    x, t_x, t, expected, alive = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    np.testing.assert_allclose(m.expected_purchases(39, x, t_x, t), expected, rtol=1e-4)
    np.testing.assert_allclose(m.p_alive(x, t_x, t), alive, rtol=1e-4)


def test_gamma_gamma_expected_spend_matches_lifetimes():
    m = GammaGamma()
    m.params_ = dict(LIFETIMES_GG)
    np.testing.assert_allclose(m.expected_spend([2, 7], [22.35, 40.0]), [24.658, 39.7149],
                               rtol=1e-4)
