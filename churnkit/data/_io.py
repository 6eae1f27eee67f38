"""Read tables from CSV or Parquet files with clear errors for broken files."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pandas as pd

from churnkit.exceptions import SchemaError

__all__ = ["read_table"]

_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
_DELIMITERS = (",", ";", "\t", "|")


def _decode(raw: bytes, path: Path, encoding: str | None) -> tuple[str, str]:
    if encoding is not None:
        try:
            return raw.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise SchemaError(
                f"{path}: cannot decode the file as {encoding!r} ({exc}). "
                "Set the table's 'encoding' key to the file's real encoding, e.g. 'cp1252'."
            ) from None
    for enc in _ENCODINGS:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise SchemaError(f"{path}: cannot decode the file; set the table's 'encoding' key.")


def _sniff_delimiter(header: str) -> str:
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
        raise SchemaError(f"Table {table!r}: file {str(path)!r} does not exist. Check its 'path'.")
    fmt = format or ("parquet" if path.suffix.lower() in {".parquet", ".pq"} else "csv")
    if fmt == "parquet":
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise SchemaError(f"Table {table!r}: cannot read Parquet file {path}: {exc}") from None
        return _check_columns(frame, list(frame.columns), path, table)

    raw = path.read_bytes()
    text, _ = _decode(raw, path, encoding)
    if not text.strip():
        raise SchemaError(
            f"Table {table!r}: file {path} is empty. Export the table again with a header row."
        )
    header_line = text.split("\n", 1)[0].rstrip("\r")
    delimiter = sep or _sniff_delimiter(header_line)
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
            na_values=["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"],
            skipinitialspace=True,
            header=None if names is not None else 0,
            names=names,
            engine="python" if delimiter == r"\s+" else "c",
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise SchemaError(
            f"Table {table!r}: cannot parse {path} as CSV with delimiter {delimiter!r}: {exc}. "
            "Set the table's 'sep' key (e.g. ';' or '\\t') if the file uses another delimiter."
        ) from None
    return _check_columns(frame, [h.strip() for h in header], path, table)


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
