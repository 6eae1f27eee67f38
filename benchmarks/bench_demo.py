"""Wall time of ``churnkit demo``, alone and next to CPU-bound processes.

Usage::

    python benchmarks/bench_demo.py                  # 3 runs alone, 3 next to 2 busy processes
    python benchmarks/bench_demo.py --repeat 5 --busy 2 4

Runs the ``churnkit`` command of this environment in a fresh process each time (so
the time includes starting Python and importing churnkit), first once to warm the
compiled-kernel cache, then ``--repeat`` times alone and ``--repeat`` times for each
``--busy`` count of competing processes that spin on the CPU. Prints the median
wall and CPU time of each, the ratio to the quiet median (fair sharing of two
cores with two busy processes alone would give about 2x), and the load average.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _spin() -> None:  # pragma: no cover - runs in a child process
    while True:
        pass


def _demo(out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``churnkit demo`` into ``out``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "churnkit", "demo", "--out", str(out)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    shutil.rmtree(out, ignore_errors=True)
    return wall, cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--busy", type=int, nargs="*", default=[2],
                        help="numbers of competing CPU-bound processes (default 2)")
    args = parser.parse_args(argv)
    print(f"churnkit demo benchmark: {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        _demo(Path(tmp) / "warm")
        for busy in [0, *args.busy]:
            spinners = [mp.Process(target=_spin, daemon=True) for _ in range(busy)]
            for p in spinners:
                p.start()
            try:
                load = os.getloadavg()[0]
                runs = [_demo(Path(tmp) / f"run{busy}_{i}") for i in range(args.repeat)]
            finally:
                for p in spinners:
                    p.terminate()
                    p.join()
            walls = [w for w, _ in runs]
            rows.append((busy, statistics.median(walls), statistics.median(c for _, c in runs),
                         walls, load))
    quiet = rows[0][1]
    print("\n| competing CPU-bound processes | median wall s | median CPU s | runs (wall s) "
          "| × quiet | load at start |")
    print("|---:|---:|---:|---|---:|---:|")
    for busy, wall, cpu, walls, load in rows:
        print(f"| {busy} | {wall:.1f} | {cpu:.1f} | {', '.join(f'{w:.1f}' for w in walls)} | "
              f"{wall / quiet:.2f} | {load:.2f} |")


if __name__ == "__main__":
    main()
