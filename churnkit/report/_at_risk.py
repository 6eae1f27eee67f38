"""At-risk lists per account manager: one CSV, one XLSX workbook, one HTML page each."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnkit._core import (
    STR_DTYPE,
    atomic_path,
    atomic_write_text,
    esc,
    html_page,
    is_missing,
    output_run,
    per_distinct,
    require_columns,
    slugify,
    write_table,
)
from churnkit.actions import AT_RISK_COLUMNS
from churnkit.exceptions import OutputError
from churnkit.report._xlsx import Sheet, write_workbook

__all__ = ["excel_sheet_name", "write_at_risk_lists"]

_HEADERS = {
    "customer_id": "Customer", "account_manager": "Account manager",
    "churn_probability": "Churn probability", "risk_band": "Risk", "value_at_risk": "Value at risk",
    "reason_1": "Reason 1", "reason_2": "Reason 2", "reason_3": "Reason 3",
    "action_1": "Action 1", "action_2": "Action 2", "action_3": "Action 3",
    "last_contact": "Last contact", "last_feedback": "Last feedback",
}
_WIDTHS = {
    "customer_id": 14, "account_manager": 22, "churn_probability": 12, "risk_band": 10,
    "value_at_risk": 15, "reason_1": 42, "reason_2": 42, "reason_3": 42, "action_1": 55,
    "action_2": 55, "action_3": 55, "last_contact": 32, "last_feedback": 44,
}
_BAND_FILLS = {
    "high": ("FDE0DC", "A61B1B"), "medium": ("FEF0C7", "8A4B08"), "low": ("DCF5E7", "146C43"),
}
_TRAILER = re.compile(r"^(.*\S) \(([^()]*)\)$", re.DOTALL)
_SHEET_BAD = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


def excel_sheet_name(name: str, taken: set[str]) -> str:
    r"""Return a valid, unique Excel sheet name for ``name``, updating ``taken`` (lower-cased).

    Excel sheet names have at most 31 characters, none of ``[]:*?/\\``, do not
    start or end with an apostrophe, are unique regardless of case, and may
    not be ``History``.

    Examples
    --------
    >>> excel_sheet_name("Sales: North/East [key accounts] team 2024", set())
    'Sales_ North_East _key accounts'
    """
    def trim(text: str, width: int) -> str:
        return text[:width].strip().strip("'").strip()

    base = trim(_SHEET_BAD.sub("_", str(name)), 31) or "Sheet"
    if base.lower() == "history":
        base += "_"
    candidate, i = base, 2
    while candidate.lower() in taken:
        suffix = f" ({i})"
        candidate, i = (trim(base, 31 - len(suffix)) or "Sheet") + suffix, i + 1
    taken.add(candidate.lower())
    return candidate


def _managers(at_risk: pd.DataFrame) -> list[str]:
    names = at_risk["account_manager"].fillna("(unassigned)").astype(STR_DTYPE).unique().tolist()
    return sorted(names, key=lambda n: (n.startswith("("), n.casefold(), n))


def _money(value: Any, currency: str) -> str:
    return "" if is_missing(value) else f"{currency}{float(value):,.0f}"


def _band_order(bands: Iterable[str]) -> list[str]:
    known = ["high", "medium", "low"]
    present = list(dict.fromkeys(str(b) for b in bands if not is_missing(b)))
    return [b for b in known if b in present] + sorted(b for b in present if b not in known)


# ----------------------------------------------------------------------------- XLSX
def _styles(currency: str) -> str:
    """The workbook's styles: header, plain and wrapped text, percent, money, one per band."""
    money = (f'"{currency.replace(chr(34), "")}"' if currency else "") + "#,##0"
    fonts = ['<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>',
             '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>']
    fills = ['<fill><patternFill patternType="none"/></fill>',
             '<fill><patternFill patternType="gray125"/></fill>',
             '<fill><patternFill patternType="solid"><fgColor rgb="FFF0F4F8"/>'
             '<bgColor indexed="64"/></patternFill></fill>']
    top = '<alignment vertical="top"/>'
    wrap = '<alignment vertical="top" wrapText="1"/>'
    xfs = ['<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>',
           f'<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" '
           f'applyFill="1" applyAlignment="1">{wrap}</xf>',
           f'<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
           f'{top}</xf>',
           f'<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
           f'{wrap}</xf>',
           f'<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" '
           f'applyNumberFormat="1" applyAlignment="1">{top}</xf>',
           f'<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" '
           f'applyNumberFormat="1" applyAlignment="1">{top}</xf>']
    for bg, fg in _BAND_FILLS.values():
        fonts.append(f'<font><b/><sz val="11"/><color rgb="FF{fg}"/><name val="Calibri"/>'
                     '<family val="2"/></font>')
        fills.append(f'<fill><patternFill patternType="solid"><fgColor rgb="FF{bg}"/>'
                     '<bgColor indexed="64"/></patternFill></fill>')
        xfs.append(f'<xf numFmtId="0" fontId="{len(fonts) - 1}" fillId="{len(fills) - 1}" '
                   f'borderId="0" xfId="0" applyFont="1" applyFill="1" applyAlignment="1">'
                   f'{top}</xf>')
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns='
        '"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="2">'
        f'<numFmt numFmtId="164" formatCode="0.0%"/><numFmt numFmtId="165" formatCode='
        f'"{esc(money)}"/></numFmts><fonts count="{len(fonts)}">{"".join(fonts)}</fonts>'
        f'<fills count="{len(fills)}">{"".join(fills)}</fills><borders count="1"><border>'
        '<left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1">'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs><cellStyles count="1">'
        '<cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
    )


