"""Static categorical columns: levels beyond max_categories are pooled, never made missing."""

import numpy as np
import pandas as pd

from churnkit.features._static import OTHER_LEVEL, StaticFeatures


def test_rare_levels_share_an_other_level_distinct_from_missing_and_from_unseen():
    # 5 frequent areas and 40 rare ones (2 customers each), plus 3 without an area
    areas = [f"big{i}" for i in range(5) for _ in range(20)]
    areas += [f"rare{i:02d}" for i in range(40) for _ in range(2)] + [None] * 3
    n = len(areas)
    customers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "area": areas})
    spine = pd.DataFrame({"customer_id": customers["customer_id"],
                          "cutoff": pd.Timestamp("2024-01-01")})
    f = StaticFeatures(attributes={"area": "categorical"}, max_categories=5).fit(
        spine, customers=customers)
    assert f.categories_["area"] == [*sorted(f"big{i}" for i in range(5)), OTHER_LEVEL]
    X = f.transform(spine, customers=customers)["static__area"]
    assert X.iloc[:100].astype(str).str.startswith("big").all()
    assert (X.iloc[100:180] == OTHER_LEVEL).all()  # the rare areas are pooled, not missing
    assert X.iloc[180:].isna().all()
    # a value never seen in fit is missing (and counted as unseen), not pooled with the rare
    later = customers.assign(area=["new-area"] * n)
    assert X.cat.categories.tolist() == f.categories_["area"]
    assert f.transform(spine, customers=later)["static__area"].isna().all()
    assert f.unseen_categories(spine, customers=later) == {"area": n}
    # with few levels nothing is pooled
    few = StaticFeatures(attributes={"area": "categorical"}, max_categories=100).fit(
        spine, customers=customers)
    assert OTHER_LEVEL not in few.categories_["area"]
    assert np.array_equal(few.transform(spine, customers=customers)["static__area"].isna(),
                          customers["area"].isna())
