"""Reconstruction and retrieval measures for sentence autoencoders."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def token_accuracy(references: Sequence[Sequence[int]], outputs: Sequence[Sequence[int]]) -> float:
    """Share of positions where the output has the reference's token, over all sentences.

    Position by position, with the longer of the two lengths as each sentence's count, so a
    missing, extra or shifted token costs as much as a wrong one.
    """
    right = total = 0
    for reference, output in zip(references, outputs, strict=True):
        right += sum(int(a == b) for a, b in zip(reference, output, strict=False))
        total += max(len(reference), len(output))
    return right / max(1, total)


def exact_match(references: Sequence[str], outputs: Sequence[str]) -> float:
    """Share of sentences rebuilt exactly."""
    same = sum(int(a == b) for a, b in zip(references, outputs, strict=True))
    return same / max(1, len(references))


def corpus_bleu(references: Sequence[str], outputs: Sequence[str]) -> float:
    """sacreBLEU's corpus BLEU (4-grams, 13a tokenisation, one reference each), on a 0-1 scale."""
    import sacrebleu

    return sacrebleu.corpus_bleu(list(outputs), [list(references)]).score / 100.0


def recall_at(ranked: np.ndarray, truth: np.ndarray, k: int) -> float:
    """ranked: (Q, >= k) ids best first, truth: (Q,) -> share of queries with the truth in the
    top ``k``."""
    return float((ranked[:, :k] == truth[:, None]).any(axis=1).mean()) if len(truth) else 0.0
