"""The customers table: one row per customer, its roles and attributes, duplicates resolved."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from churnkit.config import Config, CustomersTable, SnapshotTable
from churnkit.data._checks import check_case_collisions, check_table_loss
from churnkit.data._links import apply_lookups, column_format, require_config_columns
from churnkit.data._merge import sorted_text
from churnkit.data._parse import infer_type, parse_dates, parse_ids
from churnkit.data._rejects import Rejects
from churnkit.data._table import check_clash, parse_typed, read_source, report_bad_lines
from churnkit.exceptions import SchemaError

__all__ = ["CUSTOMER_ROLES", "customers_from_events", "load_customers"]

CUSTOMER_ROLES = (
    "signup_date", "end_date", "segment", "product", "account_manager", "value", "wallet_share"
)
_ROLE_TYPES = {
    "signup_date": "datetime", "end_date": "datetime", "segment": "categorical",
    "product": "categorical", "account_manager": "categorical", "value": "numeric",
    "wallet_share": "numeric",
}



def _conflicts(out: pd.DataFrame, dup: pd.Series, raw_names: Mapping[str, str]
               ) -> tuple[pd.Series, pd.Series]:
    """Rows of customers whose duplicate rows disagree, and a reason per row naming the columns."""
    block = out[dup.to_numpy()]
    key = block["customer_id"].astype(object)
    text = block.drop(columns="customer_id").astype(object).where(block.notna(), None).astype(str)
    differs = text.groupby(key.to_numpy(), sort=False).nunique(dropna=False).gt(1)
    bad_ids = differs.index[differs.any(axis=1).to_numpy()]
    conflicting = out["customer_id"].isin(bad_ids) & dup
    columns = differs.loc[bad_ids].apply(
        lambda r: ", ".join(raw_names.get(c, c) for c in r.index[r.to_numpy()]), axis=1)
    n_rows = key.value_counts()
    reason = pd.Series("", index=out.index, dtype=object)
    where = conflicting.to_numpy()
    cid = out.loc[where, "customer_id"].astype(object)
    reason[where] = np.array([
        f"customer appears in {n_rows[c]} rows with conflicting values ({columns[c]}); "
        "all its rows dropped (keep one row per customer)" for c in cid
    ], dtype=object)
    return conflicting, reason



def _looks_like_dates(raw: pd.Series) -> bool:
    """Whether a text column holds dates: 99% of its values look like dates and parse.

    Numbers such as ``20240131`` or ``2024`` are left to the other types; the
    few values that are no date are set to missing and reported when parsed.
    """
    if pd.api.types.is_datetime64_any_dtype(raw):
        return True
    if not (raw.dtype == object or pd.api.types.is_string_dtype(raw.dtype)
            or isinstance(raw.dtype, pd.CategoricalDtype)):
        return False
    sample = raw.dropna().astype(str).str.strip()
    sample = sample[sample != ""].iloc[:2000]
    if not len(sample):
        return False
    shaped = sample.str.fullmatch(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T][\d:.]+)?")
    if shaped.mean() < 0.99:
        return False
    _, bad = parse_dates(sample[shaped.to_numpy()])
    return bool(1 - bad.mean() * shaped.mean() >= 0.99)



def load_customers(
    frame: pd.DataFrame, spec: CustomersTable | SnapshotTable, name: str, rejects: Rejects,
    ignored: dict[str, str] | None = None, share: float = 0.5,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Validate the customers (or snapshot) table: the kept rows and the attribute types.

    Rows without an id, with an end before the signup, or of a customer whose
    rows conflict are dropped; identical copies are ignored; unreadable values
    are set to missing; each goes to ``rejects`` with its reason.
    """
    id_col = spec.customer_id
    labels = dict(spec.labels)
    roles: dict[str, str] = {
        r: c for r in CUSTOMER_ROLES if (c := getattr(spec, r, None)) is not None
    }
    churned = getattr(spec, "churned", None)
    needed = [c for c in [id_col, *roles.values(), churned] if c is not None]
    require_config_columns(frame, name, needed, name)
    if frame.empty and not frame.attrs.get("bad_lines"):
        where = f" (file {frame.attrs['path']})" if "path" in frame.attrs else ""
        raise SchemaError(
            f"Table {name!r}{where} has no rows, only a header. Export the table again with its "
            "rows, or point the config at the right file."
        )
    report_bad_lines(frame, name, id_col, rejects)

    if id_col is None:
        ids = pd.Series([str(i) for i in frame.index], index=frame.index, dtype=object)
        missing = pd.Series(False, index=frame.index)
    else:
        ids, missing = parse_ids(frame[id_col])
        check_table_loss(frame, name, {"customer id missing": missing},
                         len(frame.attrs.get("bad_lines") or []), share, name)
        check_case_collisions(ids, frame, name, id_col)
    rejects.add(name, missing, frame, None, id_col or "", None, "missing customer id; row dropped",
                drop=True)
    drop = missing.copy()
    out = pd.DataFrame({"customer_id": ids}, index=frame.index)
    for role, col in roles.items():
        out[role] = parse_typed(frame, name, col, _ROLE_TYPES[role], rejects, ids,
                                 names=labels.get(col),
                                 fmt=column_format(frame, spec, col, name), share=share)
    if churned is not None and "end_date" in out:
        # a churn date of a customer who came back (flag false) is not an end
        gone = parse_typed(frame, name, churned, "boolean", rejects, ids)
        out["end_date"] = out["end_date"].where(gone == 1.0)
    if "end_date" in out and "signup_date" in out:
        bad = out["end_date"].notna() & out["signup_date"].notna() & (
            out["end_date"] < out["signup_date"]
        )
        rejects.add(name, bad & ~drop, frame, ids, roles["end_date"], frame[roles["end_date"]],
                    f"end date before the signup date ({roles['signup_date']}); row dropped",
                    drop=True)
        drop = drop | bad
    if "wallet_share" in out:
        bad = out["wallet_share"].notna() & ~out["wallet_share"].between(0, 1)
        rejects.add(name, bad, frame, ids, roles["wallet_share"], frame[roles["wallet_share"]],
                    "wallet share outside [0, 1]; set to missing")
        out.loc[bad, "wallet_share"] = np.nan
    if "value" in out:  # revenue per month: a value at risk needs a finite amount >= 0
        money = out["value"].to_numpy(dtype="float64", na_value=np.nan)
        for flags, what in ((np.isinf(money), "infinite"), (np.isfinite(money) & (money < 0), "negative")):
            bad_rows = pd.Series(flags, index=out.index)
            rejects.add(name, bad_rows, frame, ids, roles["value"], frame[roles["value"]],
                        f"{what} monthly value; set to missing (no value at risk)")
            out.loc[bad_rows, "value"] = np.nan

    used = {id_col, *roles.values(), *spec.exclude, churned}
    if isinstance(spec, SnapshotTable):
        used.add(spec.label)
    declared = dict(getattr(spec, "attributes", {}) or getattr(spec, "columns", {}))
    attributes: dict[str, str] = {}
    ignored = {} if ignored is None else ignored
    for col in frame.columns:
        if col in used:
            continue
        if col in out.columns:
            check_clash(name, col, name, declared=col in declared)
            continue
        kind = declared.get(col) or ("categorical" if col in labels else infer_type(frame[col]))
        if col not in declared and kind in {"text", "categorical"} and _looks_like_dates(frame[col]):
            kind = "datetime"
        if kind == "text":
            ignored[f"{name}.{col}"] = (
                "free text is not used as a customer attribute (declare it categorical to use "
                "its values, or list it under exclude)")
            continue
        attributes[col] = kind
        out[col] = parse_typed(frame, name, col, kind, rejects, ids, names=labels.get(col),
                                fmt=column_format(frame, spec, col, name),
                                share=share if col in declared else None)

    # duplicates among the kept rows: identical rows collapse; conflicting rows drop the customer
    kept_ids = out["customer_id"].where(~drop)
    if not drop.any() and sorted_text(kept_ids.to_numpy(dtype=object)) is not None:
        dup = pd.Series(False, index=out.index)  # strictly increasing ids: none repeats
    else:
        dup = kept_ids.duplicated(keep=False) & ~drop
    extra = pd.Series(False, index=out.index)
    if dup.any():
        raw_names = {**roles, **{c: c for c in attributes}}
        conflicting, reason = _conflicts(out, dup, raw_names)
        rejects.add(name, conflicting, frame, ids, id_col or "", frame[id_col] if id_col else None,
                    reason.to_numpy(), drop=True)
        extra = dup & ~conflicting & kept_ids.where(~conflicting).duplicated(keep="first")
        rejects.add(name, extra, frame, ids, id_col or "", frame[id_col] if id_col else None,
                    "same customer id and values as an earlier row; this copy ignored "
                    "(the customer is kept)", drop=True)
        drop = drop | conflicting | extra
    # a customer with a row set aside and other rows: which row is right is unknown
    gone = drop & ~missing & ~extra
    gone_ids = out["customer_id"][gone].unique() if gone.any() else np.array([], dtype=object)
    orphan = (~drop & out["customer_id"].isin(gone_ids) if len(gone_ids)
              else pd.Series(False, index=out.index))
    rejects.add(name, orphan, frame, ids, id_col or "", frame[id_col] if id_col else None,
                "another row of this customer was rejected (see its reject line); row dropped",
                drop=True)
    drop = drop | orphan
    return out[~drop.to_numpy()], attributes



def customers_from_events(
    config: Config, name: str, tables: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """A customers table derived from an event table: its ids and first-event dates."""
    spec = config.data.events[name]
    frame = read_source(config, spec, name, tables)
    require_config_columns(frame, name, [spec.customer_id], f"events.{name}")
    ids, missing = parse_ids(frame[spec.customer_id])
    if spec.lookup:  # rows that cannot be linked are reported when the table itself loads
        frame, ids, unlinked = apply_lookups(frame, ids, missing, spec, name, config, tables,
                                             Rejects())
        missing = missing | unlinked
    require_config_columns(frame, name, [spec.timestamp], f"events.{name}")
    ts, _ = parse_dates(frame[spec.timestamp],
                        column_format(frame, spec, spec.timestamp, f"events.{name}"))
    keep = ~missing.to_numpy()
    first = pd.Series(ts.to_numpy()[keep]).groupby(ids.to_numpy()[keep], sort=True).min()
    cust = config.data.customers
    assert cust is not None
    return pd.DataFrame({cust.customer_id: first.index.astype(str),
                         cust.signup_date or "signup_date": first.to_numpy()})

