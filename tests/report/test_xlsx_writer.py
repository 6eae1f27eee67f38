"""The at-risk workbook writer: well-formed parts, text kept as text, numbers and styles exact."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pandas as pd
from openpyxl import load_workbook

from churnkit.actions import AT_RISK_COLUMNS
from churnkit.report import write_at_risk_lists
from churnkit.report._at_risk import _styles
from churnkit.report._xlsx import Sheet, write_workbook

STYLES = _styles("€")
AWKWARD = ["tab\there", "bell\x07ring", " leading space", "trailing ", "a_x0041_b",
           "<b>&amp;</b>", "=1+1", "line\nbreak", "ünïcödé €"]


def _excel_text(text):
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def test_awkward_text_and_numbers_round_trip(tmp_path):
    numbers = [0.1 + 0.2, 1e-7, -123456789.125, np.nan, 3.0, np.inf, 2.5, 0.0, 1e300]
    sheet = Sheet("Odd 'name' & <co>", ["text", "number"], [AWKWARD, numbers], [10, 12], [0, 0])
    path = tmp_path / "book.xlsx"
    write_workbook(path, [sheet], STYLES)
    with zipfile.ZipFile(path) as book:
        for name in book.namelist():
            ET.fromstring(book.read(name))  # every part is well-formed XML
    ws = load_workbook(path)["Odd 'name' & <co>"]
    got = [(r[0].value, r[1].value, r[0].data_type) for r in ws.iter_rows(min_row=2)]
    # as Excel reads them: _xHHHH_ escapes decoded (openpyxl leaves them in inline strings)
    assert [_excel_text(g[0]) for g in got] == AWKWARD
    assert all(g[2] == "s" for g in got)  # "=1+1" stays text
    expected = [None if not np.isfinite(v) else v for v in numbers]
    assert [g[1] for g in got] == expected  # exact: shortest round-trip text of each float
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:B10"


def test_the_same_lists_give_the_same_file(tmp_path):
    frame = pd.DataFrame({c: ["x"] * 3 for c in AT_RISK_COLUMNS})
    frame["churn_probability"], frame["value_at_risk"] = [0.9, 0.5, 0.1], [10.0, 5.0, np.nan]
    frame["risk_band"] = ["high", "medium", "low"]
    a = write_at_risk_lists(frame, tmp_path / "a")["xlsx"].read_bytes()
    b = write_at_risk_lists(frame, tmp_path / "b")["xlsx"].read_bytes()
    assert a == b
    ws = load_workbook(tmp_path / "a" / "at_risk.xlsx").active
    fills = [ws[f"D{r}"].fill.fgColor.rgb for r in (2, 3, 4)]
    assert len(set(fills)) == 3  # one colour per band
    assert ws["E4"].value is None
    assert ws["E2"].value == 10.0
