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

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from churnkit._core.jit import cached_njit
from churnkit._core.threads import threads_for

__all__ = ["chunk_runs", "merged_positions", "sorted_text"]


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


@cached_njit(nogil=True)
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
    """A string chunk's bytes, offsets (int32 or int64) and validity (bool), without copying."""
    _, off_buf, data_buf = chunk.buffers()
    kind = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(off_buf, dtype=kind)[chunk.offset:chunk.offset + len(chunk) + 1]
    data = (np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None
            else np.zeros(0, dtype=np.uint8))
    valid = (np.ones(len(chunk), dtype=np.bool_) if chunk.null_count == 0
             else chunk.is_valid().to_numpy(zero_copy_only=False))
    return data, offsets, valid


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


@cached_njit()
def _lower_bound(data: np.ndarray, s: int, e: int, kdata: np.ndarray, koffsets: np.ndarray) -> int:
    """Position of the first known value not before the bytes ``data[s:e]``."""
    lo = 0
    hi = koffsets.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if _compare(kdata, koffsets[mid], koffsets[mid + 1], data, s, e) < 0:
            lo = mid + 1
        else:
            hi = mid
    return lo


_Buffers = tuple[np.ndarray, np.ndarray, np.ndarray]


def _present(buffers: list[_Buffers], *, last: bool) -> tuple[_Buffers, int] | None:
    """The first chunk's buffers with a present value, and the row of its first (or last) one."""
    for buf in buffers:
        valid = buf[2]
        if valid.any():
            return buf, (len(valid) - 1 - int(np.argmax(valid[::-1])) if last
                         else int(np.argmax(valid)))
    return None


class _Part:
    """Consecutive chunks merged by one thread: their buffers, rows and first/last values."""

    def __init__(self, chunks: list[tuple[int, pa.Array]]) -> None:
        self.chunks = [(at, _buffers(chunk)) for at, chunk in chunks]
        buffers = [buf for _, buf in self.chunks]
        self.first = _present(buffers, last=False)
        self.last = _present(buffers[::-1], last=True)

    def merge(self, kdata: np.ndarray, koffsets: np.ndarray, out: np.ndarray) -> int:
        """Merge the chunks in order, starting where the first value belongs; -1 if unsorted."""
        j = 0
        if self.first is not None:
            (data, offsets, _), i = self.first
            j = _lower_bound(data, offsets[i], offsets[i + 1], kdata, koffsets)
        for at, (data, offsets, valid) in self.chunks:
            j = _merge_chunk(data, offsets, valid, kdata, koffsets, j, out[at:at + len(valid)])
            if j < 0:
                return -1
        return j


def chunk_runs(values: pa.ChunkedArray, parts: int) -> list[list[tuple[int, pa.Array]]]:
    """The non-empty chunks, each with its first row, in at most ``parts`` runs of similar size."""
    chunks, at = [], 0
    for chunk in values.chunks:
        if len(chunk):
            chunks.append((at, chunk))
            at += len(chunk)
    size = -(-at // max(parts, 1))
    runs: list[list[tuple[int, pa.Array]]] = []
    for start, chunk in chunks:
        if not runs or start >= size * len(runs):
            runs.append([])
        runs[-1].append((start, chunk))
    return runs


def _joined(parts: list[_Part], ends: list[int], kdata: np.ndarray, koffsets: np.ndarray) -> bool:
    """Whether each part starts where a merge of all rows in one pass would have stood.

    That pass gives up on a value sorting before the last known value it passed,
    unless the value repeats the row before it; so does this check at each seam.
    """
    before: tuple[_Buffers, int] | None = None
    j = 0
    for part, end in zip(parts, ends, strict=True):
        if part.first is None:
            continue
        if before is not None:
            (a, a_off, _), ia = before
            (b, b_off, _), ib = part.first
            same = _compare(b, b_off[ib], b_off[ib + 1], a, a_off[ia], a_off[ia + 1]) == 0
            if not same and j > 0 and _compare(b, b_off[ib], b_off[ib + 1], kdata,
                                                koffsets[j - 1], koffsets[j]) <= 0:
                return False
        before, j = part.last, end
    return True


def merged_positions(values: pa.ChunkedArray, known: pa.Array, parts: int | None = None
                     ) -> np.ndarray | None:
    """Each value's position in ``known`` (from :func:`sorted_text`), -1 if none; None if unsorted.

    Large tables are merged in ``parts`` runs of chunks at once (default: numba's
    threads), each from where its first value belongs; the positions, and whether
    the rows count as sorted, are those of one pass over every row.

    Examples
    --------
    >>> known = sorted_text(["a", "b", "d"])
    >>> merged_positions(pa.chunked_array([["a", "a", None], ["c", "d"]]), known).tolist()
    [0, 0, -1, -1, 2]
    >>> merged_positions(pa.chunked_array([["b", "a"]]), known) is None
    True
    >>> merged_positions(pa.chunked_array([["a"], ["b"], ["a"]]), known, parts=3) is None
    True
    """
    kdata, koffsets, _ = _buffers(known)
    out = np.empty(len(values), dtype=np.int32 if len(known) < 2**31 - 1 else np.int64)
    runs = [_Part(run) for run in chunk_runs(values, parts or threads_for(len(values)))]
    if not runs:
        return out
    if len(runs) == 1:
        ends = [runs[0].merge(kdata, koffsets, out)]
    else:
        with ThreadPoolExecutor(len(runs)) as pool:  # the merge releases the GIL
            ends = list(pool.map(lambda run: run.merge(kdata, koffsets, out), runs))
    if min(ends) < 0 or not _joined(runs, ends, kdata, koffsets):
        return None
    return out
