"""Retrieval metrics over full rankings (numpy only)."""

from __future__ import annotations

import numpy as np


def average_precision(scores: np.ndarray, relevant: np.ndarray) -> float:
    """Average precision of the full ranking by descending ``scores`` (NaN if none relevant)."""
    relevant = np.asarray(relevant, dtype=bool)
    total = int(relevant.sum())
    if total == 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores), kind="stable")
    hits = relevant[order]
    ranks = np.flatnonzero(hits) + 1  # 1-based ranks of the relevant items
    return float(np.mean(np.arange(1, total + 1) / ranks))


def precision_at(scores: np.ndarray, relevant: np.ndarray, k: int) -> float:
    """Fraction of the top ``k`` that is relevant."""
    order = np.argsort(-np.asarray(scores), kind="stable")[:k]
    return float(np.asarray(relevant, dtype=bool)[order].mean()) if len(order) else float("nan")


def qbe_scores(
    similarity: np.ndarray, query_labels: np.ndarray, archive_labels: np.ndarray, k: int = 10
) -> dict[str, float]:
    """MAP and P@k of a (queries, archive) similarity matrix; unmatched queries are left out."""
    aps, precisions = [], []
    for row, label in zip(similarity, query_labels, strict=True):
        relevant = archive_labels == label
        if not relevant.any():
            continue
        aps.append(average_precision(row, relevant))
        precisions.append(precision_at(row, relevant, k))
    return {"map": float(np.mean(aps)), f"p@{k}": float(np.mean(precisions)), "queries": len(aps)}