# style ids of _styles: 1 header, 2 text, 3 wrapped text, 4 percent, 5 money, 6.. the bands
_BAND_STYLE = {band: 6 + i for i, band in enumerate(_BAND_FILLS)}


def _write_xlsx(at_risk: pd.DataFrame, managers: list[str], path: Path, currency: str) -> None:
    columns = list(AT_RISK_COLUMNS)
    styles = [4 if c == "churn_probability" else 5 if c == "value_at_risk"
              else 3 if _WIDTHS[c] >= 30 else 2 for c in columns]
    band_col = columns.index("risk_band")
    groups = at_risk.groupby("account_manager", sort=False, dropna=False)
    taken: set[str] = set()
    sheets = []
    for manager in managers or ["At risk"]:
        rows = groups.get_group(manager) if manager in groups.groups else at_risk.iloc[:0]
        values = [rows[c].to_numpy(dtype=object) for c in columns]
        band = pd.Series(values[band_col]).map(_BAND_STYLE).fillna(-1).to_numpy(dtype=np.int64)
        sheets.append(Sheet(excel_sheet_name(manager, taken), [_HEADERS[c] for c in columns],
                            values, [float(_WIDTHS[c]) for c in columns], styles,
                            {band_col: band}))
    with atomic_path(path) as tmp:
        write_workbook(tmp, sheets, _styles(currency))


# ----------------------------------------------------------------------------- HTML
def _item(text: Any, trailer: bool) -> str:
    """List item; with ``trailer``, a final "(owner, timing)" is set in small print."""
    match = _TRAILER.match(str(text)) if trailer else None
    if match is None:
        return f"<li>{esc(text)}</li>"
    return f'<li>{esc(match[1])} <span class="small">({esc(match[2])})</span></li>'


def _totals(rows: pd.DataFrame, currency: str) -> str:
    counts = rows["risk_band"].value_counts()
    tiles = [(f"{len(rows):,}", "customers")]
    tiles += [(f"{int(counts[b]):,}", f"{b} risk") for b in _band_order(rows["risk_band"])]
    tiles.append((_money(rows["value_at_risk"].sum(), currency) or "0", "value at risk"))
    return '<ul class="totals">' + "".join(
        f"<li><b>{esc(v)}</b><span>{esc(label)}</span></li>" for v, label in tiles
    ) + "</ul>"


