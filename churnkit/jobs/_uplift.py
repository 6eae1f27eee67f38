"""The uplift jobs: learn who contact saves from finished experiments, rank lists by it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnkit._core import (
    Progress,
    __version__,
    atomic_path,
    atomic_write_text,
    no_progress,
    write_table,
)
from churnkit._core.state import dump_state
from churnkit.config import Config
from churnkit.data import Dataset, load_dataset
from churnkit.exceptions import ModelError, SchemaError
from churnkit.features import (
    FeatureSet,
    feature_set,
    feature_set_from_state,
    feature_set_state,
)
from churnkit.impact import (
    UpliftModel,
    auuc,
    breakdown_levels,
    impact_by,
    impact_table,
    qini_coefficient,
    realised_outcomes,
    uplift_at_k,
)
from churnkit.jobs._impact import read_assignments

__all__ = ["UpliftResult", "load_uplift", "rank_by_uplift", "train_uplift", "uplift_metrics",
           "write_uplift_list"]

_MANIFEST, _STATE, _FEATURES = "uplift.json", "uplift_model.json", "features.json"
_LEGACY = "uplift.joblib"  # a pickle written by earlier versions: never loaded
PLAYBOOK_FEATURE = "recommended_playbook"
ALL_PLAYBOOKS = "(all)"  # the measured effect over every experiment customer


def _playbook_codes(column: pd.Series, playbooks: list[str]) -> pd.Categorical:
    """The recommended playbook as a category of the training levels (others: missing)."""
    return pd.Categorical(column.to_numpy(dtype=object), categories=playbooks)


def measured_effects(joined: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Churn of treated minus control (intent to treat) with its 95 % interval, per playbook.

    :func:`~churnkit.impact.impact_table` over every customer (``"(all)"``) and
    :func:`~churnkit.impact.impact_by` the ``recommended_playbook`` when the
    experiments have it. Measured on the randomised groups alone, so it is the
    evidence the uplift model's per-customer estimates are checked against.
    """
    rows = impact_by(joined, [PLAYBOOK_FEATURE]).set_index("level")
    rows.loc[ALL_PLAYBOOKS] = impact_table(joined)
    return {str(level): {"itt": float(r["itt"]), "low": float(r["itt_low"]),
                         "high": float(r["itt_high"]), "treated": int(r["treated"]),
                         "control": int(r["control"])}
            for level, r in rows.iterrows() if r["treated"] and r["control"]}


def uplift_metrics(churned: Any, treat: Any, scores: Mapping[str, Any], *, k: float = 0.1,
                   ) -> dict[str, dict[str, float]]:
    """Qini coefficient, AUUC and uplift at ``k`` of each ranking (higher score = contact first)."""
    saved = 1 - np.asarray(churned, dtype=np.float64)
    t = np.asarray(treat, dtype=np.float64)
    return {name: {"qini": qini_coefficient(saved, t, s), "auuc": auuc(saved, t, s),
                   f"uplift_at_{int(round(k * 100))}pct": uplift_at_k(saved, t, s, k)}
            for name, s in scores.items()}


def _experiments(config: Config, assignments: Sequence[str | Path | pd.DataFrame],
                 dataset: Dataset) -> pd.DataFrame:
    frames = [a if isinstance(a, pd.DataFrame) else read_assignments(a) for a in assignments]
    if not frames:
        raise SchemaError("No finished experiments: pass assignments.csv files (--assignments) "
                          "or list them in the config's uplift.assignments.")
    lab = config.labels
    joined, _ = realised_outcomes(dataset, pd.concat(frames, ignore_index=True),
                                  definition=lab.definition, horizon_days=lab.horizon_days,
                                  lookback_days=lab.lookback_days,
                                  activity_tables=lab.activity_tables or None)
    return joined


def _split(ids: pd.Series, share: float, seed: int) -> np.ndarray:
    """True for the held-out customers: a fixed hash of the id, so every run agrees."""
    digest = pd.util.hash_array(ids.astype(str).to_numpy(dtype=object),
                                hash_key=f"uplift-split-{seed:04d}"[:16].ljust(16, "0"))
    return (digest % np.uint64(10_000)).astype(np.float64) / 10_000 < share


