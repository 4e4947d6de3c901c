"""Recall of an approximate index against exact search, and search parameters tuned on it.

Queries here are stored vectors, each searched *leaving itself out*: its own id is dropped
from both the exact and the approximate results, so it stands in for a new query from the
same distribution instead of one that trivially finds itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import faiss
import numpy as np
from faiss.contrib.evaluation import knn_intersection_measure
from faiss.contrib.exhaustive_search import knn_ground_truth

from index.params import list_count, search_parameters, tunable
from index.vectors import normalize, search_index

EF_SEARCH_LADDER = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
DEFAULT_TARGET = 0.98  # stored vectors as queries overstate HNSW recall for new ones by 0.01-0.02


def exact_neighbours(
    queries: np.ndarray, vectors: Iterable[np.ndarray], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k cosine (scores, ids), each (nq, k), over vectors given batch by batch."""
    unit_queries = normalize(queries)
    batches = (normalize(batch) for batch in vectors)
    scores, ids = knn_ground_truth(unit_queries, batches, k, metric_type=faiss.METRIC_INNER_PRODUCT)
    return scores.astype(np.float32), ids.astype(np.int64)


def without_self(ids: np.ndarray, own: np.ndarray, k: int) -> np.ndarray:
    """(nq, k + 1) ids -> (nq, k): each row without its own id (or its last entry)."""
    if ids.ndim != 2 or ids.shape[0] != len(own) or ids.shape[1] < k + 1:
        raise ValueError(f"need ({len(own)}, >= {k + 1}) ids, got {ids.shape}")
    keep = ids != np.asarray(own)[:, None]  # (nq, k + 1)
    keep[keep.sum(axis=1) > k, k] = False  # the query was not found: drop the last instead
    return ids[keep].reshape(len(own), -1)[:, :k]


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    """Share of the exact top-k ids that the approximate top-k also holds (both (nq, k))."""
    if found.shape != exact.shape or found.ndim != 2:
        raise ValueError(f"found {found.shape} and exact {exact.shape} must be equal (nq, k)")
    return float(knn_intersection_measure(found, exact))


def leave_one_out_recall(
    index: faiss.Index,
    queries: np.ndarray,
    own: np.ndarray,
    exact: np.ndarray,
    params: faiss.SearchParameters | None = None,
) -> float:
    """Recall@k of ``index`` for stored ``queries`` (ids ``own``); ``exact`` is (nq, k + 1)."""
    k = exact.shape[1] - 1
    _, found = search_index(index, queries, k + 1, params=params)
    return recall_at_k(without_self(found, own, k), without_self(exact, own, k))


@dataclass(frozen=True)
class Tuning:
    """The smallest search parameter reaching the target recall, and the recall it gave."""

    nprobe: int | None
    ef_search: int | None
    recall: float


def tune_search(
    index: faiss.Index,
    queries: np.ndarray,
    own: np.ndarray,
    exact: np.ndarray,
    target: float = DEFAULT_TARGET,
) -> Tuning:
    """Walk nprobe (IVF) or efSearch (HNSW) up until leave-one-out recall reaches ``target``."""
    kind = tunable(index)
    if kind is None:
        return Tuning(None, None, leave_one_out_recall(index, queries, own, exact))
    k = exact.shape[1] - 1
    if kind == "nprobe":
        lists = list_count(index)
        ladder = [2**i for i in range(lists.bit_length()) if 2**i < lists] + [lists]
    else:
        ladder = [ef for ef in EF_SEARCH_LADDER if ef >= k + 1]
    recall = 0.0
    for value in ladder:
        settings = {kind: value}
        recall = leave_one_out_recall(
            index, queries, own, exact, search_parameters(index, **settings)
        )
        if recall >= target:
            break
    return Tuning(settings.get("nprobe"), settings.get("ef_search"), recall)
