from __future__ import annotations

import itertools

import numpy as np
import pytest

from seqae.baselines import cosine_similarity, downsample, dtw_similarity
from seqae.metrics import average_precision, precision_at, qbe_scores


def _reference_ap(scores, relevant):
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    hits, total = 0, 0.0
    for rank, i in enumerate(order, start=1):
        if relevant[i]:
            hits += 1
            total += hits / rank
    return total / sum(relevant)


def test_average_precision_matches_reference():
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores = rng.standard_normal(30)
        relevant = rng.random(30) < 0.3
        relevant[0] = True
        assert average_precision(scores, relevant) == pytest.approx(_reference_ap(scores, relevant))


def test_ap_examples_and_precision():
    assert average_precision(np.array([3, 2, 1]), np.array([0, 1, 1])) == pytest.approx(
        (1 / 2 + 2 / 3) / 2
    )
    assert precision_at(np.array([3, 2, 1]), np.array([0, 1, 1]), 2) == 0.5
    result = qbe_scores(
        np.array([[0.9, 0.1, 0.5]]), np.array(["a"]), np.array(["a", "b", "a"]), k=2
    )
    assert result["map"] == 1.0 and result["p@2"] == 1.0


def _numpy_dtw(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    cost = 1 - a @ b.T
    acc = np.full((len(a) + 1, len(b) + 1), np.inf)
    acc[0, 0] = 0
    for i, j in itertools.product(range(1, len(a) + 1), range(1, len(b) + 1)):
        acc[i, j] = cost[i - 1, j - 1] + min(acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1])
    return -acc[-1, -1] / (len(a) + len(b))


def test_dtw_matches_numpy_reference():
    rng = np.random.default_rng(1)
    queries = [rng.standard_normal((n, 5)) for n in (4, 7)]
    archive = [rng.standard_normal((n, 5)) for n in (3, 6, 9)]
    ours = dtw_similarity(queries, archive)
    expected = np.array([[_numpy_dtw(q, a) for a in archive] for q in queries])
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-9)


def test_downsample_and_cosine():
    frames = np.arange(20, dtype=np.float32).reshape(10, 2)
    assert downsample(frames, 10).reshape(10, 2).tolist() == frames.tolist()
    assert downsample(frames[:1], 10).shape == (20,)
    similarity = cosine_similarity(np.array([[1.0, 0.0]]), np.array([[2.0, 0.0], [0.0, 3.0]]))
    np.testing.assert_allclose(similarity, [[1.0, 0.0]])
