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


BETA = 999.9  # NIST's cost of a false alarm against a miss (STD 2006, OpenKWS)


@dataclass(frozen=True)
class TermDetections:
    """One term's ranked detections: their scores, which are correct, and its true count."""

    scores: np.ndarray  # (D,)
    correct: np.ndarray  # (D,) bool, as ``judge`` gives
    occurrences: int


def _twv_gains(terms: Sequence[TermDetections], seconds: float, beta: float):
    """Scores (descending) and each detection's share of TWV when it is decided YES.

    TWV(θ) = 1 - mean over terms of [P_miss(θ) + β P_FA(θ)], P_miss = 1 - found / true,
    P_FA = false alarms / (seconds - true): one trial per second of speech, as NIST counts
    them. Rewritten as a sum over YES detections: a hit adds 1 / (|terms| true), a false
    alarm takes β / (|terms| (seconds - true)).
    """
    used = [t for t in terms if t.occurrences > 0]
    if not used:
        return np.zeros(0), np.zeros(0)
    scores = np.concatenate([np.asarray(t.scores, np.float64) for t in used])
    gains = np.concatenate(
        [
            np.where(
                np.asarray(t.correct, bool),
                1.0 / t.occurrences,
                -beta / max(seconds - t.occurrences, 1.0),
            )
            for t in used
        ]
    ) / len(used)
    order = np.argsort(-scores, kind="stable")
    return scores[order], gains[order]


def twv_at(
    terms: Sequence[TermDetections], seconds: float, threshold: float, beta: float = BETA
) -> float:
    """Term-weighted value when detections scoring at least ``threshold`` are decided YES
    (terms with no true occurrence are left out, as NIST leaves them out)."""
    scores, gains = _twv_gains(terms, seconds, beta)
    return float(gains[scores >= threshold].sum())


def maximum_twv(
    terms: Sequence[TermDetections], seconds: float, beta: float = BETA
) -> tuple[float, float]:
    """(MTWV, its threshold): the best TWV over every threshold. Deciding nothing YES is worth
    0, so MTWV >= 0; its threshold is then +inf."""
    scores, gains = _twv_gains(terms, seconds, beta)
    if not len(scores):
        return 0.0, float("inf")
    value = np.cumsum(gains)
    last_of_ties = np.append(scores[1:] != scores[:-1], True)  # a threshold takes all ties
    value, at = value[last_of_ties], scores[last_of_ties]
    best = int(np.argmax(value))
    if value[best] <= 0:
        return 0.0, float("inf")
    return float(value[best]), float(at[best])


def held_out_twv(
    terms: Sequence[TermDetections], seconds: float, beta: float = BETA
) -> tuple[float, list[float]]:
    """ATWV with a threshold the scored terms never saw: the terms are split in two halves
    (alternately, in the order given); each half is scored at the other half's MTWV
    threshold, and the two values are averaged over all terms. Returns (ATWV, thresholds)."""
    used = [t for t in terms if t.occurrences > 0]
    halves = [used[0::2], used[1::2]]
    if not halves[1]:
        return 0.0, []
    thresholds = [maximum_twv(half, seconds, beta)[1] for half in halves]
    value = sum(
        len(half) * twv_at(half, seconds, thresholds[1 - n], beta) for n, half in enumerate(halves)
    )
    return float(value / len(used)), thresholds
