"""Perturbed copies of sentences, as queries that should find their originals.

Each copy gets ``max(1, round(rate * words))`` edits, each one of: drop a word, swap two
neighbouring words, or substitute a word with one drawn from the corpus's own words (as often
as they occur there). Words are the sentence's whitespace-separated pieces.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

OPERATIONS = ("drop", "swap", "substitute")


class Perturber:
    """Seeded word drops, swaps and substitutions; substitutes come from ``corpus``."""

    def __init__(self, corpus: Sequence[str], rate: float = 0.15, seed: int = 0) -> None:
        counts = Counter(word for sentence in corpus for word in sentence.split())
        self.words = list(counts)
        self.weights = np.array([counts[w] for w in self.words], dtype=np.float64)
        self.weights /= self.weights.sum()
        self.rate = rate
        self.rng = np.random.default_rng(seed)

    def edit(self, words: list[str], operation: str) -> list[str]:
        """One edit of ``words`` (a new list); a drop or swap needs two words or more."""
        rng, words = self.rng, list(words)
        if operation == "drop" and len(words) > 1:
            del words[rng.integers(len(words))]
        elif operation == "swap" and len(words) > 1:
            at = int(rng.integers(len(words) - 1))
            words[at], words[at + 1] = words[at + 1], words[at]
        elif operation == "substitute" or len(words) <= 1:
            at = int(rng.integers(len(words)))
            for _ in range(10):  # another word than the one replaced, if the corpus has one
                word = self.words[rng.choice(len(self.words), p=self.weights)]
                if word != words[at]:
                    break
            words[at] = word
        return words

    def __call__(self, sentence: str) -> str:
        words = sentence.split()
        for _ in range(max(1, round(self.rate * len(words)))):
            words = self.edit(words, OPERATIONS[self.rng.integers(len(OPERATIONS))])
        return " ".join(words)
