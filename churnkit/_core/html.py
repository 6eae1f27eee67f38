"""The HTML page kit: self-contained pages with inline CSS and escaped data.

Pages carry their CSS inline and reference no external file, font or script,
so they can be mailed, archived or opened offline; every piece of data is
HTML-escaped with :func:`esc`.
"""

from __future__ import annotations

import base64
import html
import math
import re
import unicodedata
from typing import Any

import pandas as pd

__all__ = [
    "BASE_CSS",
    "esc",
    "html_page",
    "img_tag",
    "is_missing",
    "slugify",
]

BASE_CSS = """
:root { --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; --head: #f0f4f8; }
* { box-sizing: border-box; }
body { margin: 24px; color: var(--ink); background: #fff;
  font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
.meta { color: var(--muted); margin: 0 0 16px; }
.totals { display: flex; flex-wrap: wrap; gap: 12px; margin: 0 0 20px; padding: 0;
  list-style: none; }
.totals li { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px;
  min-width: 120px; }
.totals b { display: block; font-size: 18px; }
.totals span { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 8px 10px; text-align: left;
  vertical-align: top; }
th { background: var(--head); font-size: 12px; text-transform: uppercase; letter-spacing: .03em;
  color: var(--muted); }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td ul, td ol { margin: 0; padding-left: 18px; }
td.why { min-width: 220px; }
td.todo { min-width: 300px; }
td li + li { margin-top: 3px; }
.small { font-size: 12px; color: var(--muted); }
.badge { display: inline-block; padding: 2px 8px; border-radius: 10px; font-size: 12px;
  font-weight: 600; white-space: nowrap; background: #e4e7eb; color: #323f4b; }
.badge-high { background: #fde0dc; color: #a61b1b; }
.badge-medium { background: #fef0c7; color: #8a4b08; }
.badge-low { background: #dcf5e7; color: #146c43; }
a { color: #1d4ed8; }
footer { margin-top: 24px; color: var(--muted); font-size: 12px; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { margin: 0; font-size: 11px; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  .badge, th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
}
"""


def is_missing(value: Any) -> bool:
    """Whether ``value`` is None, NaN, NA or an empty string."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def esc(value: Any) -> str:
    """HTML-escape ``value`` (missing values become an empty string)."""
    return "" if is_missing(value) else html.escape(str(value), quote=True)


def slugify(name: str, taken: set[str] | None = None, *, fallback: str = "page") -> str:
    """Return a file-name-safe slug of ``name``, unique against ``taken`` (which is updated).

    Examples
    --------
    >>> slugify("Zoë O'Brien")
    'zoe-o-brien'
    """
    ascii_name = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-") or fallback
    if taken is not None:
        base, i = slug, 2
        while slug in taken:
            slug, i = f"{base}-{i}", i + 1
        taken.add(slug)
    return slug


def html_page(title: str, body: str, *, css: str = BASE_CSS, lang: str = "en") -> str:
    """Wrap ``body`` (already escaped HTML) into a complete, self-contained page."""
    return (
        f'<!DOCTYPE html>\n<html lang="{esc(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n{body}\n"
        "</body>\n</html>\n"
    )


def img_tag(png: bytes, alt: str) -> str:
    """An ``<img>`` tag embedding ``png`` as a base64 data URI (``alt`` is escaped)."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{esc(alt)}">'
