"""Read tables from CSV or Parquet files with clear errors for broken files."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from churnkit.exceptions import SchemaError

__all__ = ["ENCODINGS", "NA_VALUES", "read_table", "sniff_bytes", "sniff_delimiter"]

ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
"""Encodings tried in turn when a CSV file's encoding is not given."""
_DELIMITERS = (",", ";", "\t", "|")
NA_VALUES = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"]
_SIGNATURES = {
    b"PK\x03\x04": "a ZIP archive (an Excel .xlsx workbook?). Save the sheet as CSV (UTF-8)",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls workbook. Save the sheet as CSV (UTF-8)",
    b"PAR1": "a Parquet file. Set the table's 'format: parquet' or name the file *.parquet",
}


def sniff_bytes(head: bytes, path: Path, table: str) -> str | None:
    """From a file's first bytes: refuse what is no text table, or say it is UTF-16.

    Returns ``"utf-16"`` for a UTF-16 byte-order mark, else None; raises for an
    Excel workbook, a Parquet file, a ZIP archive or a binary file (NUL bytes).
    """
    for magic, what in _SIGNATURES.items():
        if head.startswith(magic):
            raise SchemaError(f"Table {table!r}: file {path} is {what}.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if b"\x00" in head[:4096]:
        raise SchemaError(
            f"Table {table!r}: file {path} holds NUL bytes: it is a binary file or a UTF-16/32 "
            "text without a byte-order mark. Export it as CSV in UTF-8, or set the table's "
            "'encoding' key (e.g. 'utf-16-le')."
        )
    return None


def _decode(raw: bytes, path: Path, encoding: str | None, table: str) -> tuple[str, str]:
    if encoding is None:
        encoding = sniff_bytes(raw, path, table)
    if encoding is not None:
        try:
            return raw.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise SchemaError(
                f"Table {table!r}: cannot decode file {path} as {encoding!r} ({exc}). "
                "Set the table's 'encoding' key to the file's real encoding, e.g. 'cp1252'."
            ) from None
    for enc in ENCODINGS:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise SchemaError(  # pragma: no cover - latin-1 decodes any bytes
        f"Table {table!r}: cannot decode file {path}; set the table's 'encoding' key."
    )


def sniff_delimiter(header: str) -> str:
    """The delimiter (``,`` ``;`` tab ``|``) used most often in a CSV header line; ``,`` if none."""
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def read_table(
    path: str | Path,
    *,
    table: str,
    format: str | None = None,
    sep: str | None = None,
    encoding: str | None = None,
    names: list[str] | None = None,
) -> pd.DataFrame:
    r"""Read one table as strings (CSV) or native types (Parquet).

    CSV files are read with every column as text, so that parsing (dates,
    numbers, ids) happens in one place with row-level error reporting.

    Parameters
    ----------
    path : path-like
        CSV or Parquet file.
    table : str
        Table name used in error messages.
    format : {"csv", "parquet"}, optional
        Inferred from the suffix when omitted (``.parquet``/``.pq`` → Parquet, else CSV).
    sep : str, optional
        CSV delimiter; sniffed from the header line when omitted. ``"\\s+"`` reads
        whitespace-separated files.
    encoding : str, optional
        CSV encoding; UTF-8 (with or without a byte-order mark), cp1252 and latin-1
        are tried in turn when omitted.
    names : list of str, optional
        Column names of a CSV file that has no header row.

    Returns
    -------
    pandas.DataFrame
    """
    path = Path(path)
    if not path.is_file():
        what = ("is a folder, not a file" if path.is_dir() else
                "is not a regular file (a device, pipe or socket)" if path.exists() else
                "does not exist")
        raise SchemaError(f"Table {table!r}: file {str(path)!r} {what}. Check its 'path'.")
    fmt = format or ("parquet" if path.suffix.lower() in {".parquet", ".pq"} else "csv")
    if fmt == "parquet":
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise SchemaError(f"Table {table!r}: cannot read Parquet file {path}: {exc}") from None
        return _check_columns(frame, list(frame.columns), path, table)

    raw = path.read_bytes()
    text, _ = _decode(raw, path, encoding, table)
    if not text.strip():
        raise SchemaError(
            f"Table {table!r}: file {path} is empty. Export the table again with a header row."
        )
    header_line = text.split("\n", 1)[0].rstrip("\r")
    delimiter = sep or sniff_delimiter(header_line)
    if text.count('"') % 2 and delimiter != r"\s+":
        _open_quote(text, delimiter, path, table)
    if names is not None:
        header = list(names)
    elif delimiter == r"\s+":
        header = header_line.split()
    else:
        header = next(csv.reader([header_line], delimiter=delimiter))
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_values=NA_VALUES,
            skipinitialspace=True,
            header=None if names is not None else 0,
            names=names,
            engine="python" if delimiter == r"\s+" else "c",
        )
    except pd.errors.ParserError as exc:
        if names is not None or delimiter == r"\s+":
            raise SchemaError(
                f"Table {table!r}: cannot parse {path} as CSV with delimiter {delimiter!r}: {exc}. "
                "Set the table's 'sep' key (e.g. ';' or '\\t') if the file uses another delimiter."
            ) from None
        frame = _read_ragged(text, delimiter, path, table)
    except ValueError as exc:
        raise SchemaError(
            f"Table {table!r}: cannot parse {path} as CSV with delimiter {delimiter!r}: {exc}. "
            "Set the table's 'sep' key (e.g. ';' or '\\t') if the file uses another delimiter."
        ) from None
    frame = _check_columns(frame, [h.strip() for h in header], path, table)
    frame.attrs["path"] = str(path)
    return frame


