"""A window total over values that were never recorded is worded as missing, not as 0."""

from __future__ import annotations

import numpy as np
import pandas as pd

from churnkit.explain._reasons import ReasonConfig, top_reasons


def test_a_sum_without_recorded_values_is_not_worded_as_zero():
    cfg = ReasonConfig.model_validate({"reasons": [{
        "id": "usage", "label": "Falling usage", "patterns": ["usage__*"],
        "template": ["{usage__logins__sum__90d:,.0f} logins in the last 90 days, "
                     "{usage__logins__monthly__90d:,.0f} a month"],
    }]})
    # row 0: 0 logins recorded; row 1: rows without a logins value (the kernel sums them to 0);
    # row 2: 12 logins
    X = pd.DataFrame({"usage__logins__sum__90d": [0.0, 0.0, 12.0],
                      "usage__logins__mean__90d": [0.0, np.nan, 4.0],
                      "usage__logins__monthly__90d": [0.0, 0.0, 4.0]})
    contrib = pd.DataFrame({"usage__logins__sum__90d": [0.3, 0.3, 0.3],
                            "usage__logins__mean__90d": 0.0, "usage__logins__monthly__90d": 0.0})
    top = top_reasons(contrib, X, cfg, k=1)
    assert top["reason_1"].tolist() == [
        "0 logins in the last 90 days, 0 a month", "Falling usage",
        "12 logins in the last 90 days, 4 a month"]