@dataclass(frozen=True, eq=False)
class UpliftResult:
    """A fitted uplift model with its features and its held-out evaluation."""

    model: UpliftModel
    features: FeatureSet
    summary: dict[str, Any] = field(default_factory=dict)

    def write(self, out: str | Path) -> Path:
        """Save the model as data files: nothing in the folder runs code when loaded.

        ``uplift_model.json`` (learner, features, bags), one LightGBM text model
        per bag part (``bag0_mu0.txt``...), ``features.json`` (the fitted feature
        set) and ``uplift.json``: the summary, the held-out metrics and the
        sha256 of every other file, written last.
        """
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        state, boosters = self.model.to_state()
        files = {_STATE: dump_state(state, _STATE),
                 _FEATURES: dump_state(feature_set_state(self.features), _FEATURES),
                 **{f"{name}.txt": text.encode() for name, text in boosters.items()}}
        for name, data in files.items():
            with atomic_path(folder / name) as tmp:
                Path(tmp).write_bytes(data)
        (folder / _LEGACY).unlink(missing_ok=True)
        digests = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}
        atomic_write_text(folder / _MANIFEST, json.dumps(
            {**self.summary, "files": digests, "churnkit_version": __version__}, indent=2,
            default=str) + "\n")
        return folder


def load_uplift(path: str | Path) -> UpliftResult:
    """Load a saved uplift model after checking every file against the manifest's sha256.

    The folder ``path`` holds JSON and LightGBM's text models only: loading parses them
    and never runs code. A folder with a pickle from an earlier version is refused.
    """
    folder = Path(path)
    manifest = folder / _MANIFEST
    if not manifest.is_file():
        raise ModelError(f"{str(folder)!r} holds no uplift model ({_MANIFEST} is missing). "
                         "Train one with 'churnkit train --uplift'.")
    try:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{manifest} is not valid JSON ({exc}). Train the uplift model "
                         "again.") from None
    files = meta.get("files") if isinstance(meta, dict) else None
    if not isinstance(files, dict):
        how = "as a pickle by an earlier version" if (folder / _LEGACY).is_file() else "badly"
        raise ModelError(f"{str(folder)!r}: the uplift model was saved {how} and is not "
                         "loaded. Train it again with 'churnkit train --uplift'.")
    if meta.get("churnkit_version") != __version__:
        raise ModelError(f"{manifest} was saved by churnkit {meta.get('churnkit_version')}, "
                         f"this is {__version__}. Train the uplift model again.")
    data: dict[str, bytes] = {}
    for name, digest in files.items():
        file = folder / name
        if Path(name).name != name or not file.is_file():
            raise ModelError(f"{file}: a file of the uplift model is missing. Restore the folder "
                             "or train the uplift model again.")
        data[name] = file.read_bytes()
        if hashlib.sha256(data[name]).hexdigest() != digest:
            raise ModelError(f"{file}: the file does not match the sha256 of {_MANIFEST}; it was "
                             "changed after training. Train the uplift model again.")
    try:
        state = json.loads(data[_STATE])
        boosters = {name[:-4]: text.decode() for name, text in data.items()
                    if name.endswith(".txt")}
        model = UpliftModel.from_state(state, boosters)
        features = feature_set_from_state(json.loads(data[_FEATURES]), str(folder / _FEATURES))
    except (KeyError, TypeError, ValueError, SchemaError) as exc:
        raise ModelError(f"{str(folder)!r}: the uplift model's files do not hold a model this "
                         f"churnkit can read ({str(exc)[:200]}). Train it again.") from None
    return UpliftResult(model=model, features=features, summary=meta)