def _open_quote(text: str, delimiter: str, path: Path, table: str) -> None:
    """Raise for a quoted field that is never closed (an odd number of quote characters).

    Such a field swallows every later line into one value, so the rows after it
    would be lost without a trace.
    """
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    start = 1
    try:
        for _ in reader:
            start = reader.line_num + 1
    except csv.Error:
        pass
    raise SchemaError(
        f"Table {table!r}: file {path}, line {start}: a quoted field is never closed, so every "
        "later line would be read into it. Fix the quotes in the export (a quote inside a "
        'field is written as two quotes: "he said ""no""").'
    )


def _read_ragged(text: str, delimiter: str, path: Path, table: str) -> pd.DataFrame:
    """Read a CSV whose rows do not all have the header's number of fields.

    The rows that do are kept (indexed by their data-row number, so row labels
    still point into the file); the others are listed in ``attrs["bad_lines"]``
    as ``(row, fields)`` for the rejects table. A quoted field left open (which
    swallows every later line) is a table-level error instead.
    """
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
    header = next(reader)
    width = len(header)
    good: list[list[str]] = []
    index: list[int] = []
    bad: list[tuple[int, list[str]]] = []
    row = 0
    for record in reader:
        if not record:  # blank line: skipped, as pandas does
            continue
        if len(record) == width:
            good.append(record)
            index.append(row)
        else:
            if any("\n" in field for field in record):
                raise SchemaError(
                    f"Table {table!r}: file {path}, data row {row}: a quoted field is never closed "
                    f"(it runs over {sum(f.count(chr(10)) for f in record)} line breaks). Fix the "
                    "quotes in the export (a quote inside a field is written as two quotes)."
                )
            bad.append((row, record))
        row += 1
    frame = pd.DataFrame(good, columns=range(width), index=pd.Index(index, dtype=np.int64),
                         dtype=object)
    frame = frame.where(~frame.isin(NA_VALUES), np.nan)
    frame.attrs["bad_lines"] = bad
    frame.attrs["header"] = header
    return frame


def _check_columns(frame: pd.DataFrame, header: list[str], path: Path, table: str) -> pd.DataFrame:
    dup = sorted(name for name, n in Counter(header).items() if n > 1)
    if dup:
        raise SchemaError(
            f"Table {table!r}: file {path} has duplicate column name(s) {dup}. "
            "Rename them so each column name is unique."
        )
    if len(header) == len(frame.columns):
        frame.columns = header
    if len(frame.columns) == 1 and len(frame) > 0:
        only = str(frame.columns[0])
        if any(d in only for d in (";", "\t", "|", ",")):
            raise SchemaError(
                f"Table {table!r}: file {path} was read as a single column {only!r}; "
                "the delimiter is probably wrong. Set the table's 'sep' key."
            )
    return frame
