"""Table-level checks: a table or column that would be lost, and ids that differ only by case.

Rows and values that cannot be used go to the rejects table one by one. When
most of a table or of a column goes there, the cause is the table (a wrong
column mapped, dates in an unexpected format, an id column left empty by the
export), not a few bad rows: the run stops with one message naming the table,
the column, the file and the fix, rather than carrying on without the data.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churnkit.exceptions import SchemaError

__all__ = ["check_case_collisions", "check_column_loss", "check_table_loss", "match_case"]

_FIX = {
    "datetime": "Set the table's 'date_format' key (e.g. '%d.%m.%Y' or DMY), or export the dates "
                "as ISO 8601 (2024-03-31)",
    "numeric": "Set the table's 'decimal' key (',' or '.') if the numbers use another decimal "
               "mark, or declare the column 'categorical' if it holds no numbers",
    "boolean": "Write it as true/false, yes/no or 1/0, or declare the column 'categorical'",
}


def _file(frame: pd.DataFrame) -> str:
    return f" of file {frame.attrs['path']}" if "path" in frame.attrs else ""


def check_column_loss(
    frame: pd.DataFrame, table: str, column: str, kind: str, parsed: pd.Series, bad: pd.Series,
    share: float,
) -> None:
    """Raise when more than ``share`` of a column's present values cannot be read as ``kind``.

    A column whose values are all missing is no error (it carries nothing); a
    column whose values are present but unreadable would silently become empty.
    ``share = 1`` turns the check off.
    """
    n_bad = int(np.count_nonzero(bad.to_numpy(dtype=bool)))
    if not n_bad:
        return
    present = int((bad | parsed.notna()).sum())
    if n_bad <= share * present:
        return
    first = int(bad.to_numpy(dtype=bool).argmax())
    row = frame.index[first]
    example = str(frame[column].iloc[first])[:60]
    raise SchemaError(
        f"Table {table!r}: column {column!r}{_file(frame)}: {n_bad:,} of {present:,} values "
        f"({n_bad / present:.0%}) cannot be read as {kind} (e.g. {example!r} at row {row}), "
        f"more than data.max_rejected_share ({share:.0%}), so the column would be lost. "
        f"{_FIX.get(kind, 'Check which column the config maps here')}."
    )


def check_table_loss(
    frame: pd.DataFrame, table: str, causes: Mapping[str, pd.Series], extra: int, share: float,
    key: str,
) -> None:
    """Raise when more than ``share`` of a table's rows cannot be used (``share = 1``: never).

    ``causes`` maps a description (``"customer_id missing"``) to the mask of the
    rows dropped for it; ``extra`` counts rows dropped before parsing (lines
    with the wrong number of fields).
    """
    total = len(frame) + extra
    lost = np.zeros(len(frame), dtype=bool)
    for mask in causes.values():
        lost |= mask.to_numpy(dtype=bool)
    n_lost = int(lost.sum()) + extra
    if not n_lost or n_lost <= share * total:
        return
    parts = [f"{what} in {int(mask.sum()):,} rows" for what, mask in causes.items() if mask.any()]
    if extra:
        parts.append(f"a wrong number of fields in {extra:,} lines")
    first = next((what for what, mask in causes.items() if mask.any()), "")
    fix = (f"Check that data.{key}.customer_id names the id column and that the export filled "
           "it" if "id" in first.split() else
           f"Set data.{key}.date_format (e.g. '%d.%m.%Y %H:%M') or export the timestamps as "
           "ISO 8601 (2024-03-31T14:05:00)" if "timestamp" in first else
           f"Check the delimiter (data.{key}.sep) and the quotes of the export")
    raise SchemaError(
        f"Table {table!r}{_file(frame)}: {n_lost:,} of {total:,} rows ({n_lost / total:.0%}) "
        f"cannot be used ({'; '.join(parts)}), more than data.max_rejected_share "
        f"({share:.0%}), so the table would be lost. {fix}."
    )


def _fold(values: pd.Index) -> pd.Index:
    """Ids without case: ``casefold``, which is ``lower`` on ASCII text (done vectorised)."""
    text = pd.Series(values.astype(str), dtype="string")
    if len(text) and not bool(text.str.contains(r"[^\x00-\x7f]", regex=True).any()):
        return pd.Index(text.str.lower().to_numpy(dtype=object), dtype=object)
    return pd.Index(values.astype(str).str.casefold(), dtype=object)


def _no_case_clash(ids: pd.Series) -> bool:
    """True when the ids are ASCII and none has a lower-case letter (or none an upper-case one).

    Lower-casing is then one-to-one on them, so no two can differ only by case:
    two scans of the text instead of hashing every id. False means "look closer".

    Examples
    --------
    >>> _no_case_clash(pd.Series(["C001", "C002"])), _no_case_clash(pd.Series(["C001", "c2"]))
    (True, False)
    """
    try:
        text = pa.array(ids.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return False
    if not len(text) or not pc.all(pc.string_is_ascii(text)).as_py():
        return False
    return any(pc.all(pc.equal(change(text), text)).as_py()
               for change in (pc.ascii_upper, pc.ascii_lower))


def check_case_collisions(ids: pd.Series, frame: pd.DataFrame, table: str, column: str) -> None:
    """Raise when two ids of the customers table differ only by upper/lower case.

    Ids are case-sensitive in several CRMs (``C000013`` and ``c000013`` may be two
    accounts), so churnkit neither merges them nor keeps them as two customers
    without asking.
    """
    present = ids.dropna()
    if _no_case_clash(present):
        return
    distinct = pd.Index(present.unique(), dtype=object)
    folded = _fold(distinct)
    clash = folded.duplicated(keep=False)
    if not clash.any():
        return
    groups = pd.Series(distinct[clash], index=folded[clash]).groupby(level=0, sort=False)
    pairs = [sorted(g.tolist()) for _, g in groups][:5]
    first = pairs[0]
    rows = present.index[present.isin(first)].tolist()[:5]
    raise SchemaError(
        f"Table {table!r}: column {column!r}{_file(frame)} has {groups.ngroups} id(s) written "
        f"in several cases, e.g. {' and '.join(map(repr, first))} (rows {rows}); all: {pairs}. "
        "Ids are compared exactly, so these would be different customers. Write each "
        "customer's id one way in every table (or give the two customers distinct ids)."
    )


def match_case(unknown: pd.Index, known: pd.Index) -> pd.Series:
    """For ids not in ``known``: the known id equal up to case (missing when none)."""
    if not len(unknown) or not len(known):
        return pd.Series([None] * len(unknown), index=unknown, dtype=object)
    lookup = pd.Series(np.asarray(known, dtype=object), index=_fold(known))
    lookup = lookup[~lookup.index.duplicated(keep=False)]
    return pd.Series(lookup.reindex(_fold(unknown)).to_numpy(dtype=object), index=unknown,
                     dtype=object)
