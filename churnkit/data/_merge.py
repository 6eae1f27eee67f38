"""Customer ids of an event table looked up by merging, when the table is in customer order.

An event table exported ordered by customer (or written by churnkit) holds each
customer's id in one run of rows, the runs in the order of the sorted customer
ids. Its ids are then found in the sorted customers' ids by one pass over both,
comparing bytes, instead of hashing every one of tens of millions of values
into a table of a million ids. :func:`merged_positions` does that pass and gives
up (returns None) as soon as the rows are not in that order, so that the caller
hashes them instead; the positions it returns are the same either way.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from churnkit._core.jit import cached_njit

__all__ = ["merged_positions", "sorted_text"]


@cached_njit()
def _compare(a: np.ndarray, a0: int, a1: int, b: np.ndarray, b0: int, b1: int) -> int:
    """-1, 0 or 1 as the bytes ``a[a0:a1]`` sort before, equal or after ``b[b0:b1]``."""
    la = a1 - a0
    lb = b1 - b0
    for k in range(min(la, lb)):
        x = a[a0 + k]
        y = b[b0 + k]
        if x != y:
            return -1 if x < y else 1
    if la == lb:
        return 0
    return -1 if la < lb else 1


@cached_njit()
def _merge_chunk(data: np.ndarray, offsets: np.ndarray, valid: np.ndarray,  # noqa: PLR0913
                 kdata: np.ndarray, koffsets: np.ndarray, j: int, out: np.ndarray) -> int:
    """Positions of one chunk's values among the known values, merging from known ``j``.

    ``out[i]`` is the position of value ``i`` among the sorted known values, or -1.
    Returns where the merge stands for the next chunk, or -1 when a value sorts
    before one already passed (rows not in customer order: ``out`` is then unusable).
    """
    n = offsets.shape[0] - 1
    m = koffsets.shape[0] - 1
    prev = -1  # the last present row, whose value the next rows often repeat
    for i in range(n):
        if not valid[i]:
            out[i] = -1
            continue
        s = offsets[i]
        e = offsets[i + 1]
        if prev >= 0 and _compare(data, s, e, data, offsets[prev], offsets[prev + 1]) == 0:
            out[i] = out[prev]
            prev = i
            continue
        # the merge is right only for values after every known value already passed
        if j > 0 and _compare(data, s, e, kdata, koffsets[j - 1], koffsets[j]) <= 0:
            return -1
        c = 1
        while j < m:
            c = _compare(data, s, e, kdata, koffsets[j], koffsets[j + 1])
            if c <= 0:
                break
            j += 1
        out[i] = j if (j < m and c == 0) else -1
        prev = i
    return j


@cached_njit()
def _increasing(data: np.ndarray, offsets: np.ndarray) -> bool:
    """Whether the values are strictly increasing, byte by byte."""
    for i in range(1, offsets.shape[0] - 1):
        if _compare(data, offsets[i - 1], offsets[i], data, offsets[i], offsets[i + 1]) >= 0:
            return False
    return True


def _buffers(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A string chunk's bytes, offsets (int64) and validity (bool), without copying the bytes."""
    _, off_buf, data_buf = chunk.buffers()
    kind = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(off_buf, dtype=kind)[chunk.offset:chunk.offset + len(chunk) + 1]
    data = (np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None
            else np.zeros(0, dtype=np.uint8))
    valid = (np.ones(len(chunk), dtype=np.bool_) if chunk.null_count == 0
             else chunk.is_valid().to_numpy(zero_copy_only=False))
    return data, offsets.astype(np.int64, copy=False), valid


def sorted_text(values: object) -> pa.Array | None:
    """``values`` (str) as one Arrow string array if they are strictly increasing by bytes, else None.

    Python orders ``str`` by code points, which is the byte order of their UTF-8
    encodings, so sorted Python ids stay sorted here.
    """
    try:
        arr = pa.array(values, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if arr.null_count:
        return None
    data, offsets, _ = _buffers(arr)
    return arr if _increasing(data, offsets) else None


def merged_positions(values: pa.ChunkedArray, known: pa.Array) -> np.ndarray | None:
    """Each value's position in ``known`` (from :func:`sorted_text`), -1 if none; None if unsorted.

    Examples
    --------
    >>> known = sorted_text(["a", "b", "d"])
    >>> merged_positions(pa.chunked_array([["a", "a", None], ["c", "d"]]), known).tolist()
    [0, 0, -1, -1, 2]
    >>> merged_positions(pa.chunked_array([["b", "a"]]), known) is None
    True
    """
    kdata, koffsets, _ = _buffers(known)
    out = np.empty(len(values), dtype=np.int64)
    at = 0
    j = 0
    for chunk in values.chunks:
        if not len(chunk):
            continue
        data, offsets, valid = _buffers(chunk)
        j = _merge_chunk(data, offsets, valid, kdata, koffsets, j, out[at:at + len(chunk)])
        if j < 0:
            return None
        at += len(chunk)
    return out
