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


def test_a_category_of_hundreds_of_levels_keeps_its_20_most_frequent_by_default():
    # a service area of 100 levels (level k in k + 1 rows): LightGBM would split on each
    areas = [f"area{k:03d}" for k in range(100) for _ in range(k + 1)]
    customers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(len(areas))], "area": areas})
    spine = pd.DataFrame({"customer_id": customers["customer_id"],
                          "cutoff": pd.Timestamp("2024-01-01")})
    f = StaticFeatures(attributes={"area": "categorical"}).fit(spine, customers=customers)
    top = [f"area{k:03d}" for k in range(80, 100)]
    assert f.categories_["area"] == [*top, OTHER_LEVEL]
    X = f.transform(spine, customers=customers)["static__area"]
    assert X.notna().all()
    assert ((X == OTHER_LEVEL) == ~pd.Series(areas).isin(top)).all()
