from __future__ import annotations

import itertools

import numpy as np
import pytest

from seqae.baselines import cosine_similarity, downsample
from seqae.dtw import dtw_self_similarity, dtw_similarity
from seqae.metrics import (
    average_precision,
    average_precision_at_r,
    precision_at,
    qbe_scores,
    same_different,
)


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


def test_map_at_r_by_hand():
    # relevant ranks 1 and 3 of R = 2: only the first counts within the top R
    assert average_precision_at_r(np.array([3, 2, 1]), np.array([1, 0, 1])) == 0.5
    assert average_precision_at_r(np.array([3, 2, 1]), np.array([1, 1, 0])) == 1.0
    result = qbe_scores(np.array([[0.9, 0.1, 0.5]]), np.array(["a"]), np.array(["a", "b", "b"]))
    assert result["map@r"] == 1.0


def test_same_different_ap_and_eer_against_brute_force():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 4, size=40).astype(str)
    vectors = rng.standard_normal((40, 3)) + (labels.astype(int)[:, None] == np.arange(3)) * 1.5
    similarity = cosine_similarity(vectors, vectors)
    result = same_different(similarity, labels)
    pairs = [(i, j) for i in range(40) for j in range(i + 1, 40)]
    scores = np.array([similarity[i, j] for i, j in pairs])
    same = np.array([labels[i] == labels[j] for i, j in pairs])
    assert result["pairs"] == len(pairs)
    assert result["ap"] == pytest.approx(_reference_ap(scores, same), abs=1e-9)
    # EER: the threshold where misses and false alarms balance, found by brute force
    rates = [((scores[~same] >= t).mean(), (scores[same] < t).mean()) for t in scores]
    best = min(rates, key=lambda r: abs(r[0] - r[1]))
    assert result["eer"] == pytest.approx(sum(best) / 2, abs=0.02)


def test_dtw_self_similarity_matches_the_query_form():
    rng = np.random.default_rng(3)
    sequences = [rng.standard_normal((n, 4)) for n in (3, 8, 5, 6)]
    full = dtw_similarity(sequences, sequences)
    upper = np.triu_indices(4, k=1)
    np.testing.assert_allclose(dtw_self_similarity(sequences)[upper], full[upper])