def train_uplift(
    config: Config,
    assignments: Sequence[str | Path | pd.DataFrame] | None = None,
    *,
    tables: Mapping[str, pd.DataFrame] | None = None,
    dataset: Dataset | None = None,
    holdout_share: float = 0.3,
    progress: Progress = no_progress,
) -> UpliftResult:
    """Fit the uplift model on finished experiments and compare it with the risk ranking.

    Features are built at each run's ``as_of`` (the same point-in-time features
    as the churn model). A fixed 30 % of the customers (by a hash of the id) is
    held out: the model fitted on the rest ranks them, and its Qini, AUUC and
    uplift at 10 % are reported next to those of the risk model's ranking
    (``churn_probability`` of the assignments) and of risk x value. The saved
    model is then fitted on every customer.

    Parameters
    ----------
    config : Config
        Its ``uplift`` section (learner, bags) and, when ``assignments`` is
        None, its ``uplift.assignments`` files.
    assignments : sequence of path or DataFrame, optional
        Finished runs' assignments.
    tables, dataset
        In-memory tables or an already loaded dataset.
    holdout_share : float, default 0.3
    progress : callable, optional

    Returns
    -------
    UpliftResult
    """
    items = list(assignments) if assignments is not None else [
        p if p.is_absolute() else config.base_dir / p for p in config.uplift.assignments]
    ds = dataset if dataset is not None else load_dataset(config, tables)
    progress("Joining experiments with realised churn")
    joined = _experiments(config, items, ds)
    spine = pd.DataFrame({"customer_id": joined["customer_id"].to_numpy(),
                          "cutoff": joined["as_of"].to_numpy()})
    progress(f"Building features of {len(spine):,} experiment customers")
    fs = feature_set(config.features)  # the churn model's settings, BTYD included
    X = fs.fit_transform(ds, spine)
    playbooks: list[str] | None = None
    if "recommended_playbook" in joined:  # the action changes the effect of contact
        column = joined["recommended_playbook"].astype("string").fillna("(none)")
        playbooks = sorted(column.unique())
        X[PLAYBOOK_FEATURE] = _playbook_codes(column, playbooks)
    t = (joined["group"] == "treat").to_numpy().astype(int)
    y = joined["churned"].to_numpy().astype(int)
    uc, seed = config.uplift, config.model.random_state
    params: dict[str, Any] = {"learner": uc.learner, "bags": uc.bags, "random_state": seed,
                              "n_jobs": config.model.n_jobs, "keep": (PLAYBOOK_FEATURE,)}
    test = _split(joined["customer_id"], holdout_share, seed)
    progress("Fitting the uplift model on 70 % and ranking the held-out 30 %")
    held = UpliftModel(**params).fit(X[~test], t[~test], y[~test])
    rankings: dict[str, Any] = {"uplift": held.predict(X[test])}
    if "churn_probability" in joined:
        risk = joined["churn_probability"].to_numpy(dtype=np.float64)[test]
        rankings["risk"] = risk
        if "value" in joined:
            rankings["risk_x_value"] = risk * np.nan_to_num(joined["value"].to_numpy()[test])
    metrics = uplift_metrics(y[test], t[test], rankings)
    progress("Fitting the uplift model on every experiment customer")
    model = UpliftModel(**params).fit(X, t, y)
    summary = {"experiments": int(joined["run_id"].nunique()), "customers": len(joined),
               "treated": int(t.sum()), "control": int((1 - t).sum()),
               "learner": model.learner_, "selection_qini": model.selection_,
               "held_out": int(test.sum()), "held_out_metrics": metrics,
               "features": len(X.columns), "playbooks": playbooks,
               "measured_effects": measured_effects(joined)}
    return UpliftResult(model=model, features=fs, summary=summary)


