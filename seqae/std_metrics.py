"""Spoken-term detection scores: ranked detections (file, start, end) against true occurrences.

A detection is correct when it overlaps a not-yet-found occurrence of the term in the same
file by at least half of the shorter of the two; each occurrence is found at most once, so a
second detection of it counts as a false alarm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Span = tuple[str, float, float]  # (file, start s, end s)


def overlaps_enough(a: Span, b: Span) -> bool:
    """Same file, and the overlap is at least half of the shorter span."""
    if a[0] != b[0]:
        return False
    shared = min(a[2], b[2]) - max(a[1], b[1])
    return shared > 0 and shared >= 0.5 * min(a[2] - a[1], b[2] - b[1])


def judge(detections: Sequence[Span], truth: Sequence[Span]) -> np.ndarray:
    """(D,) bool: which of the ranked ``detections`` find a new true occurrence."""
    found = np.zeros(len(truth), dtype=bool)
    correct = np.zeros(len(detections), dtype=bool)
    for d, detection in enumerate(detections):
        for t, occurrence in enumerate(truth):
            if not found[t] and overlaps_enough(detection, occurrence):
                found[t] = correct[d] = True
                break
    return correct


@dataclass(frozen=True)
class TermScores:
    """One query's scores."""

    average_precision: float
    precision_at_10: float
    recall_at_fa: dict[float, float]  # false alarms per hour -> recall


def term_scores(
    correct: np.ndarray, occurrences: int, hours: float, fa_rates: Sequence[float] = (1.0, 10.0)
) -> TermScores:
    """Scores of one ranked list judged by ``judge``; ``occurrences`` true ones in ``hours``.

    AP divides by all true occurrences, so those never detected count as misses. Recall at
    N false alarms per hour: the share found before the (N x hours + 1)-th false alarm.
    """
    correct = np.asarray(correct, dtype=bool)
    ranks = np.flatnonzero(correct) + 1
    ap = float(np.sum(np.arange(1, len(ranks) + 1) / ranks) / occurrences) if occurrences else 0.0
    p10 = float(correct[:10].sum() / 10)
    false_alarms = np.cumsum(~correct)
    recall = {}
    for rate in fa_rates:
        allowed = int(np.floor(rate * hours))
        within = false_alarms <= allowed
        recall[rate] = float(correct[within].sum() / occurrences) if occurrences else 0.0
    return TermScores(ap, p10, recall)
