"""Stored frames and the two-stage (embedding, then DTW) search."""

from __future__ import annotations

import numpy as np
import pytest

from index.frames import FrameStore, has_frames, pack_frames, save_frames
from pipelines.search.rerank import fused_scores, pool_frames, rerank_rows, reranked_similarity
from seqae.dtw import dtw_similarity


def _sequences(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, 6)).astype(np.float32) for n in (5, 9, 3, 12, 7)]


def test_frames_round_trip_in_half_precision(tmp_path):
    sequences = _sequences()
    save_frames(tmp_path, "f", *pack_frames(sequences, 6))
    assert has_frames(tmp_path, "f") and not has_frames(tmp_path, "g")
    store = FrameStore(tmp_path, "f")
    assert len(store) == 5
    for stored, original in zip((store[i] for i in range(5)), sequences, strict=True):
        assert stored.dtype == np.float32 and stored.shape == original.shape
        np.testing.assert_allclose(stored, original, rtol=1e-3, atol=1e-3)
    with pytest.raises(IndexError):
        store[5]
    with pytest.raises(ValueError, match="expected"):
        pack_frames([np.zeros((3, 4))], 6)


def test_weights_at_the_ends_give_either_stage_alone():
    sequences = _sequences()
    query, candidates = sequences[0], sequences[1:]
    first = np.array([0.9, 0.1, 0.5, 0.3])
    dtw = dtw_similarity([pool_frames(query)], [pool_frames(c) for c in candidates])[0]
    assert (
        np.argsort(-fused_scores(query, candidates, first, 1.0)).tolist()
        == np.argsort(-first).tolist()
    )
    assert (
        np.argsort(-fused_scores(query, candidates, first, 0.0)).tolist()
        == np.argsort(-dtw).tolist()
    )


def test_rerank_only_reorders_the_top():
    sequences = _sequences(1)
    query = sequences[2] + 0.01  # nearly a copy of row 2
    similarity = np.array([0.9, 0.8, 0.7, 0.1, 0.0])  # the first stage ranks row 2 third
    order, scores = rerank_rows(query, similarity, sequences, depth=3, weight=0.0)
    assert order[0] == 2 and sorted(order.tolist()) == [0, 1, 2]
    assert np.all(np.diff(scores) <= 0)
    full = reranked_similarity([query], sequences, similarity[None, :], depth=3, weight=0.0)
    ranking = np.argsort(-full[0]).tolist()
    assert ranking[0] == 2 and ranking[3:] == [3, 4]  # the rest keep the first stage's order


def test_pooling_averages_runs_of_frames():
    frames = np.arange(10, dtype=np.float32).reshape(5, 2)  # rows (0,1), (2,3), ... (8,9)
    np.testing.assert_allclose(pool_frames(frames, 2), [[1, 2], [5, 6], [8, 9]])
    assert pool_frames(frames[:1], 2).shape == (1, 2)
    np.testing.assert_allclose(pool_frames(frames, 1), frames)
