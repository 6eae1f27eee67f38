"""The foundation's small pieces: required columns, atomic writes, page kit, messages, version."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

import churnkit
from churnkit import _core
from churnkit._core import (
    STR_DTYPE,
    Progress,
    atomic_path,
    atomic_write_text,
    did_you_mean,
    img_tag,
    no_progress,
    require_columns,
    short_list,
    short_repr,
    unknown_names,
)
from churnkit.exceptions import SchemaError

CORE = Path(_core.__file__).parent


def test_core_imports_no_stage():
    allowed = {"churnkit._core", "churnkit.exceptions"}
    for path in CORE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("churnkit"):
                assert any(node.module.startswith(a) for a in allowed), (path.name, node.module)
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("churnkit") for a in node.names), path.name


def test_text_dtype_keeps_missing_values_missing():
    text = pd.Series(["a", None, float("nan"), 3], dtype=object).astype(STR_DTYPE)
    assert text.isna().tolist() == [False, True, True, False]
    assert text.tolist()[3] == "3"
    assert (text + "!").fillna("-").tolist() == ["a!", "-", "-", "3!"]
    assert pd.Series([None, None], dtype=STR_DTYPE).isna().all()


def test_require_columns_message_names_table_missing_available_and_fix():
    frame = pd.DataFrame({"customer_id": [1], "signup": ["2024-01-01"]})
    assert require_columns(frame, ["customer_id"], table="customers", fix="x") is frame
    with pytest.raises(SchemaError) as info:
        require_columns(frame, ["customer_id", "end", "end"], table="customers",
                        fix="Pass end_col= if it is named differently.")
    assert str(info.value) == (
        "Table 'customers' lacks column(s) ['end']. Available columns: ['customer_id', 'signup']. "
        "Pass end_col= if it is named differently."
    )
    with pytest.raises(SchemaError, match="Table 'scores' must be a pandas DataFrame, got list"):
        require_columns([1], ["a"], table="scores", fix="")


def test_require_columns_lists_at_most_30_available_columns():
    wide = pd.DataFrame(columns=[f"c{i}" for i in range(100)])
    with pytest.raises(SchemaError, match=r"'c29'\] \(and 70 more\)\. Fix\.$"):
        require_columns(wide, ["id"], table="wide", fix="Fix.")


def test_atomic_write_replaces_or_leaves_the_previous_file(tmp_path):
    target = tmp_path / "sub" / "page.html"
    assert atomic_write_text(target, "first\r\n") == target
    assert target.read_bytes() == b"first\r\n"  # written as given, no newline translation

    def killed_half_way() -> None:
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        killed_half_way()
    assert target.read_bytes() == b"first\r\n"
    assert [p.name for p in target.parent.iterdir()] == ["page.html"]  # no temporary file left


def test_img_tag_escapes_alt():
    tag = img_tag(b"\x89PNG", 'a "quoted" <title>')
    assert tag.startswith('<img src="data:image/png;base64,iVBORw==" alt="a &quot;quoted&quot; &lt;title&gt;">')


def test_messages_cap_what_they_echo():
    assert short_repr("x" * 1000).endswith("… (802 more characters)")
    assert short_list(range(3), 2) == "[0, 1] (and 1 more)"
    assert did_you_mean("montly", ["monthly", "yearly"]) == " (did you mean 'monthly'?)"
    assert unknown_names(["sum"], ["sum"], what="aggregation") is None


def test_progress_protocol_and_version():
    seen: list[str] = []
    report: Progress = seen.append
    report("a")
    no_progress("ignored")
    assert seen == ["a"]
    assert churnkit.__version__ == _core.__version__ == "0.1.0"