def rank_by_uplift(
    config: Config,
    uplift: UpliftResult,
    scores: pd.DataFrame,
    *,
    tables: Mapping[str, pd.DataFrame] | None = None,
    dataset: Dataset | None = None,
) -> pd.DataFrame:
    """Rank scored customers by the value a contact is expected to save.

    ``expected_saved_value = uplift x value x scoring.value_horizon_months -
    uplift.action_cost``, highest first. A customer every bag of the model
    expects to churn *more* if contacted, each by more than
    ``uplift.harm_threshold``, is flagged ``do_not_contact`` with the reason,
    provided (``uplift.harm_evidence``) that over the experiments the customers
    recommended the same playbook churned more when contacted, with the whole
    95 % interval above 0: a few thousand experiment customers leave every
    per-customer estimate noisy, the randomised groups of a playbook are not.

    Parameters
    ----------
    config : Config
    uplift : UpliftResult
        From :func:`train_uplift` or :func:`load_uplift`.
    scores : DataFrame
        A scores table (``customer_id``, ``as_of``, ``churn_probability``, ...).
    tables, dataset
        The data the scores were made from.

    Returns
    -------
    DataFrame
        The scores' columns plus ``uplift``, ``uplift_low``, ``uplift_high`` (lowest
        and highest bag), ``value``, ``expected_saved_value``, ``do_not_contact``,
        ``do_not_contact_reason`` and ``uplift_rank`` (1 = contact first).
    """
    ds = dataset if dataset is not None else load_dataset(config, tables)
    ds = uplift.features.align(ds)
    as_of = pd.to_datetime(scores["as_of"]) if "as_of" in scores else ds.end
    spine = pd.DataFrame({"customer_id": scores["customer_id"].astype(str).to_numpy(),
                          "cutoff": np.asarray(as_of, dtype="datetime64[ns]")})
    X = uplift.features.transform(ds, spine)
    playbooks = uplift.summary.get("playbooks")
    if playbooks:
        source = "recommended_playbook" if "recommended_playbook" in scores else "action_1"
        if source not in scores:
            raise SchemaError("The uplift model depends on the recommended playbook: the scores "
                              "need a 'recommended_playbook' or 'action_1' column.")
        column = scores[source].astype("string").fillna("(none)").reset_index(drop=True)
        X[PLAYBOOK_FEATURE] = _playbook_codes(column, playbooks)
        key = breakdown_levels(column).to_numpy(dtype=object)  # as measured_effects names them
    else:
        key = np.full(len(scores), ALL_PLAYBOOKS, dtype=object)
    bags = uplift.model.predict_bags(X)
    out = scores.reset_index(drop=True).copy()
    out["uplift"] = bags.mean(axis=0)
    out["uplift_low"], out["uplift_high"] = bags.min(axis=0), bags.max(axis=0)
    cust = ds.customers.set_index(ds.customers["customer_id"].astype(str))
    value = (out["customer_id"].astype(str).map(cust["value"]).astype("float64")
             if "value" in cust else pd.Series(1.0, index=out.index))
    out["value"] = value.to_numpy()
    months = config.scoring.value_horizon_months
    out["expected_saved_value"] = (out["uplift"] * out["value"].fillna(0) * months
                                   - config.uplift.action_cost)
    harm = (out["uplift_high"] < -config.uplift.harm_threshold).to_numpy()  # every bag agrees
    effects = uplift.summary.get("measured_effects") or {}
    if config.uplift.harm_evidence:
        # ... and the experiments show that the customer's playbook harms on average
        harm = harm & np.isin(key, [k for k, e in effects.items() if e["low"] > 0])
    out["do_not_contact"] = harm
    out["do_not_contact_reason"] = [
        _harm_reason(u, lo, hi, len(bags), k, effects.get(k)) if h else ""
        for h, u, lo, hi, k in zip(harm, out["uplift"], out["uplift_low"], out["uplift_high"],
                                   key, strict=True)]
    out = out.sort_values(["do_not_contact", "expected_saved_value"], ascending=[True, False],
                          kind="stable").reset_index(drop=True)
    out["uplift_rank"] = np.arange(1, len(out) + 1)
    return out


def _harm_reason(u: float, lo: float, hi: float, bags: int, playbook: str,
                 effect: Mapping[str, float] | None) -> str:
    text = (f"contact raises the churn probability by {-u:.1%} ({-hi:.1%} to {-lo:.1%} "
            f"across {bags} models): similar customers left more often when contacted")
    if effect is None:
        return text
    who = "customers" if playbook == ALL_PLAYBOOKS else f"customers recommended {playbook!r}"
    n = int(effect["treated"] + effect["control"])
    return (f"{text}; in the experiments, {who} churned {100 * effect['itt']:+.1f} points "
            f"more when contacted (95 % interval {100 * effect['low']:+.1f} to "
            f"{100 * effect['high']:+.1f}, {n:,} customers)")


def write_uplift_list(ranked: pd.DataFrame, path: str | Path) -> Path:
    """Write the uplift-ranked list (CSV or Parquet)."""
    return write_table(ranked, path)
