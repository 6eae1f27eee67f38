"""The rejects table: every input row or value set aside while loading, with its reason."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["REJECT_COLUMNS", "Rejects", "rejected_customers"]

REJECT_COLUMNS = ["table", "row", "customer_id", "column", "value", "reason"]


class Rejects:
    """Collects rejected rows across tables.

    Two kinds of lines: a *dropped* row (the whole row is set aside) and a
    *value* of a kept row that was set to missing. A row gets one line: the
    first reason it is dropped for; value lines of dropped rows are left out.
    """

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(
        self,
        table: str,
        mask: pd.Series,
        frame: pd.DataFrame,
        ids: pd.Series | None,
        column: str,
        raw: pd.Series | None,
        reason: str | np.ndarray,
        *,
        drop: bool = False,
    ) -> None:
        """Add a line per row of ``frame`` where ``mask``; ``drop`` marks the row as set aside.

        ``reason`` is one text, or one per row of ``frame``.
        """
        mask_arr = np.asarray(mask, dtype=bool)
        if not mask_arr.any():
            return
        idx = np.flatnonzero(mask_arr)
        self.parts.append(
            pd.DataFrame(
                {
                    "table": table,
                    "row": frame.index.to_numpy()[idx],
                    "customer_id": (_objects(ids.iloc[idx]) if ids is not None else None),
                    "column": column,
                    "value": (raw.iloc[idx].astype(object).to_numpy() if raw is not None else None),
                    "reason": reason if isinstance(reason, str) else np.asarray(reason)[idx],
                    "_drop": drop,
                }
            )
        )

    def dropped_ids(self, table: str) -> set[Any]:
        """Customer ids of the rows of ``table`` set aside so far."""
        ids: set[Any] = set()
        for part in self.parts:
            if part["table"].iloc[0] == table and part["_drop"].iloc[0]:
                ids.update(v for v in part["customer_id"] if v is not None)
        return ids

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(columns=REJECT_COLUMNS)
        out = pd.concat(self.parts, ignore_index=True)
        drop = out["_drop"].to_numpy(dtype=bool)
        key = pd.MultiIndex.from_arrays([out["table"].astype(object), out["row"].astype(object)])
        dropped = key[drop]
        first = ~dropped.duplicated()
        keep = np.zeros(len(out), dtype=bool)
        keep[np.flatnonzero(drop)[first]] = True  # one line per dropped row
        keep[~drop] = ~key[~drop].isin(dropped)  # values only of kept rows
        out = out[keep].reset_index(drop=True)
        out["value"] = out["value"].astype(object).map(_text)
        return out[REJECT_COLUMNS]


def _text(value: Any) -> str | None:
    """A rejected value as text: missing as None, long values cut to 200 characters."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value)
    return text if len(text) <= 200 else f"{text[:200]}… ({len(text):,} characters)"


_SET_ASIDE = r"rows? dropped|not scored"


def rejected_customers(rejects: pd.DataFrame) -> pd.Index:
    """Distinct ids of the customers set aside: rows of the customers (or snapshot) table dropped.

    Value-level lines (a value set to missing on a kept row), ignored identical
    copies and event rows do not count. With the scores of a run, every input
    customer id is in exactly one of the two.

    Examples
    --------
    >>> import pandas as pd
    >>> rej = pd.DataFrame({"table": ["customers", "customers", "contacts"],
    ...     "row": [3, 4, 9], "customer_id": ["c3", "c4", "c1"], "column": "", "value": None,
    ...     "reason": ["missing signup; set to missing", "conflicting values; all its rows dropped",
    ...                "unparseable timestamp; row dropped"]})
    >>> list(rejected_customers(rej))
    ['c4']
    """
    if not len(rejects):
        return pd.Index([], dtype=object, name="customer_id")
    table = rejects["table"].isin(["customers", "snapshot"])
    gone = rejects["reason"].astype(str).str.contains(_SET_ASIDE, regex=True)
    ids = rejects.loc[(table & gone).to_numpy(), "customer_id"].dropna()
    return pd.Index(ids.astype(str).unique(), dtype=object, name="customer_id")



def _objects(values: pd.Series) -> np.ndarray:
    """Values as an object array with None for missing (ids may be a ``category``)."""
    out = values.to_numpy(dtype=object, copy=True)
    out[pd.isna(out)] = None
    return out
