"""Learning what works, checked against the planted truth of the sample CRM's campaigns.

For each seed, ``make_crm(n, campaigns=3)`` simulates three past retention
campaigns with random control groups and planted per-customer effects. Then:

1. ``churnkit impact`` measures every campaign: for each (seed, playbook) the
   planted average effect of a contact (mean ``true_effect`` of the playbook's
   customers) should lie in the 95 % interval of the effect per contact.
2. The uplift model is trained on the first two campaigns and ranks the
   customers of the third (a random half of the active customers, whose
   planted effects are known). Contacting the top 10 % by expected saved value
   is compared with contacting the top 10 % by risk x value, where the risk is
   the *planted* churn probability (a perfect risk model): planted value
   saved = sum of -true_effect x monthly value x 12 over the contacted.
   Qini coefficients are measured on the third campaign's realised outcomes.
   The ceiling is what contacting the top 10 % by planted effect x value
   saves: no ranking can save more.
3. "Do not contact" flags: the share whose planted effect is harmful.

Usage::

    python benchmarks/impact.py                 # 5 seeds, 12,000 customers each
    python benchmarks/impact.py --seeds 0 1 --n 6000
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np


def _one_seed(seed: int, n: int) -> dict:
    import churnkit as ck
    from churnkit import jobs
    from churnkit.datasets import make_crm
    from churnkit.impact import realised_outcomes

    crm = make_crm(n, random_state=seed, campaigns=3)
    with tempfile.TemporaryDirectory() as folder:
        cfg = ck.load_config(crm.write_project(folder))
        ds = ck.load_dataset(cfg)
        truth = crm.ground_truth.set_index("customer_id")["true_effect"]

        # 1. impact: per playbook, is the planted effect inside the per-contact interval?
        result = jobs.impact(cfg, crm.assignments, dataset=ds)
        rows = result.breakdown[result.breakdown["breakdown"] == "recommended_playbook"]
        asg = crm.assignments.assign(true_effect=crm.assignments["customer_id"].map(truth))
        planted = asg.groupby(asg["recommended_playbook"].astype(str))["true_effect"].mean()
        covered = [(lvl, planted[lvl], lo, hi, bool(lo <= planted[lvl] <= hi))
                   for lvl, lo, hi in zip(rows["level"], rows["cace_low"], rows["cace_high"],
                                          strict=True)]

        # 2. uplift model on the first two campaigns, ranking the third
        last = asg["run_id"].max()
        train, test = asg[asg["run_id"] != last], asg[asg["run_id"] == last]
        fitted = jobs.train_uplift(cfg, [train.drop(columns="true_effect")], dataset=ds)
        scores = test[["customer_id", "as_of", "churn_probability", "recommended_playbook"]]
        ranked = jobs.rank_by_uplift(cfg, fitted, scores, dataset=ds)
        ranked["true_effect"] = ranked["customer_id"].map(truth)
        months = cfg.scoring.value_horizon_months
        ranked["planted_saved"] = -ranked["true_effect"] * ranked["value"] * months
        budget = int(round(0.10 * len(ranked)))
        by_uplift = ranked.head(budget)["planted_saved"].sum()
        by_risk = ranked.assign(rv=ranked["churn_probability"] * ranked["value"]).sort_values(
            "rv", ascending=False, kind="stable").head(budget)["planted_saved"].sum()
        # the ceiling: contacting those whom contact saves most, by their planted effects
        by_truth = ranked["planted_saved"].nlargest(budget).sum()
        joined, _ = realised_outcomes(ds, test.drop(columns="true_effect"))
        joined = joined.merge(ranked[["customer_id", "expected_saved_value"]], on="customer_id")
        qini = jobs.uplift_metrics(
            joined["churned"], joined["group"] == "treat",
            {"uplift": joined["expected_saved_value"],
             "risk_x_value": joined["churn_probability"] * joined["value"]})

        # 3. do-not-contact flags
        flagged = ranked[ranked["do_not_contact"]]
        return {"seed": seed, "covered": covered, "budget": budget, "pool": len(ranked),
                "saved_uplift": by_uplift, "saved_risk": by_risk, "saved_best": by_truth,
                "qini_uplift": qini["uplift"]["qini"], "qini_risk": qini["risk_x_value"]["qini"],
                "flags": len(flagged), "flags_harmed": int((flagged["true_effect"] > 0).sum()),
                "learner": fitted.summary["learner"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--n", type=int, default=12_000, help="customers per sample CRM")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = []
    for seed in args.seeds:
        r = _one_seed(seed, args.n)
        results.append(r)
        hits = sum(c[-1] for c in r["covered"])
        print(f"seed {seed}: playbooks covered {hits}/{len(r['covered'])}; learner {r['learner']}; "
              f"top {r['budget']} of {r['pool']}: planted value saved uplift "
              f"{r['saved_uplift']:,.0f} vs risk x value {r['saved_risk']:,.0f} "
              f"(ceiling {r['saved_best']:,.0f}); "
              f"Qini uplift {r['qini_uplift']:.4f} vs risk x value {r['qini_risk']:.4f}; "
              f"do-not-contact {r['flags_harmed']}/{r['flags']} truly harmed", flush=True)
        for level, truth, lo, hi, ok in r["covered"]:
            if not ok:
                print(f"    missed: {level}: planted {truth:+.3f} outside [{lo:+.3f}, {hi:+.3f}]")
    pairs = [c for r in results for c in r["covered"]]
    covered = sum(c[-1] for c in pairs) / len(pairs)
    up = sum(r["saved_uplift"] for r in results)
    risk = sum(r["saved_risk"] for r in results)
    best = sum(r["saved_best"] for r in results)
    flags = sum(r["flags"] for r in results)
    harmed = sum(r["flags_harmed"] for r in results)
    print(f"\n{len(args.seeds)} seeds x {args.n:,} customers, 3 campaigns each "
          f"({time.perf_counter() - start:.0f} s)")
    print(f"planted effect inside impact's 95% interval: {covered:.0%} of {len(pairs)} "
          "(seed, playbook) pairs (target >= 90%)")
    print(f"planted value saved at a 10% budget: uplift ranking {up:,.0f} vs risk x value "
          f"{risk:,.0f} ({up / risk - 1:+.0%}; target >= +30%)")
    print(f"  ceiling (the top 10% by planted effect x value): {best:,.0f}, "
          f"{best / risk - 1:+.0%} over risk x value")
    print(f"Qini on the held-out campaign (mean over seeds): uplift "
          f"{np.mean([r['qini_uplift'] for r in results]):.4f} vs risk x value "
          f"{np.mean([r['qini_risk'] for r in results]):.4f}")
    share = f"{harmed / flags:.0%}" if flags else "n/a"
    print(f"'do not contact' flags truly harmed: {share} of {flags} (target >= 80%)")


if __name__ == "__main__":
    main()
