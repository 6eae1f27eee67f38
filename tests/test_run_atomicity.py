"""A score or report run's files appear together or not at all; one run per folder at a time.

The fault-injection test kills a run (``os._exit``, so no clean-up code runs) just
before each of its file-system writes in turn -- every file written, renamed or
removed -- and checks that the folder then holds exactly the old run or exactly
the new one, as any churnkit reader sees it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import churnkit._core.runs as runs_module
from churnkit._core import run_lock, settle
from churnkit.actions import build_at_risk
from churnkit.exceptions import OutputError
from churnkit.jobs import read_assignments
from churnkit.report import write_at_risk_lists
from churnkit.scoring import ScoreResult

KILLER = textwrap.dedent(r'''
    import builtins, hashlib, io, json, os, shutil, sys, zipfile
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from churnkit._core import output_run, settle
    from churnkit.actions import build_at_risk
    from churnkit.report import write_at_risk_lists
    from churnkit.scoring import ScoreResult

    root = Path(sys.argv[1])

    def at_risk(managers, seed):
        n = 12
        ids = [f"c{i}" for i in range(n)]
        rng = np.random.default_rng(seed)
        scores = pd.DataFrame({"customer_id": ids, "as_of": "2024-06-30",
                               "churn_probability": rng.uniform(0, 1, n).round(3)})
        customers = pd.DataFrame({"customer_id": ids, "value": rng.uniform(10, 90, n).round(2),
                                  "account_manager": [managers[i % len(managers)] for i in range(n)]})
        return build_at_risk(scores, customers, pd.DataFrame(index=range(n)),
                             pd.DataFrame(index=range(n)))

    def groups(seed):  # a holdout run's assignments, written with its lists
        return pd.DataFrame({"run_id": f"run-{seed}", "customer_id": [f"c{i}" for i in range(12)],
                             "group": ["control" if (i + seed) % 5 == 0 else "treat"
                                       for i in range(12)]})

    def scores(seed):
        rng = np.random.default_rng(seed)
        s = pd.DataFrame({"customer_id": [f"c{i}" for i in range(20)],
                          "churn_probability": rng.uniform(0, 1, 20).round(4)})
        r = pd.DataFrame({"table": "customers", "row": range(3), "customer_id": ["x", "y", "z"],
                          "column": "", "value": None, "reason": f"run {seed}"})
        return ScoreResult({}, {"scores": s, "rejects": r})

    def parts_run(d, n, tag):  # a folder of part files and a summary, as the Dask engine writes
        with output_run(d) as run:
            for sub in ("scores", "rejects"):
                folder = run.stage(d / sub)
                folder.mkdir()
                for k in range(n):
                    (folder / f"part-{k:05d}.parquet").write_text(f"{tag} {sub} {k}")
            run.stage(d / "summary.json").write_text(f"{{\"run\": \"{tag}\"}}")

    RUNS = {
        "report": (lambda d: write_at_risk_lists(at_risk(["Ana", "Bo", "Cy"], 1), d),
                   lambda d: write_at_risk_lists(at_risk(["Ana", "Dee"], 2), d)),
        "holdout": (lambda d: write_at_risk_lists(at_risk(["Ana", "Bo"], 1), d,
                                                  assignments=groups(1)),
                    lambda d: write_at_risk_lists(at_risk(["Cy"], 2), d)),
        "holdout_again": (lambda d: write_at_risk_lists(at_risk(["Ana"], 1), d),
                          lambda d: write_at_risk_lists(at_risk(["Ana", "Bo"], 2), d,
                                                        assignments=groups(2))),
        "score": (lambda d: scores(1).write(d / "scores.csv"),
                  lambda d: scores(2).write(d / "scores.csv")),
        "parts": (lambda d: parts_run(d, 3, "old"), lambda d: parts_run(d, 2, "new")),
    }

    def digest(path):
        if path.name == "run.json":  # the run's record: its id and time differ run to run
            record = json.loads(path.read_text())
            record.pop("run_id"), record.pop("created")
            return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
        if path.suffix != ".xlsx":
            return hashlib.sha256(path.read_bytes()).hexdigest()
        with zipfile.ZipFile(path) as book:  # the workbook's contents, not its creation time
            return hashlib.sha256(b"".join(
                book.read(n) for n in sorted(book.namelist()) if n != "docProps/core.xml"
            )).hexdigest()

    def visible(folder):
        return {str(p.relative_to(folder)): digest(p)
                for p in sorted(folder.rglob("*"))
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}

    def hidden(folder):
        return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*") if p.is_file())

    class Killer:
        def __init__(self, k):
            self.k, self.n = k, 0
        def tick(self):
            self.n += 1
            if self.n == self.k:
                os._exit(77)  # as a kill: no finally, no clean-up

    def hook(killer):
        def wrap(fn, is_write=lambda *a, **k: True):
            def inner(*args, **kwargs):
                if is_write(*args, **kwargs):
                    killer.tick()
                return fn(*args, **kwargs)
            return inner
        def writes(mode):
            return any(c in mode for c in "wax+")
        for name in ("replace", "rename", "unlink", "remove", "link"):
            setattr(os, name, wrap(getattr(os, name)))
        os.open = wrap(os.open, lambda path, flags, *a, **k: flags & (os.O_WRONLY | os.O_RDWR))
        opener = builtins.open
        guarded = wrap(opener, lambda file, mode="r", *a, **k: writes(mode))
        builtins.open = io.open = guarded

    report = {}
    for kind, (first, second) in RUNS.items():
        pristine = root / f"{kind}-old"
        first(pristine)
        old = visible(pristine)
        target = root / f"{kind}-new"
        second(target)
        new = visible(target)
        assert old != new
        outcomes = []
        for k in range(1, 500):
            folder = root / f"{kind}-{k}"
            shutil.copytree(pristine, folder)
            pid = os.fork()
            if pid == 0:
                hook(Killer(k))
                second(folder)
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
            raw = visible(folder)
            journal = (folder / ".churnkit-run.json").exists()
            raw_state = "old" if raw == old else "new" if raw == new else "mixed"
            settle(folder)
            seen = visible(folder)
            state = "old" if seen == old else "new" if seen == new else "mixed"
            leftovers = hidden(folder)
            second(folder)  # a later run into the folder works (a stale lock is taken over)
            again = visible(folder) == new and hidden(folder) == []
            outcomes.append({"k": k, "exit": code, "journal": journal, "raw": raw_state,
                             "state": state, "rerun_ok": again, "leftovers": leftovers})
            shutil.rmtree(folder)
            if code == 0:
                break
        report[kind] = {"outcomes": outcomes, "old": sorted(old), "new": sorted(new)}
    print(json.dumps(report))
''')


@pytest.mark.slow
def test_a_run_killed_before_any_write_leaves_the_old_or_the_new_run(tmp_path):
    proc = subprocess.run([sys.executable, "-c", KILLER, str(tmp_path)], capture_output=True,
                          text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    for kind, result in report.items():
        outcomes = result["outcomes"]
        assert outcomes[-1]["exit"] == 0, kind  # the last k let the run finish
        killed = outcomes[:-1]
        assert len(killed) >= 6, (kind, len(killed))  # stage, commit, renames, removals...
        assert all(o["exit"] == 77 for o in killed), kind
        for o in outcomes:
            assert o["state"] in {"old", "new"}, (kind, o)
            assert o["rerun_ok"], (kind, o)
            # without a journal the folder is whole as it lies; with one, settle() completes it
            assert o["journal"] or o["raw"] in {"old", "new"}, (kind, o)
            assert ".churnkit-run.json" not in o["leftovers"], (kind, o)
        states = [o["state"] for o in killed]
        assert "old" in states, kind
        assert "new" in states, kind
        assert any(o["raw"] == "mixed" for o in killed), kind  # the journal is really needed
        assert outcomes[-1]["state"] == "new"
    assert sorted(report["parts"]["new"]) == [
        "rejects/part-00000.parquet", "rejects/part-00001.parquet", "scores/part-00000.parquet",
        "scores/part-00001.parquet", "summary.json"]
    pages = [name for name in report["report"]["new"] if name.startswith("at_risk/")]
    assert sorted(pages) == ["at_risk/ana.html", "at_risk/dee.html", "at_risk/index.html"]
    assert "assignments.csv" in report["holdout"]["old"]
    assert "assignments.csv" not in report["holdout"]["new"]
    assert "assignments.csv" in report["holdout_again"]["new"]


# ----------------------------------------------------------------------------- fast checks
def _at_risk(managers: list[str]) -> pd.DataFrame:
    n = 8
    ids = [f"c{i}" for i in range(n)]
    scores = pd.DataFrame({"customer_id": ids, "as_of": "2024-06-30",
                           "churn_probability": np.linspace(0.1, 0.9, n)})
    customers = pd.DataFrame({"customer_id": ids, "value": 10.0,
                              "account_manager": [managers[i % len(managers)] for i in range(n)]})
    return build_at_risk(scores, customers, pd.DataFrame(index=range(n)),
                         pd.DataFrame(index=range(n)))


def test_pages_of_managers_no_longer_listed_are_removed(tmp_path):
    write_at_risk_lists(_at_risk(["Ana", "Bo", "Cy"]), tmp_path)
    assert {p.name for p in (tmp_path / "at_risk").iterdir()} == {
        "ana.html", "bo.html", "cy.html", "index.html"}
    write_at_risk_lists(_at_risk(["Ana", "Dee"]), tmp_path)
    assert {p.name for p in (tmp_path / "at_risk").iterdir()} == {
        "ana.html", "dee.html", "index.html"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["at_risk", "at_risk.csv", "at_risk.xlsx"]


def test_assignments_belong_to_the_run_that_wrote_the_lists(tmp_path):
    """Written with the lists; a later run without a holdout removes them, as they
    describe lists it replaced."""
    groups = pd.DataFrame({"run_id": "r1", "customer_id": ["c0", "c1"],
                           "group": ["treat", "control"]})
    paths = write_at_risk_lists(_at_risk(["Ana"]), tmp_path, assignments=groups)
    assert paths["assignments"] == tmp_path / "assignments.csv"
    assert pd.read_csv(tmp_path / "assignments.csv")["group"].tolist() == ["treat", "control"]
    write_at_risk_lists(_at_risk(["Ana"]), tmp_path)
    assert not (tmp_path / "assignments.csv").exists()


@pytest.mark.slow
def test_a_second_run_into_a_locked_folder_is_refused_with_the_lock_and_the_fix(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom churnkit._core import run_lock\n"
         "with run_lock(sys.argv[1]):\n    print('ready', flush=True)\n    time.sleep(60)\n",
         str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(OutputError, match=r"process \d+ .*\.churnkit\.lock.*delete the lock file"):
            write_at_risk_lists(_at_risk(["Ana"]), tmp_path)
        result = ScoreResult({}, {"scores": pd.DataFrame({"customer_id": ["a"]}),
                                  "rejects": pd.DataFrame({"customer_id": []})})
        with pytest.raises(OutputError, match="is writing into"):
            result.write(tmp_path / "scores.csv")
        assert not (tmp_path / "at_risk.csv").exists()
        assert not (tmp_path / "scores.csv").exists()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    # the holder is gone: its lock is stale and the next run takes it over
    write_at_risk_lists(_at_risk(["Ana"]), tmp_path)
    assert (tmp_path / "at_risk.csv").is_file()
    assert not (tmp_path / ".churnkit.lock").exists()


def test_a_lock_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / ".churnkit.lock").write_text(json.dumps(
        {"pid": dead.pid, "host": socket.gethostname(), "started": "earlier"}))
    with run_lock(tmp_path):
        info = json.loads((tmp_path / ".churnkit.lock").read_text())
        assert info["pid"] == os.getpid()
    assert not (tmp_path / ".churnkit.lock").exists()


def test_a_failed_run_leaves_the_old_files_and_no_part_files(tmp_path, monkeypatch):
    write_at_risk_lists(_at_risk(["Ana", "Bo"]), tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("churnkit.report._at_risk._write_xlsx", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_at_risk_lists(_at_risk(["Ana", "Dee"]), tmp_path)
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


def test_settle_completes_an_interrupted_commit(tmp_path):
    (tmp_path / "a.csv").write_text("old a")
    (tmp_path / "b.csv").write_text("old b")
    (tmp_path / ".a.csv.ab12.churnkit-part.csv").write_text("new a")
    (tmp_path / ".churnkit-run.json").write_text(json.dumps(
        {"run": "ab12", "replace": [[".a.csv.ab12.churnkit-part.csv", "a.csv"]],
         "remove": ["b.csv"]}))
    settle(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]
    assert (tmp_path / "a.csv").read_text() == "new a"


def test_a_planted_journal_cannot_rename_or_delete_other_files(tmp_path):
    outside = tmp_path / "precious.txt"
    outside.write_text("keep")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    (folder / "scores.csv").write_text("scores")
    (folder / ".churnkit-run.json").write_text(json.dumps({
        "run": "ab12",
        "replace": [["notes.txt", "scores.csv"], [str(outside), "scores.csv"]],
        "remove": [str(outside), "../precious.txt"],
    }))
    settle(folder)
    assert outside.read_text() == "keep"
    assert (folder / "notes.txt").read_text() == "mine"
    assert (folder / "scores.csv").read_text() == "scores"
    assert not (folder / ".churnkit-run.json").exists()


def test_impact_reads_the_assignments_of_a_run_interrupted_after_its_commit(tmp_path,
                                                                            monkeypatch):
    groups = pd.DataFrame({"run_id": "r1", "customer_id": ["c0", "c1"],
                           "group": ["treat", "control"]})
    with monkeypatch.context() as mp:
        mp.setattr(runs_module, "_apply", lambda folder: None)  # killed right after the commit
        write_at_risk_lists(_at_risk(["Ana"]), tmp_path, assignments=groups)
    assert not (tmp_path / "assignments.csv").exists()
    assert read_assignments(tmp_path / "assignments.csv")["group"].tolist() == ["treat", "control"]
    assert (tmp_path / "at_risk.csv").is_file()
