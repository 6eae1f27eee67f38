"""What ``--mlflow`` costs: importing MLflow, creating a tracking database, logging a run.

Usage::

    python benchmarks/bench_mlflow.py --repeat 5

- **import**: ``import churnkit.cli`` in a fresh interpreter, with MLflow
  importable and with it blocked (``sys.modules['mlflow'] = None``): MLflow is
  imported when churnkit is, so every command pays the difference once the
  extra is installed;
- **database**: the first use of a new ``sqlite:///`` tracking database (MLflow
  creates its tables);
- **logging**: :func:`churnkit.jobs.train` on a 600-customer sample CRM with
  and without ``mlflow=``, the model folder saved in both (the difference is
  the logging: parameters, metrics, the model folder as files).

The machine's load average is printed: other jobs slow every figure down.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from mlflow import __version__ as mlflow_version
from mlflow.tracking import MlflowClient

import churnkit as ck
from churnkit import jobs
from churnkit._core import builtin_config
from churnkit.config import MlflowConfig, config_from_dict


def _import_seconds(block: bool) -> float:
    code = ("import sys; sys.modules['mlflow'] = None; " if block else "") + "import churnkit.cli"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message=".*noload.*")  # SQLAlchemy 2.1 with MLflow
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"mlflow(-skinny) {mlflow_version}")
    with_ml, without = [], []
    for _ in range(args.repeat):  # interleaved, so that load changes hit both alike
        with_ml.append(_import_seconds(block=False))
        without.append(_import_seconds(block=True))
    print(f"import churnkit.cli, median of {args.repeat}: {statistics.median(without):.2f} s "
          f"without MLflow, {statistics.median(with_ml):.2f} s with it "
          f"(+{statistics.median(with_ml) - statistics.median(without):.2f} s per command)")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        uri = f"sqlite:///{folder / 'tracking' / 'mlflow.db'}"
        (folder / "tracking").mkdir()
        start = time.perf_counter()
        MlflowClient(uri).search_experiments()
        print(f"first use of a new tracking database: {time.perf_counter() - start:.1f} s")

        data = ck.load_config(builtin_config("default.yaml")).model_dump(exclude={"base_dir"})
        data["model"]["tune"] = "off"
        data["scoring"]["explain"] = "none"
        config = config_from_dict(data)
        crm = ck.datasets.make_crm(600, random_state=0)
        jobs.train(config, tables=crm.tables)  # warm-up: numba and LightGBM loaded
        plain, logged = [], []
        for i in range(args.repeat):
            start = time.perf_counter()
            jobs.train(config, tables=crm.tables, out_dir=folder / f"plain{i}")
            plain.append(time.perf_counter() - start)
            start = time.perf_counter()
            result = jobs.train(config, tables=crm.tables, out_dir=folder / f"logged{i}",
                                mlflow=MlflowConfig(tracking_uri=uri, experiment="bench"))
            logged.append(time.perf_counter() - start)
        files = sum(1 for _ in (folder / "logged0").iterdir())
        size = sum(p.stat().st_size for p in (folder / "logged0").iterdir()) / 1e6
        run = MlflowClient(uri).get_run(result.summary["mlflow"]["run_id"])
        print(f"train, 600-customer sample CRM, median of {args.repeat}: "
              f"{statistics.median(plain):.2f} s, {statistics.median(logged):.2f} s with --mlflow "
              f"({len(run.data.params)} parameters, {len(run.data.metrics)} metrics, "
              f"a model folder of {files} files, {size:.1f} MB)")


if __name__ == "__main__":
    main()
