"""What ``import churnkit as ck`` offers, checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest

_CHECK = """
import churnkit as ck
import sklearn.exceptions
for name in ("retention", "evaluate", "scoring", "report", "features", "explain", "actions",
             "impact", "clv", "monitoring", "datasets"):
    module = getattr(ck, name)
    assert module.__name__ == f"churnkit.{name}", (name, module)
for name in ("TextFeatures", "DerivedFeatures", "EventFeatures", "StaticFeatures", "FeatureSet",
             "ChurnModel", "train", "score", "load_model", "save_model", "build_features"):
    assert callable(getattr(ck, name)), name
assert issubclass(ck.NotFittedError, sklearn.exceptions.NotFittedError)
assert issubclass(ck.NotFittedError, ck.ChurnkitError)
missing = [n for n in ck.__all__ if not hasattr(ck, n)]
assert not missing, missing
print("ok")
"""


@pytest.mark.slow
def test_the_sub_packages_and_classes_are_reachable_right_after_import():
    run = subprocess.run([sys.executable, "-c", _CHECK], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"
