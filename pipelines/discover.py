"""Unsupervised term discovery: pairs of archive segments that are probably the same word.

Cheap embeddings (the pretrained autoencoder's, or downsampled MFCCs) propose each segment's
nearest neighbours through FAISS; DTW on the frames then checks every candidate, and the
pairs under a cost threshold are kept. No label is read; when the manifest happens to have
labels, the report says how many kept pairs really are the same word.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from index.vectors import build_flat_index, search_index
from seqae.baselines import dtw_pair_costs


@dataclass(frozen=True)
class PairReport:
    """How many pairs were proposed and kept, and (with labels) how pure they are."""

    source: str
    candidates: int
    pairs: int
    threshold: float
    segments_paired: int
    purity: float | None = None  # share of kept pairs with equal labels
    labels_covered: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def candidate_pairs(embeddings: np.ndarray, neighbours: int) -> np.ndarray:
    """(N, E) -> (P, 2) unique row pairs (a < b) where b is among a's nearest or vice versa."""
    index = build_flat_index(embeddings)
    _, ids = search_index(index, embeddings, neighbours + 1)  # the first hit is usually itself
    rows = np.repeat(np.arange(len(embeddings)), ids.shape[1])
    pairs = np.stack([rows, ids.reshape(-1)], axis=1)
    pairs = pairs[(pairs[:, 0] != pairs[:, 1]) & (pairs[:, 1] >= 0)]
    return np.unique(np.sort(pairs, axis=1), axis=0)


def keep_threshold(costs: np.ndarray, threshold: float, keep: float) -> float:
    """A given cost threshold, or else the ``keep`` quantile of the candidates' costs."""
    if threshold > 0:
        return float(threshold)
    return float(np.quantile(costs, keep)) if len(costs) else 0.0


def discover_pairs(
    features: list[np.ndarray],
    embeddings: np.ndarray,
    neighbours: int = 5,
    threshold: float = 0.0,
    keep: float = 0.2,
    labels: np.ndarray | None = None,
    source: str = "model",
) -> tuple[np.ndarray, PairReport]:
    """Pairs of segments whose DTW cost is under the threshold -> ((P, 2) rows, report)."""
    candidates = candidate_pairs(embeddings, neighbours)
    costs = dtw_pair_costs(features, candidates)
    limit = keep_threshold(costs, threshold, keep)
    pairs = candidates[costs <= limit]
    return pairs, pair_report(pairs, len(candidates), limit, labels, source)


def label_pairs(labels: np.ndarray) -> np.ndarray:
    """(P, 2) every pair of rows that share a non-empty label."""
    groups: dict[str, list[int]] = {}
    for row, label in enumerate(labels):
        if label:
            groups.setdefault(str(label), []).append(row)
    pairs = [(a, b) for rows in groups.values() for i, a in enumerate(rows) for b in rows[i + 1 :]]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def pair_report(
    pairs: np.ndarray,
    candidates: int,
    threshold: float,
    labels: np.ndarray | None,
    source: str,
) -> PairReport:
    purity = covered = None
    if labels is not None and len(labels) and all(labels) and len(pairs):
        purity = float(np.mean(labels[pairs[:, 0]] == labels[pairs[:, 1]]))
        covered = len(set(labels[pairs.reshape(-1)]))
    return PairReport(
        source=source,
        candidates=candidates,
        pairs=len(pairs),
        threshold=threshold,
        segments_paired=len(np.unique(pairs)),
        purity=purity,
        labels_covered=covered,
    )
