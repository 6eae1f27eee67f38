"""Read tables from CSV, Parquet or Excel files with clear errors for broken files.

CSV files may be compressed (``.csv.gz``) or zipped (a ``.zip`` holding one file).
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Collection
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
    b"PK\x03\x04": "a ZIP archive or Excel .xlsx workbook that cannot be opened (damaged or "
                   "cut short). Save the sheet as CSV (UTF-8) again",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls workbook. Save the sheet as CSV (UTF-8)",
    b"PK\x05\x06": "an empty ZIP archive. Zip the table's file into it, or point 'path' at "
                   "the file itself",
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
    sheet: str | int | None = None,
    skip: Collection[str] = (),
) -> pd.DataFrame:
    r"""Read one table as strings (CSV) or native types (Parquet, Excel).

    CSV files are read with every column as text, so that parsing (dates,
    numbers, ids) happens in one place with row-level error reporting.

    Parameters
    ----------
    path : path-like
        CSV or Parquet file.
    table : str
        Table name used in error messages.
    format : {"csv", "parquet", "xlsx"}, optional
        Inferred from the suffix when omitted (``.parquet``/``.pq`` → Parquet,
        ``.xlsx``/``.xlsm`` → Excel, else CSV). A gzip-compressed file (``.csv.gz``)
        or a ZIP archive holding one file is unpacked first; a workbook is read
        as Excel whatever its name.
    sep : str, optional
        CSV delimiter; sniffed from the header line when omitted. ``"\\s+"`` reads
        whitespace-separated files.
    encoding : str, optional
        CSV encoding; UTF-8 (with or without a byte-order mark), cp1252 and latin-1
        are tried in turn when omitted.
    names : list of str, optional
        Column names of a CSV file that has no header row.
    sheet : str or int, optional
        Excel workbooks: the sheet's name or 0-based position; default the first.
    skip : collection of str, optional
        Columns never used (a table's ``exclude``), left unread where the format
        reads by column (Parquet).

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
    fmt = format or _format_of(path.name)
    if fmt == "parquet":
        return _read_parquet(path, path, table, skip)
    raw = path.read_bytes()
    if (fmt == "xlsx" and raw.startswith(b"PK\x03\x04")) or _is_workbook(raw):
        return _read_excel(raw, sheet, path, table)
    raw, member = _unpack(raw, path, table)
    if member is not None and _format_of(member) == "parquet":
        return _read_parquet(io.BytesIO(raw), path, table, skip)
    if member is not None and _is_workbook(raw):
        return _read_excel(raw, sheet, path, table)
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
        if '"' in text and delimiter != r"\s+":
            _open_quote(text, delimiter, path, table)
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
    if '"' in text and delimiter != r"\s+" and _spans_lines(frame):
        _open_quote(text, delimiter, path, table)
    frame = _check_columns(frame, [h.strip() for h in header], path, table)
    frame.attrs["path"] = str(path)
    frame.attrs["sep"] = delimiter
    return frame


def _format_of(name: str) -> str:
    """``parquet``, ``xlsx`` or ``csv`` from a file name (``x.csv.gz`` is CSV)."""
    suffix = Path(name.lower().removesuffix(".gz")).suffix
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    return "xlsx" if suffix in {".xlsx", ".xlsm"} else "csv"


def _is_workbook(raw: bytes) -> bool:
    """Whether ``raw`` is an Excel .xlsx workbook (a ZIP archive with an ``xl/`` folder)."""
    if not raw.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            return any(n.startswith("xl/") for n in archive.namelist())
    except zipfile.BadZipFile:
        return False


def _unpack(raw: bytes, path: Path, table: str) -> tuple[bytes, str | None]:
    """The bytes of a gzip-compressed file or of the one file in a ZIP archive.

    Returns the bytes and the archive member's name (None when ``raw`` is not an archive).
    """
    member: str | None = None
    if raw.startswith(b"PK\x03\x04") and zipfile.is_zipfile(io.BytesIO(raw)):
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            files = [i for i in archive.infolist()
                     if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
            if len(files) != 1:
                names = [i.filename for i in files[:5]]
                raise SchemaError(
                    f"Table {table!r}: ZIP archive {path} holds {len(files)} files {names}; "
                    "a zipped table must hold exactly one. Unzip it and point the table's "
                    "'path' at the file to read."
                )
            member = files[0].filename
            try:
                raw = archive.read(files[0])
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, zlib.error) as exc:
                raise SchemaError(
                    f"Table {table!r}: cannot unzip {member!r} from {path} ({exc}). Zip it "
                    "again without a password, or unzip it and point 'path' at the file."
                ) from None
    if raw.startswith(b"\x1f\x8b"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise SchemaError(
                f"Table {table!r}: gzip file {path} is damaged or cut short ({exc}). "
                "Compress the export again, or give it uncompressed."
            ) from None
        member = member or path.name.removesuffix(".gz")
    return raw, member


def _read_parquet(source: Path | io.BytesIO, path: Path, table: str,
                  skip: Collection[str] = ()) -> pd.DataFrame:
    import pyarrow.parquet as pq  # with pandas' Parquet reader

    try:
        columns = None
        if skip:
            names = pq.read_schema(source).names
            if isinstance(source, io.BytesIO):
                source.seek(0)
            unread = set(skip) & set(names)
            columns = [c for c in names if c not in unread] if unread else None
        frame = pd.read_parquet(source, columns=columns)
    except (OSError, ValueError) as exc:
        raise SchemaError(f"Table {table!r}: cannot read Parquet file {path}: {exc}") from None
    return _check_columns(frame, list(frame.columns), path, table)


def _read_excel(raw: bytes, sheet: str | int | None, path: Path, table: str) -> pd.DataFrame:
    """One sheet of an .xlsx workbook, with Excel's own types (numbers, dates, text)."""
    try:
        book = pd.ExcelFile(io.BytesIO(raw), engine="openpyxl")
    except (zipfile.BadZipFile, OSError, ValueError, KeyError) as exc:
        raise SchemaError(
            f"Table {table!r}: cannot open Excel workbook {path} ({exc}). Save it again as "
            ".xlsx, or save the sheet as CSV (UTF-8)."
        ) from None
    sheets = [str(n) for n in book.sheet_names]
    known = sheet is None or (sheet in sheets if isinstance(sheet, str)
                              else 0 <= sheet < len(sheets))
    if not known:
        raise SchemaError(
            f"Table {table!r}: workbook {path} has no sheet {sheet!r}; its sheets are "
            f"{sheets[:20]}. Set the table's 'sheet' key to one of them (a name, or a "
            "position counted from 0)."
        )
    name = sheets[0] if sheet is None else sheet
    head = pd.read_excel(book, sheet_name=name, header=None, nrows=1)
    if head.empty:
        raise SchemaError(
            f"Table {table!r}: sheet {name!r} of {path} is empty. Put the table with its "
            "header row at the top of the sheet, or set the table's 'sheet' key."
        )
    frame = pd.read_excel(book, sheet_name=name, keep_default_na=False, na_values=NA_VALUES)
    header = [str(h).strip() for h in head.iloc[0].tolist()]
    frame = _check_columns(frame, header, path, table)
    frame.attrs["path"] = str(path)
    frame.attrs["excel"] = True
    return frame


def _spans_lines(frame: pd.DataFrame) -> bool:
    """Whether some value holds a line break (only a quoted field can)."""
    columns = (frame.iloc[:, i] for i in range(frame.shape[1]))
    return any(bool(col.astype("string").str.contains("\n", regex=False).any())
               for col in columns if not pd.api.types.is_numeric_dtype(col))


def _open_quote(text: str, delimiter: str, path: Path, table: str) -> None:
    """Raise for a quoted field that is never closed, naming the line where it opens.

    Only a field that *starts* with a quote (after the delimiter, a line break and
    spaces) is quoted; a quote inside an unquoted field (``screen is 27" wide``)
    is an ordinary character, as pandas reads it. A quoted field that runs to
    the end of the file would swallow every later line into one value; so would
    one that runs over line breaks until a quote inside a later field closes it
    (the quote is followed by more text instead of a delimiter).
    """
    d = re.escape(delimiter)
    opening = re.compile(rf'(?m)(?:^|(?<={d}))[ ]*"[^"]*(?:""[^"]*)*("|\Z)')
    for match in opening.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        if not match.group(1):
            raise SchemaError(
                f"Table {table!r}: file {path}, line {line}: a quoted field opens there and is "
                "never closed, so every later line would be read into it. Fix the quotes in the "
                'export (a quote inside a quoted field is written as two quotes: "he said '
                '""no""").'
            )
        after = text[match.end():match.end() + 1]
        if after not in ("", delimiter, "\r", "\n") and "\n" in match.group(0):
            # a quoted field over several lines, closed by a quote inside a later field
            end = line + match.group(0).count("\n")
            start = text.rfind("\n", 0, match.end()) + 1
            stop = text.find("\n", match.end())
            stop = stop if stop >= 0 else len(text)
            where = text[max(start, match.end() - 40):min(stop, match.end() + 20)].rstrip("\r")
            raise SchemaError(
                f"Table {table!r}: file {path}, line {line}: a quoted field opens there and is "
                f"never closed; a quote inside a field on line {end} ({where!r}) ends it, so "
                f"lines {line + 1}-{end} would be read into one value. Fix the quotes in the "
                'export (a quote inside a quoted field is written as two quotes: "he said '
                '""no""").'
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
