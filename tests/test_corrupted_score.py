"""`churnkit score` on files with 1% corrupted rows scores the rest and lists the 1% with reasons."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from cli_runner import cli_runner

import churnkit as ck
from churnkit._core import builtin_config
from churnkit.cli import app
from churnkit.data import rejected_customers
from churnkit.datasets import make_crm

pytestmark = pytest.mark.slow  # trains on a 1,200-customer sample CRM, runs `churnkit score`

runner = cli_runner()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("corrupt")
    crm = make_crm(1200, random_state=5)
    crm.write(root / "clean", format="csv")
    text = builtin_config("default.yaml").read_text()
    text = text.replace("n_estimators: 1000", "n_estimators: 60").replace("explain: all", "explain: at_risk")
    (root / "clean" / "config.yaml").write_text(text.replace("data/", ""))
    trained = ck.train(ck.load_config(root / "clean" / "config.yaml"))
    ck.save_model(trained.model, root / "model", config=trained.model.config_, training=trained.model.training_)

    # the same tables with 1% of the customers rows and 1% of the contacts rows corrupted
    bad = root / "bad"
    bad.mkdir()
    for name in ("feedback", "transactions", "usage"):
        (bad / f"{name}.csv").write_bytes((root / "clean" / f"{name}.csv").read_bytes())
    (bad / "config.yaml").write_text(text.replace("data/", ""))
    cust = pd.read_csv(root / "clean" / "customers.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(0)
    rows = rng.choice(len(cust), size=len(cust) // 100, replace=False)
    kinds = ["no_id", "end_before_signup", "conflict", "bad_value", "bad_signup", "float_id"]
    corrupt = {k: rows[i::len(kinds)] for i, k in enumerate(kinds)}
    cust.loc[corrupt["no_id"], "customer_id"] = ""
    cust.loc[corrupt["end_before_signup"], "end_date"] = "2001-01-01"
    cust.loc[corrupt["bad_value"], "monthly_value"] = "twelve euros"
    cust.loc[corrupt["bad_signup"], "signup_date"] = "31/02/2024"
    copies = cust.loc[corrupt["conflict"]].assign(segment="conflicting-segment")
    cust = pd.concat([cust, copies], ignore_index=True)
    cust.to_csv(bad / "customers.csv", index=False)

    con = pd.read_csv(root / "clean" / "contacts.csv", dtype=str, keep_default_na=False)
    crows = rng.choice(len(con), size=len(con) // 100, replace=False)
    ckinds = ["bad_ts", "unknown", "negative", "no_id", "future"]
    ccorrupt = {k: crows[i::len(ckinds)] for i, k in enumerate(ckinds)}
    con.loc[ccorrupt["bad_ts"], "timestamp"] = "sometime in May"
    con.loc[ccorrupt["unknown"], "customer_id"] = "GHOST-" + pd.Series(ccorrupt["unknown"]).astype(str).values
    con.loc[ccorrupt["negative"], "duration_min"] = "-7"
    con.loc[ccorrupt["no_id"], "customer_id"] = ""
    con.loc[ccorrupt["future"], "timestamp"] = "2031-06-01T10:00:00"
    con.to_csv(bad / "contacts.csv", index=False)
    text = (bad / "config.yaml").read_text()
    (bad / "config.yaml").write_text(text.replace("\nlabels:", f"\n  end: '{crm.end.date()}'\nlabels:"))
    return root, crm, cust, corrupt, ccorrupt


def test_score_scores_the_99_percent_and_lists_the_1_percent(setup):
    root, crm, cust, corrupt, ccorrupt = setup
    r = runner.invoke(app, ["score", "--config", str(root / "bad" / "config.yaml"), "--model",
                            str(root / "model"), "--out", str(root / "s.csv"), "--format", "json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    scores = pd.read_csv(root / "s.csv", dtype={"customer_id": str})
    rej = pd.read_csv(root / "rejects.csv", dtype={"customer_id": str})
    assert summary["scored"] == len(scores)
    assert rej["reason"].notna().all()
    assert (rej["reason"].str.len() > 10).all()

    # every customer: scored or rejected, exactly once
    all_ids = set(crm.customers["customer_id"])
    lost_id = set(crm.customers["customer_id"].iloc[corrupt["no_id"]])
    scored = scores["customer_id"]
    assert scored.is_unique
    rejected = set(rejected_customers(rej))
    assert rejected.isdisjoint(scored)
    assert set(scored) | rejected == all_ids - lost_id
    # the rows without an id are listed by row number
    no_id = rej[(rej["table"] == "customers") & rej["reason"].str.contains("missing customer id")]
    assert sorted(no_id["row"]) == sorted(corrupt["no_id"])

    # corrupted customers: dropped ones are rejected with their reason, the others are scored
    by_id = rej[rej["table"] == "customers"].groupby("customer_id")["reason"].agg(" | ".join)
    ids = crm.customers["customer_id"].to_numpy()
    for cid in ids[corrupt["end_before_signup"]]:
        assert "end date before the signup date" in by_id[cid]
    for cid in ids[corrupt["conflict"]]:
        assert "conflicting values (segment)" in by_id[cid]
        assert cid not in set(scored)
    for cid in ids[corrupt["bad_value"]]:
        assert "unparseable numeric value" in by_id[cid]
    for cid in ids[corrupt["bad_signup"]]:
        assert "unparseable datetime value" in by_id[cid]
    active = crm.customers["end_date"].isna() | (crm.customers["end_date"] >= crm.end)
    kept_active = [c for c in ids[np.concatenate([corrupt["bad_value"], corrupt["bad_signup"]])]
                   if active[crm.customers["customer_id"] == c].all()]
    assert set(kept_active) <= set(scored)
    # about 99% of the customers active at the end are scored
    assert len(scores) >= 0.98 * (active.sum() - len(corrupt["end_before_signup"]))

    # every corrupted contacts row is listed once, with a reason
    contacts = rej[rej["table"] == "contacts"].set_index("row")
    assert contacts.index.is_unique
    expect = {"bad_ts": "unparseable timestamp", "unknown": "not in the customers table",
              "negative": "negative duration", "no_id": "missing customer id",
              "future": "on or after the end of the data"}
    for kind, words in expect.items():
        got = contacts.loc[ccorrupt[kind], "reason"]
        ok = got.str.contains(words, regex=False) | got.str.contains("row was rejected")
        assert ok.all(), (kind, got[~ok].tolist())
    assert len(contacts) < 0.02 * len(pd.read_csv(root / "bad" / "contacts.csv"))
