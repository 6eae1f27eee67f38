"""A fast writer of the at-risk workbook: column-wise SpreadsheetML, one zip.

The at-risk lists hold up to hundreds of thousands of rows. Spreadsheet
libraries write them cell by cell in Python (XlsxWriter's constant-memory mode
took 12-17 s for 77k rows x 13 columns, openpyxl 30 s); this module builds
each column's cell XML for all rows at once with array operations and writes
the parts of a minimal workbook package: content types, relationships,
workbook (sheets, print titles, filter ranges), styles and one worksheet per
sheet with a frozen, filtered, styled header row. The parts follow what
XlsxWriter writes, less the optional document properties and theme.

Text is always written as text (an inline string), never as a formula;
characters XML cannot hold are written as Excel's ``_xHHHH_`` escapes.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Sheet", "column_letter", "write_workbook"]

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# characters XML 1.0 cannot hold, and a literal "_x" escape that Excel would decode
_BAD_CHARS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"
_BAD_XML = re.compile(_BAD_CHARS + r"|_(?=x[0-9A-Fa-f]{4}_)")
# the same test for Arrow's regular expressions (RE2: no look-ahead, \x{...} escapes)
_BAD_XML_ANY = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{FFFE}\x{FFFF}]|_x[0-9A-Fa-f]{4}_"
# text starting or ending in white space keeps it only with xml:space="preserve"
_SPACE = r"[\s\v\x1c-\x1f\x85\p{Z}]"
_EDGE_SPACE = f"^{_SPACE}|{_SPACE}$"


@dataclass
class Sheet:
    """One worksheet: a name, a header row and the column values.

    ``columns`` holds one sequence per column (text, numbers or missing);
    ``styles`` the style of each column's cells, ``row_styles`` optional
    per-row styles of a column (``{column: array of style ids}``, -1: the
    column's style).
    """

    name: str
    header: list[str]
    columns: list[Any]
    widths: list[float]
    styles: list[int]
    row_styles: dict[int, np.ndarray] = field(default_factory=dict)


def column_letter(i: int) -> str:
    """Excel's letters of the 0-based column ``i``.

    Examples
    --------
    >>> column_letter(0), column_letter(12), column_letter(26), column_letter(701)
    ('A', 'M', 'AA', 'ZZ')
    """
    letters = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _excel_escapes(text: str) -> str:
    """``text`` with the characters XML cannot hold written as ``_xHHHH_``."""
    return _BAD_XML.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def _escape(text: str) -> str:
    """``text`` escaped for an XML element's content (see module docstring)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _excel_escapes(text)


def _attr(text: str) -> str:
    return _escape(text).replace('"', "&quot;")


def _text_cells(values: np.ndarray, refs: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Inline-string cells for the text ``values`` (object array of str)."""
    arr = pa.array(values, type=pa.string(), from_pandas=True)
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        arr = pc.replace_substring(arr, char, entity)
    odd = pc.match_substring_regex(arr, _BAD_XML_ANY).to_numpy(zero_copy_only=False)
    space = pc.match_substring_regex(arr, _EDGE_SPACE).to_numpy(zero_copy_only=False)
    texts = arr.to_numpy(zero_copy_only=False).astype(object)
    if odd.any():
        texts[odd] = [_excel_escapes(t) for t in texts[odd]]
    open_t = np.where(space, '<t xml:space="preserve">', "<t>").astype(object)
    return ('<c r="' + refs + '" s="' + style + '" t="inlineStr"><is>' + open_t + texts
            + "</t></is></c>")


def _number_cells(values: np.ndarray, refs: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Number cells for the finite float ``values`` (shortest round-trip text)."""
    text = np.array([repr(float(v)) for v in values], dtype=object) if len(values) else \
        np.empty(0, dtype=object)
    return '<c r="' + refs + '" s="' + style + '"><v>' + text + "</v></c>"


def _sheet_data(sheet: Sheet) -> str:
    """The ``<row>`` elements of the data rows (the header is row 1)."""
    n = len(sheet.columns[0]) if sheet.columns else 0
    if not n:
        return ""
    rows = np.arange(2, n + 2).astype(str).astype(object)
    line = np.full(n, "", dtype=object)
    for j, values in enumerate(sheet.columns):
        arr = np.asarray(values, dtype=object)
        present = ~pd.isna(arr)
        style = np.full(n, str(sheet.styles[j]), dtype=object)
        if j in sheet.row_styles:
            own = np.asarray(sheet.row_styles[j])
            style = np.where(own >= 0, own.astype(str), style).astype(object)
        kind = pd.api.types.infer_dtype(arr[present], skipna=False)
        if kind == "string":
            text = present
        elif kind in ("floating", "integer", "mixed-integer-float", "boolean", "empty"):
            text = np.zeros(n, dtype=bool)
        else:
            text = present & np.array([isinstance(v, str) for v in arr], dtype=bool)
        number = present & ~text
        cells = np.full(n, "", dtype=object)
        refs = column_letter(j) + rows
        if text.any():
            cells[text] = _text_cells(arr[text], refs[text], style[text])
        if number.any():
            nums = arr[number]
            try:
                vals = nums.astype(np.float64)
            except (TypeError, ValueError):  # neither text nor a number: write its text
                cells[number] = _text_cells(nums.astype(str).astype(object), refs[number],
                                            style[number])
            else:
                finite = np.isfinite(vals)
                sub = np.flatnonzero(number)
                cells[sub[finite]] = _number_cells(vals[finite], refs[number][finite],
                                                   style[number][finite])
        line = line + cells
    return "".join(('<row r="' + rows + '">' + line + "</row>").tolist())


def _worksheet(sheet: Sheet, header_style: int, selected: bool) -> str:
    n_cols = len(sheet.header)
    last = column_letter(n_cols - 1)
    n_rows = (len(sheet.columns[0]) if sheet.columns else 0) + 1
    cols = "".join(f'<col min="{i + 1}" max="{i + 1}" width="{w + 0.7109375}" customWidth="1"/>'
                   for i, w in enumerate(sheet.widths))
    head = "".join(f'<c r="{column_letter(i)}1" s="{header_style}" t="inlineStr"><is><t>'
                   f"{_escape(h)}</t></is></c>" for i, h in enumerate(sheet.header))
    tab = 'tabSelected="1" ' if selected else ""
    return (
        f'{_HEAD}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
        f'<dimension ref="A1:{last}{n_rows}"/>'
        f'<sheetViews><sheetView {tab}workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft"/></sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols>'
        f'<sheetData><row r="1">{head}</row>{_sheet_data(sheet)}</sheetData>'
        f'<autoFilter ref="A1:{last}{max(n_rows, 2)}"/>'
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
        'footer="0.3"/></worksheet>'
    )


def _quoted(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _workbook(sheets: Sequence[Sheet]) -> str:
    entries = "".join(f'<sheet name="{_attr(s.name)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>'
                      for i, s in enumerate(sheets))
    names = []
    for i, s in enumerate(sheets):
        last = column_letter(len(s.header) - 1)
        rows = max(len(s.columns[0]) if s.columns else 0, 1) + 1
        names.append(f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
                     f"{_escape(_quoted(s.name))}!$A$1:${last}${rows}</definedName>")
        names.append(f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">'
                     f"{_escape(_quoted(s.name))}!$1:$1</definedName>")
    return (f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><workbookPr/>'
            '<bookViews><workbookView/></bookViews>'
            f"<sheets>{entries}</sheets><definedNames>{''.join(names)}</definedNames>"
            '<calcPr calcId="124519"/></workbook>')


def _content_types(n: int) -> str:
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(n))
    return (
        f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        f"{sheets}</Types>"
    )


def _relationships(n: int) -> str:
    kind = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
    rels = "".join(f'<Relationship Id="rId{i + 1}" Type="{kind}worksheet" '
                   f'Target="worksheets/sheet{i + 1}.xml"/>' for i in range(n))
    rels += f'<Relationship Id="rId{n + 1}" Type="{kind}styles" Target="styles.xml"/>'
    return f'{_HEAD}<Relationships xmlns="{_PKG_REL}">{rels}</Relationships>'


_ROOT_RELS = (
    f'{_HEAD}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)


def write_workbook(path: Path, sheets: Sequence[Sheet], styles: str) -> None:
    """Write ``sheets`` to the .xlsx file ``path`` with the ``styles.xml`` part ``styles``.

    Style ids in the sheets index ``styles``' ``cellXfs``; the header row uses
    id 1. The file is the same for the same sheets (fixed zip timestamps).
    """
    parts = {
        "[Content_Types].xml": _content_types(len(sheets)),
        "_rels/.rels": _ROOT_RELS,
        "xl/workbook.xml": _workbook(sheets),
        "xl/_rels/workbook.xml.rels": _relationships(len(sheets)),
        "xl/styles.xml": styles,
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for name, text in parts.items():
            book.writestr(zipfile.ZipInfo(name, (2000, 1, 1, 0, 0, 0)), text.encode("utf-8"),
                          compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
        for i, sheet in enumerate(sheets):
            book.writestr(zipfile.ZipInfo(f"xl/worksheets/sheet{i + 1}.xml", (2000, 1, 1, 0, 0, 0)),
                          _worksheet(sheet, 1, i == 0).encode("utf-8"),
                          compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
