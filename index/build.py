"""Build an index from vectors that arrive batch by batch: train on a sample, add, tune.

Plain functions over numpy arrays, so an index of any size is built without holding its
vectors in memory twice: the caller gives the batches (the shards of an embedding directory,
or slices of one array) and can give them again for the exact search that tuning needs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import faiss
import numpy as np

from index.factory import make_index, train_index, training_size
from index.params import tunable
from index.recall import DEFAULT_TARGET, Tuning, exact_neighbours, tune_search
from index.vectors import add_vectors

logger = logging.getLogger(__name__)

BATCH = 65536
TUNE_QUERIES = 500
RECALL_K = 10


def sample_rows(count: int, size: int, seed: int) -> np.ndarray:
    """``size`` distinct row numbers below ``count``, sorted, drawn with ``seed``."""
    size = min(size, count)
    return np.sort(np.random.default_rng(seed).choice(count, size=size, replace=False))


def take_rows(batches: Iterable[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` (sorted, distinct) of the matrix that ``batches`` make up, in one pass."""
    parts, start = [], 0
    for batch in batches:
        low, high = np.searchsorted(rows, [start, start + len(batch)])
        parts.append(np.asarray(batch[rows[low:high] - start], dtype=np.float32))
        start += len(batch)
    if not parts or rows.size and rows[-1] >= start:
        raise ValueError(f"row {rows[-1] if rows.size else 0} is beyond the {start} rows given")
    return np.concatenate(parts)


def split_batches(vectors: np.ndarray, size: int = BATCH) -> Iterable[np.ndarray]:
    for start in range(0, len(vectors), size):
        yield vectors[start : start + size]


def add_batches(
    index: faiss.Index,
    batches: Iterable[np.ndarray],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Normalise and append every batch (at most BATCH rows at a time); returns the count."""
    added = 0
    for batch in batches:
        for part in split_batches(np.asarray(batch)):
            add_vectors(index, part)
            added += len(part)
            if progress is not None:
                progress(len(part))
    return added


def new_trained_index(
    factory: str, dim: int, count: int, sample: Callable[[np.ndarray], np.ndarray], seed: int
) -> faiss.Index:
    """An empty index, trained (if it needs to be) on ``sample(rows)`` of random rows."""
    index = make_index(factory, dim)
    size = training_size(index, count)
    if size:
        logger.info("training %s on %d of %d vectors", factory, size, count)
        train_index(index, sample(sample_rows(count, size, seed)))
    return index


def tune_index(
    index: faiss.Index,
    vectors: Callable[[], Iterable[np.ndarray]],
    seed: int,
    target: float = DEFAULT_TARGET,
) -> Tuning | None:
    """Search parameters reaching ``target`` leave-one-out recall@10 on sampled stored rows.

    ``vectors()`` gives the index's vectors in id order; None for an exact (Flat) index or
    one too small to measure.
    """
    if tunable(index) is None or index.ntotal <= RECALL_K + 1:
        return None
    rows = sample_rows(index.ntotal, TUNE_QUERIES, seed)
    queries = take_rows(vectors(), rows)  # (q, d)
    _, exact = exact_neighbours(queries, vectors(), RECALL_K + 1)  # (q, k + 1)
    tuning = tune_search(index, queries, rows, exact, target)
    setting = f"nprobe {tuning.nprobe}" if tuning.nprobe else f"efSearch {tuning.ef_search}"
    logger.info("search default %s: leave-one-out recall@%d %.3f", setting, RECALL_K, tuning.recall)
    if tuning.recall < target:
        logger.warning("recall %.3f stays below %.2f at the largest setting", tuning.recall, target)
    return tuning
