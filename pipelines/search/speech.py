"""Answer a spoken query against an index directory."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from index import Hit, SearchIndex
from index.frames import FrameStore, has_frames
from pipelines.io.extract import segment_features
from pipelines.io.manifest import Segment
from pipelines.search.build import FRAMES_NAME, open_index_with_model
from pipelines.search.rerank import DEFAULT_WEIGHT, fused_scores
from seqae.errors import SeqaeError

MERGE_DEPTH = 20  # candidates searched per hit asked for, so that merging still leaves k


@dataclass(frozen=True)
class Query:
    """A query clip: a file, optionally a span of it."""

    path: Path
    start: float | None = None
    end: float | None = None


def search_audio(
    index_dir: Path,
    queries: list[Query],
    k: int = 10,
    rerank_k: int = 0,
    weight: float = DEFAULT_WEIGHT,
    nprobe: int | None = None,
    ef_search: int | None = None,
    opened: tuple | None = None,
) -> list[list[Hit]]:
    """Embed each query with the index's own model and return its top ``k`` hits.

    ``opened``: ``open_index_with_model(index_dir)``, if the caller has it already.

    ``nprobe`` (IVF) and ``ef_search`` (HNSW) apply to these queries only; by default the
    index's tuned values. With ``rerank_k`` > 0 the index proposes that many candidates and
    DTW over their stored frames re-orders them (see pipelines.search.rerank); the hits' scores are
    then the fused ones.
    """
    index, bundle = opened or open_index_with_model(index_dir)
    features = [
        segment_features(Segment(q.path, q.start, q.end), bundle.features)[0] for q in queries
    ]
    vectors = bundle.embed(features)
    return search_features(index, features, vectors, k, rerank_k, weight, nprobe, ef_search)


def search_features(
    index: SearchIndex,
    features: list[np.ndarray],
    vectors: np.ndarray,
    k: int = 10,
    rerank_k: int = 0,
    weight: float = DEFAULT_WEIGHT,
    nprobe: int | None = None,
    ef_search: int | None = None,
) -> list[list[Hit]]:
    """``search_audio`` for queries already turned into features and embedded by the index's
    own model: a process that keeps the index and its model open searches through this."""
    depth = min(len(index), max(k, rerank_k) * MERGE_DEPTH)  # room for overlapping windows
    proposals = index.search(vectors, depth, nprobe=nprobe, ef_search=ef_search)
    if rerank_k <= 0:
        return [merge_overlaps(hits, k) for hits in proposals]
    frames = _open_frames(index.path, len(index))
    results = []
    for query, proposed in zip(features, proposals, strict=True):
        candidates = merge_overlaps(proposed, rerank_k)
        first_stage = np.array([h.score for h in candidates])
        fused = fused_scores(query, [frames[h.id] for h in candidates], first_stage, weight)
        order = np.argsort(-fused, kind="stable")[:k]
        results.append(
            [replace(candidates[i], rank=r + 1, score=float(fused[i])) for r, i in enumerate(order)]
        )
    return results


def merge_overlaps(hits: list[Hit], k: int) -> list[Hit]:
    """Non-maximum suppression: of hits that overlap in time in one file, only the best-scored
    stays (dense windows over a long recording hit one spoken term many times); re-ranked.

    Segments cut from a manifest or by voice activity do not overlap and all stay.
    """
    kept: list[Hit] = []
    spans: dict[str, list[tuple[float, float]]] = {}  # kept spans per file
    for hit in sorted(hits, key=lambda h: -h.score):
        start, end = hit.metadata.get("start") or 0.0, hit.metadata.get("end") or 0.0
        taken = spans.setdefault(str(hit.metadata.get("path")), [])
        if not any(min(end, e) > max(start, s) for s, e in taken):
            taken.append((start, end))
            kept.append(hit)
            if len(kept) == k:
                break
    return [replace(hit, rank=rank) for rank, hit in enumerate(kept, start=1)]


def _open_frames(index_dir: Path, count: int) -> FrameStore:
    if not has_frames(index_dir, FRAMES_NAME):
        raise SeqaeError(
            f"{index_dir}: holds no frames to re-rank with; embed with --store-frames "
            "and build the index again"
        )
    frames = FrameStore(index_dir, FRAMES_NAME)
    if len(frames) != count:
        raise SeqaeError(
            f"{index_dir}: holds frames of {len(frames)} segments but {count} vectors; "
            "build the index again to re-rank"
        )
    return frames
