"""At-risk lists: CSV, one XLSX sheet per manager, a self-contained HTML page each."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from churnkit.actions import AT_RISK_COLUMNS, build_at_risk
from churnkit.exceptions import SchemaError
from churnkit.report import excel_sheet_name, write_at_risk_lists

EVIL = "<script>alert('x')</script>"
LONG = "Regional Sales: North/East [Key Accounts] Team"


@pytest.fixture
def at_risk() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 40
    ids = [f"C{i:03d}" for i in range(n)]
    managers = np.array(["Ana Silva", "Bo Chen", EVIL, LONG, LONG + " 2", None], dtype=object)
    scores = pd.DataFrame(
        {"customer_id": ids, "as_of": "2024-06-30", "churn_probability": rng.uniform(0, 1, n)}
    )
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "account_manager": managers[np.arange(n) % len(managers)],
            "value": rng.gamma(2.0, 150.0, n).round(2),
        }
    )
    reasons = pd.DataFrame(
        {
            "reason_1": "3 unresolved contacts in the last 90 days",
            "reason_2": ["NPS fell from 8 to <3> & worse"] * n,
            "reason_3": np.nan,
        }
    )
    actions = pd.DataFrame(
        {
            "action_1": "Fix and close the open complaint (support lead, within 48 hours)",
            "action_2": "Review the whole contact history before calling (account manager, first)",
            "action_3": np.nan,
        },
        index=range(n),
    )
    feedback = pd.Series({ids[0]: '=HYPERLINK("http://evil")', ids[1]: "2024-05-01: score 2"})
    return build_at_risk(scores, customers, reasons, actions, last_feedback=feedback)


def test_csv_has_exactly_the_columns(tmp_path, at_risk):
    paths = write_at_risk_lists(at_risk, tmp_path)
    csv = pd.read_csv(paths["csv"])
    assert list(csv.columns) == list(AT_RISK_COLUMNS)
    assert len(csv) == len(at_risk)
    assert csv["customer_id"].tolist() == at_risk["customer_id"].tolist()
    # text a spreadsheet would run as a formula is neutralised
    cell = csv.loc[csv["customer_id"] == "C000", "last_feedback"].item()
    assert cell == "'=HYPERLINK(\"http://evil\")"


def test_xlsx_one_sheet_per_manager(tmp_path, at_risk):
    paths = write_at_risk_lists(at_risk, tmp_path)
    wb = load_workbook(paths["xlsx"])
    managers = at_risk["account_manager"].unique()
    assert len(wb.sheetnames) == len(managers) == 6
    assert "(unassigned)" in wb.sheetnames
    for name in wb.sheetnames:
        assert len(name) <= 31
        assert not re.search(r"[\[\]:*?/\\]", name)
    assert len({n.lower() for n in wb.sheetnames}) == len(wb.sheetnames)
    ws = wb["Ana Silva"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:M{(at_risk['account_manager'] == 'Ana Silva').sum() + 1}"
    header = [c.value for c in ws[1]]
    assert header[:4] == ["Customer", "Account manager", "Churn probability", "Risk"]
    assert ws["C2"].number_format == "0.0%"
    assert "#,##0" in ws["E2"].number_format
    assert ws.column_dimensions["F"].width >= 30
    ana = at_risk[at_risk["account_manager"] == "Ana Silva"]
    assert [r[0].value for r in ws.iter_rows(min_row=2)] == ana["customer_id"].tolist()
    assert ws["C2"].value == pytest.approx(ana["churn_probability"].iloc[0])
    row = ana["customer_id"].tolist().index("C000") + 2
    formula = ws[f"M{row}"]
    assert formula.value == '=HYPERLINK("http://evil")'
    assert formula.data_type == "s"  # stored as text, never evaluated


def test_sheet_names_follow_excel_rules():
    taken: set[str] = set()
    names = [excel_sheet_name(n, taken) for n in [LONG, LONG + " 2", "history", "'quoted'", ""]]
    assert names[0] == "Regional Sales_ North_East _Key"
    assert names[1] == "Regional Sales_ North_East (2)"
    assert excel_sheet_name("a" * 30 + "'b", set()) == "a" * 30
    assert names[2] == "history_"
    assert names[3] == "quoted"
    assert names[4] == "Sheet"
    assert excel_sheet_name("QUOTED", taken) == "QUOTED (2)"


def test_html_pages_are_self_contained_and_escaped(tmp_path, at_risk):
    paths = write_at_risk_lists(at_risk, tmp_path, title="At risk <now>", currency="€")
    pages = {k: v for k, v in paths.items() if k.startswith("html:")}
    assert len(pages) == 6
    assert paths["html_index"] == tmp_path / "at_risk" / "index.html"
    for path in [*pages.values(), paths["html_index"]]:
        assert path.parent == tmp_path / "at_risk"
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text
        assert "http" not in text.replace("&quot;http://evil&quot;", "")
        assert not re.search(r"\bsrc\s*=", text)
        for external in ("<link", "@import", "url("):
            assert external not in text
        assert "<style>" in text
        assert "At risk &lt;now&gt;" in text
    evil = pages[f"html:{EVIL}"].read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in evil
    assert "NPS fell from 8 to &lt;3&gt; &amp; worse" in evil
    ana = pages["html:Ana Silva"].read_text(encoding="utf-8")
    rows = at_risk[at_risk["account_manager"] == "Ana Silva"]
    assert "as of 2024-06-30" in ana
    assert f"€{rows['value_at_risk'].sum():,.0f}" in ana
    assert ana.count("<tr>") == len(rows) + 1
    assert 'class="badge badge-' in ana
    assert ana.index(rows["customer_id"].iloc[0]) < ana.index(rows["customer_id"].iloc[1])
    index = paths["html_index"].read_text(encoding="utf-8")
    for page in pages.values():
        assert f'href="{page.name}"' in index


def test_writes_leave_no_temporary_files_and_overwrite(tmp_path, at_risk):
    write_at_risk_lists(at_risk, tmp_path)
    paths = write_at_risk_lists(at_risk.iloc[:3], tmp_path)
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]
    assert leftovers == []
    assert len(pd.read_csv(paths["csv"])) == 3


def test_empty_and_invalid_tables(tmp_path, at_risk):
    paths = write_at_risk_lists(at_risk.iloc[:0], tmp_path)
    assert load_workbook(paths["xlsx"]).sheetnames == ["At risk"]
    assert list(pd.read_csv(paths["csv"]).columns) == list(AT_RISK_COLUMNS)
    with pytest.raises(SchemaError, match=r"Table 'at_risk' lacks column\(s\) \['last_feedback'\]"):
        write_at_risk_lists(at_risk.drop(columns="last_feedback"), tmp_path)
