"""Scoring engines beyond the local one: chunked local scoring and Dask.

All engines run the same unit of work, :func:`churnkit.pipeline.score_dataset`,
on partitions of customers split by a stable hash of the customer id, and give
the same scores as :func:`churnkit.score`.
"""

from churnkit.scoring._dask import score_dask
from churnkit.scoring._dask_train import DaskTrainResult, train_dask
from churnkit.scoring._local import ChunkedScoreResult, score_chunked
from churnkit.scoring._partition import partition_of

__all__ = [
    "ChunkedScoreResult",
    "DaskTrainResult",
    "partition_of",
    "score_chunked",
    "score_dask",
    "train_dask",
]
