"""Retrieval metrics over full rankings, and the same-different task over pairs."""

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


def average_precision_at_r(scores: np.ndarray, relevant: np.ndarray) -> float:
    """MAP@R's term for one query (Musgrave et al. 2020): AP truncated at R = #relevant."""
    relevant = np.asarray(relevant, dtype=bool)
    total = int(relevant.sum())
    if total == 0:
        return float("nan")
    hits = relevant[np.argsort(-np.asarray(scores), kind="stable")[:total]]
    precision = np.cumsum(hits) / np.arange(1, total + 1)
    return float(np.sum(precision * hits) / total)


def qbe_scores(
    similarity: np.ndarray, query_labels: np.ndarray, archive_labels: np.ndarray, k: int = 10
) -> dict[str, float]:
    """MAP, MAP@R and P@k of a (queries, archive) similarity matrix; unmatched queries are
    left out."""
    aps, at_r, precisions = [], [], []
    for row, label in zip(similarity, query_labels, strict=True):
        relevant = archive_labels == label
        if not relevant.any():
            continue
        aps.append(average_precision(row, relevant))
        at_r.append(average_precision_at_r(row, relevant))
        precisions.append(precision_at(row, relevant, k))
    return {
        "map": float(np.mean(aps)),
        "map@r": float(np.mean(at_r)),
        f"p@{k}": float(np.mean(precisions)),
        "queries": len(aps),
    }


def same_different(similarity: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """The same-different task over every pair of a set (Carlin et al. 2011).

    similarity: (N, N), only the upper triangle is read; labels: (N,). Returns the average
    precision of telling same-word pairs from different-word ones, and the equal error rate.
    """
    from sklearn.metrics import average_precision_score, roc_curve

    rows, cols = np.triu_indices(len(labels), k=1)
    scores = np.asarray(similarity)[rows, cols]
    same = np.asarray(labels)[rows] == np.asarray(labels)[cols]
    if same.all() or not same.any():
        return {"ap": float("nan"), "eer": float("nan"), "pairs": len(same)}
    false_positive, true_positive, _ = roc_curve(same, scores)
    false_negative = 1.0 - true_positive
    crossing = np.argmin(np.abs(false_positive - false_negative))
    eer = (false_positive[crossing] + false_negative[crossing]) / 2.0
    return {
        "ap": float(average_precision_score(same, scores)),
        "eer": float(eer),
        "pairs": len(same),
    }
