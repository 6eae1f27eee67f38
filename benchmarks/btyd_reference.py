"""Reference fits of the buy-till-you-die models by the ``lifetimes`` package, on CDNOW.

Usage (in a scratch environment that has ``lifetimes``; it is not a churnkit dependency)::

    python benchmarks/btyd_reference.py

Reads ``../shared/data/cdnow/CDNOW_master.txt`` and the 2,357 customer ids of the
Fader-Hardie CDNOW sample (``tests/clv/cdnow_sample_ids.txt``, the master ids listed
in ``lifetimes``' own ``CDNOW_sample.txt``; the script checks that the two agree). The
summary is built by ``lifetimes.utils.summary_data_from_transaction_data`` on purchase
days up to and including 1997-09-30 (the 39-week calibration period of Fader, Hardie and
Lee 2005), in weeks (``freq="D", freq_multiplier=7``). It prints the fitted parameters of
``BetaGeoFitter``, ``ParetoNBDFitter`` and ``GammaGammaFitter`` with 6 significant
digits; ``tests/clv/test_clv_reference.py`` holds what it printed.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter
from lifetimes.utils import summary_data_from_transaction_data

ROOT = Path(__file__).resolve().parents[1]
MASTER = ROOT.parent / "shared" / "data" / "cdnow" / "CDNOW_master.txt"
IDS = ROOT / "tests" / "clv" / "cdnow_sample_ids.txt"


def main() -> None:
    ids = [int(v) for v in IDS.read_text(encoding="utf-8").split()]
    shipped = importlib.resources.files("lifetimes.datasets") / "CDNOW_sample.txt"
    with importlib.resources.as_file(shipped) as path:
        sample = pd.read_csv(path, sep=r"\s+", header=None)
    if sorted(set(sample[0])) != sorted(ids):
        raise SystemExit(f"{IDS} differs from the ids in lifetimes' CDNOW_sample.txt")
    master = pd.read_csv(MASTER, sep=r"\s+")
    tx = master[master["customer_id"].isin(ids)].copy()
    tx["date"] = pd.to_datetime(tx["date"].astype(str), format="%Y%m%d")
    summary = summary_data_from_transaction_data(
        tx, "customer_id", "date", monetary_value_col="dollar_value",
        observation_period_end="1997-09-30", freq="D", freq_multiplier=7)
    print(f"customers {len(summary)}, repeat buyers {(summary['frequency'] > 0).sum()}")
    bg = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    print("BetaGeoFitter", {k: float(f"{v:.6g}") for k, v in bg.params_.items()})
    pn = ParetoNBDFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    print("ParetoNBDFitter", {k: float(f"{v:.6g}") for k, v in pn.params_.items()})
    for model in (bg, pn):
        name = type(model).__name__
        for x, t_x, t in ((2, 30.43, 38.86), (0, 0.0, 38.86), (7, 35.0, 38.0)):
            e = model.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, t)
            alive = model.conditional_probability_alive(x, t_x, t)
            print(f"{name} x={x} t_x={t_x} T={t}: expected purchases in 39 weeks "
                  f"{float(np.ravel(e)[0]):.6g}, P(alive) {float(np.ravel(alive)[0]):.6g}")
    rep = summary[summary["frequency"] > 0]
    gg = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    print("GammaGammaFitter", {k: float(f"{v:.6g}") for k, v in gg.params_.items()})
    spend = gg.conditional_expected_average_profit(pd.Series([2, 7]), pd.Series([22.35, 40.0]))
    print("GammaGammaFitter expected spend x=2 m=22.35, x=7 m=40:",
          [float(f"{v:.6g}") for v in spend])


if __name__ == "__main__":
    main()
