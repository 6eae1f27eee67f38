"""Scoring engines: where the work runs, never what it does.

Every engine reads the customers in partitions (``local``: one partition with
all of them; ``chunked``: a chunk at a time on this machine; ``dask``: on a
Dask cluster), runs the same unit of work, :func:`score_partition`, on each,
adds the partitions' summaries up with :func:`merge_summaries`, and returns a
:class:`ScoreResult`. Partitions are split by a stable hash of the customer id
(:func:`partition_of`), so all engines give the same scores.
"""

from churnkit.scoring._chunked import score_chunked
from churnkit.scoring._dask import score_dask
from churnkit.scoring._dask_train import train_dask
from churnkit.scoring._local import score_local
from churnkit.scoring._partition import partition_of
from churnkit.scoring._result import ScoreResult, merge_summaries, score_paths, write_table
from churnkit.scoring._run import RUN_FILE, config_hash, dump_run, run_record
from churnkit.scoring._unit import SCORE_COLUMNS, score_partition

__all__ = [
    "RUN_FILE",
    "SCORE_COLUMNS",
    "ScoreResult",
    "config_hash",
    "dump_run",
    "merge_summaries",
    "partition_of",
    "run_record",
    "score_chunked",
    "score_dask",
    "score_local",
    "score_partition",
    "score_paths",
    "train_dask",
    "write_table",
]
