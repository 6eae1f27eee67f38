"""The demo's scores, reasons and lists stay what they were when the golden files were written.

The files in ``tests/golden/`` are the outputs of ``churnkit demo --customers 600 --random-state 0``.
A change that is meant to alter scores, reasons or lists (new defaults, new features)
rewrites them with::

    churnkit demo --customers 600 --out /tmp/golden && \
    for f in scores at_risk rejects; do cp /tmp/golden/$f.csv tests/golden/demo_600_$f.csv; done

and says why in its commit message. Any other change must leave them byte-identical.
"""

from pathlib import Path

import pytest
from cli_runner import cli_runner

from churnkit.cli import app

pytestmark = pytest.mark.slow  # runs `churnkit demo` end to end

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def demo_600(tmp_path_factory):
    out = tmp_path_factory.mktemp("golden")
    result = cli_runner().invoke(app, ["demo", "--out", str(out), "--customers", "600",
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("name", ["scores", "at_risk", "rejects"])
def test_demo_outputs_equal_the_golden_files(demo_600, name):
    produced = (demo_600 / f"{name}.csv").read_text().splitlines()
    expected = (GOLDEN / f"demo_600_{name}.csv").read_text().splitlines()
    assert len(produced) == len(expected)
    diff = [(i, a, b) for i, (a, b) in enumerate(zip(produced, expected, strict=True)) if a != b]
    assert not diff, f"{len(diff)} line(s) differ, first: {diff[0]}"
