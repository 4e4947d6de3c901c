"""Two-stage search: the index proposes candidates, DTW over their stored frames re-orders them.

The final score fuses both stages: each is standardised over the candidate list and the two
are mixed with ``weight`` on the embedding's side. Either alone can be the weaker judge on a
given archive (DTW is thrown by other voices, the embedding by near-homophones); the fusion is
at least as good as the better one on the benchmarks in docs/benchmarks.md.

DTW here reads frames averaged in runs of ``POOL`` (20 ms instead of 10 ms): a quarter of the
alignment work, for a re-ranking that is as good within 0.005 MAP on those benchmarks.
"""

from __future__ import annotations

import numpy as np

from seqae.dtw import dtw_similarity

DEFAULT_WEIGHT = 0.5
DEFAULT_DEPTH = 30
POOL = 2


def pool_frames(frames: np.ndarray, step: int = POOL) -> np.ndarray:
    """(T, D) -> (ceil(T / step), D): the mean of each run of ``step`` frames."""
    if step <= 1 or len(frames) <= 1:
        return np.asarray(frames)
    runs = -(-len(frames) // step)
    pad = runs * step - len(frames)
    padded = np.concatenate([frames, np.repeat(frames[-1:], pad, axis=0)])  # repeat the last
    return padded.reshape(runs, step, frames.shape[1]).mean(axis=1)


def _standardise(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def fused_scores(
    query: np.ndarray,
    candidates: list[np.ndarray],
    first_stage: np.ndarray,
    weight: float = DEFAULT_WEIGHT,
) -> np.ndarray:
    """(K,) fused scores of K candidates: their (T_i, D) frames and first-stage similarities."""
    if not candidates:
        return np.zeros(0)
    pooled = [pool_frames(c) for c in candidates]
    dtw = dtw_similarity([pool_frames(query)], pooled)[0]  # (K,) negated DTW costs
    return weight * _standardise(np.asarray(first_stage, np.float64)) + (
        1.0 - weight
    ) * _standardise(dtw)


def rerank_rows(
    query: np.ndarray,
    similarity: np.ndarray,
    frames,
    depth: int,
    weight: float = DEFAULT_WEIGHT,
) -> tuple[np.ndarray, np.ndarray]:
    """Re-order the top ``depth`` of a first-stage (N,) similarity row.

    Returns (order, scores): the re-ranked candidate rows, best first, with their fused
    scores. ``frames[row]`` gives a candidate's (T, D) frames.
    """
    depth = min(depth, len(similarity))
    top = np.argsort(-similarity, kind="stable")[:depth]
    fused = fused_scores(query, [frames[int(r)] for r in top], similarity[top], weight)
    order = np.argsort(-fused, kind="stable")
    return top[order], fused[order]


def reranked_similarity(
    queries: list[np.ndarray],
    archive: list[np.ndarray],
    similarity: np.ndarray,
    depth: int,
    weight: float = DEFAULT_WEIGHT,
) -> np.ndarray:
    """(Q, N) similarity whose order is the two-stage ranking, for scoring full rankings.

    The re-ranked top ``depth`` come first (in fused order), the rest keep the first stage's.
    """
    out = np.empty_like(similarity, dtype=np.float64)
    for q, (query, row) in enumerate(zip(queries, similarity, strict=True)):
        top, _ = rerank_rows(query, row, archive, depth, weight)
        rest = np.setdiff1d(np.argsort(-row, kind="stable"), top, assume_unique=True)
        rest = rest[np.argsort(-row[rest], kind="stable")]
        ranking = np.concatenate([top, rest])
        out[q, ranking] = -np.arange(len(ranking), dtype=np.float64)
    return out
