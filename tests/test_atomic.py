"""Outputs are replaced atomically: a run killed mid-way leaves the previous file intact."""

import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from churnkit.scoring import write_table

WRITER = """
import sys, numpy as np, pandas as pd
from churnkit.scoring import write_table
frame = pd.DataFrame(np.random.default_rng(0).random((400_000, 12)), columns=[f"c{i}" for i in range(12)])
print("ready", flush=True)
while True:
    write_table(frame, sys.argv[1])
"""


@pytest.mark.slow  # kills writer processes
def test_killed_writer_leaves_a_complete_file(tmp_path):
    target = tmp_path / "scores.csv"
    previous = pd.DataFrame({"customer_id": ["a", "b"], "churn_probability": [0.1, 0.9]})
    write_table(previous, target)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "ready"
    checks = 0
    try:
        for delay in (0.3, 0.7, 1.1):
            time.sleep(delay)
            # the file is always either the previous one or a complete new one
            frame = pd.read_csv(target)
            assert len(frame) in (2, 400_000)
            checks += 1
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    frame = pd.read_csv(target)
    assert len(frame) in (2, 400_000)
    assert checks == 3
    leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) <= 1  # at most the interrupted temporary file, never the target


def test_written_files_get_the_usual_permissions(tmp_path):
    path = write_table(pd.DataFrame({"a": [1]}), tmp_path / "x.csv")
    mode = path.stat().st_mode & 0o777
    assert mode & 0o044, oct(mode)  # readable by group/others under a normal umask