def _table_rows(table: pd.DataFrame, currency: str) -> np.ndarray:
    """Each row's HTML cells after its number, built column by column, once per distinct value."""
    def cells(col: str, fn: Any) -> np.ndarray:
        out = per_distinct(table[col].to_numpy(dtype=object), fn)
        out[pd.isna(out)] = fn(None)
        return out

    def items(cols: list[str], tag: str, trailer: bool) -> np.ndarray:
        joined = sum((cells(c, lambda v: "" if is_missing(v) else _item(v, trailer))
                      for c in cols), start=np.full(len(table), "", dtype=object))
        return np.where(joined != "", f"<{tag}>" + joined + f"</{tag}>", "").astype(object)

    def band(value: Any) -> str:
        name = "" if is_missing(value) else str(value)
        badge = f"badge badge-{name}" if name in _BAND_FILLS else "badge"
        return f'<td><span class="{badge}">{esc(name.capitalize())}</span>'

    def prob(value: Any) -> str:
        return f'<div class="small">{esc("" if is_missing(value) else f"{value:.0%}")} churn</div></td>'

    return ('<td>' + cells("customer_id", esc) + "</td>" + cells("risk_band", band)
            + cells("churn_probability", prob) + '<td class="num">'
            + cells("value_at_risk", lambda v: esc(_money(v, currency))) + '</td><td class="why">'
            + items(["reason_1", "reason_2", "reason_3"], "ul", False) + '</td><td class="todo">'
            + items(["action_1", "action_2", "action_3"], "ol", True) + '</td><td class="small">'
            + cells("last_contact", esc) + '</td><td class="small">'
            + cells("last_feedback", esc) + "</td></tr>")


def _manager_page(
    manager: str, rows: pd.DataFrame, cells: np.ndarray, *, title: str, as_of: str | None,
    currency: str, index: str
) -> str:
    """One manager's page; ``cells``: :func:`_table_rows` of ``rows``."""
    meta = [f"Account manager: {manager}"] + ([f"as of {as_of}"] if as_of else [])
    body = [
        f'<header><h1>{esc(title)} &mdash; {esc(manager)}</h1>',
        f'<p class="meta">{esc(" · ".join(meta))} · <a href="{esc(index)}">all managers</a></p>',
        _totals(rows, currency), "</header>",
        "<main><table><thead><tr><th class=\"num\">#</th><th>Customer</th><th>Risk</th>"
        "<th class=\"num\">Value at risk</th><th>Why</th><th>What to do</th>"
        "<th>Last contact</th><th>Last feedback</th></tr></thead><tbody>",
    ]
    numbers = np.arange(1, len(rows) + 1).astype(str).astype(object)
    body += ('<tr><td class="num">' + numbers + "</td>" + cells).tolist()
    if rows.empty:
        body.append('<tr><td colspan="8">No customers at risk.</td></tr>')
    body.append(
        "</tbody></table></main><footer>Value at risk = churn probability × monthly value × "
        "horizon. Ordered by value at risk.</footer>"
    )
    return html_page(f"{title} — {manager}", "\n".join(body))


def _index_page(
    at_risk: pd.DataFrame, pages: dict[str, str], *, title: str, as_of: str | None, currency: str
) -> str:
    body = [
        f"<header><h1>{esc(title)}</h1>",
        f'<p class="meta">{esc("as of " + as_of) if as_of else ""}</p>',
        _totals(at_risk, currency), "</header>",
        "<main><table><thead><tr><th>Account manager</th><th class=\"num\">Customers</th>"
        "<th class=\"num\">High risk</th><th class=\"num\">Value at risk</th></tr></thead><tbody>",
    ]
    for manager, href in pages.items():
        rows = at_risk[at_risk["account_manager"] == manager]
        body.append(
            f'<tr><td><a href="{esc(href)}">{esc(manager)}</a></td>'
            f'<td class="num">{len(rows):,}</td>'
            f'<td class="num">{int((rows["risk_band"] == "high").sum()):,}</td>'
            f'<td class="num">{esc(_money(rows["value_at_risk"].sum(), currency))}</td></tr>'
        )
    body.append("</tbody></table></main>")
    return html_page(title, "\n".join(body))


def write_at_risk_lists(
    at_risk: pd.DataFrame,
    out_dir: str | Path,
    *,
    title: str = "Customers at risk",
    as_of: str | None = None,
    currency: str = "",
    assignments: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """Write the at-risk lists for every account manager.

    Parameters
    ----------
    at_risk : DataFrame
        The table from :func:`churnkit.actions.build_at_risk`.
    out_dir : str or Path
        Created if needed.
    title : str, default "Customers at risk"
        Heading of the HTML pages.
    as_of : str, optional
        Date shown in the HTML headers; defaults to ``at_risk.attrs["as_of"]``.
    currency : str, default ""
        Symbol put before money amounts, e.g. ``"€"``.
    assignments : DataFrame, optional
        The holdout groups of this run (:func:`churnkit.impact.assignments_table`),
        written as ``assignments.csv`` with the lists. Without it, an
        ``assignments.csv`` an earlier run left in ``out_dir`` is removed: it
        described lists that this run replaces.

    Returns
    -------
    dict of str to Path
        ``"csv"`` (``at_risk.csv``, all managers), ``"xlsx"`` (``at_risk.xlsx``,
        one sheet per manager), ``"html_index"`` (``at_risk/index.html``),
        ``"html:<manager>"`` for each manager's page ``at_risk/<slug>.html``, and
        ``"assignments"`` when ``assignments`` is given.

    Notes
    -----
    The files are one run (see :func:`churnkit._core.output_run`): they appear
    together or not at all, a second run into ``out_dir`` at the same time is
    refused, and the pages of managers an earlier run listed but this one does
    not are removed. In the CSV, text starting with ``= + - @`` gets a leading
    apostrophe so spreadsheet programs show it instead of running it as a formula.
    """
    require_columns(at_risk, AT_RISK_COLUMNS, table="at_risk",
                    fix="Build it with churnkit.actions.build_at_risk.")
    table = at_risk[list(AT_RISK_COLUMNS)].copy()
    table["account_manager"] = table["account_manager"].fillna("(unassigned)").astype(STR_DTYPE)
    as_of = as_of if as_of is not None else at_risk.attrs.get("as_of")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"The at-risk lists' folder {str(out)!r} is a file; give a folder.")
    pages_dir = out / "at_risk"
    managers = _managers(table)

    paths: dict[str, Path] = {"csv": out / "at_risk.csv", "xlsx": out / "at_risk.xlsx"}
    with output_run(out, command="churnkit report") as run:
        write_table(table, run.stage(paths["csv"]))
        if assignments is not None:
            paths["assignments"] = out / "assignments.csv"
            write_table(assignments, run.stage(paths["assignments"]))
        elif (out / "assignments.csv").is_file():
            run.remove(out / "assignments.csv")
        _write_xlsx(table, managers, run.stage(paths["xlsx"]), currency)
        taken = {"index"}
        hrefs = {m: f"{slugify(m, taken, fallback='manager')}.html" for m in managers}
        cells = _table_rows(table, currency)
        for manager, href in hrefs.items():
            mine = (table["account_manager"] == manager).to_numpy(dtype=bool)
            page = _manager_page(manager, table[mine], cells[mine], title=title, as_of=as_of,
                                 currency=currency, index="index.html")
            atomic_write_text(run.stage(pages_dir / href), page)
            paths[f"html:{manager}"] = pages_dir / href
        index = _index_page(table, hrefs, title=title, as_of=as_of, currency=currency)
        atomic_write_text(run.stage(pages_dir / "index.html"), index)
        paths["html_index"] = pages_dir / "index.html"
        for page_path in pages_dir.glob("*.html"):  # pages of managers no longer listed
            if not page_path.name.startswith("."):
                run.remove(page_path)
    return paths
