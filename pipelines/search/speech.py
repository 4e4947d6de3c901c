"""Answer a spoken query against an index directory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from index import Hit, SearchIndex
from index.frames import FrameStore, has_frames
from index.vectors import normalize
from pipelines.io.extract import segment_features
from pipelines.io.manifest import Segment
from pipelines.search import DEFAULT_FUSION, FUSIONS
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
    queries: Sequence[Query | Sequence[Query]],
    k: int = 10,
    rerank_k: int = 0,
    weight: float = DEFAULT_WEIGHT,
    nprobe: int | None = None,
    ef_search: int | None = None,
    opened: tuple | None = None,
    fusion: str = DEFAULT_FUSION,
) -> list[list[Hit]]:
    """Embed each query with the index's own model and return its top ``k`` hits.

    A query is one clip, or several clips of one term (``[Query(a), Query(b)]``), whose
    examples are fused as ``fusion`` says (see ``search_features``).
    ``opened``: ``open_index_with_model(index_dir)``, if the caller has it already.

    ``nprobe`` (IVF) and ``ef_search`` (HNSW) apply to these queries only; by default the
    index's tuned values. With ``rerank_k`` > 0 the index proposes that many candidates and
    DTW over their stored frames re-orders them (see pipelines.search.rerank); the hits' scores are
    then the fused ones.
    """
    index, bundle = opened or open_index_with_model(index_dir)
    terms = [[q] if isinstance(q, Query) else list(q) for q in queries]
    if any(not examples for examples in terms):
        raise SeqaeError("a query needs at least one example clip")
    flat = [q for examples in terms for q in examples]
    features = [segment_features(Segment(q.path, q.start, q.end), bundle.features)[0] for q in flat]
    vectors = bundle.embed(features)
    return search_features(
        index, features, vectors, k, rerank_k, weight, nprobe, ef_search,
        groups=example_groups([len(examples) for examples in terms]), fusion=fusion,
    )  # fmt: skip


def example_groups(sizes: Sequence[int]) -> list[list[int]]:
    """Rows of each term's examples when they are stacked term after term."""
    starts = np.cumsum([0, *sizes])
    return [list(range(a, b)) for a, b in zip(starts[:-1], starts[1:], strict=True)]


def fuse_vectors(vectors: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """(G, D) one vector per group: the mean of its examples' unit vectors."""
    units = normalize(np.asarray(vectors, dtype=np.float32))
    return np.stack([units[list(rows)].mean(axis=0) for rows in groups])


def search_features(
    index: SearchIndex,
    features: list[np.ndarray],
    vectors: np.ndarray,
    k: int = 10,
    rerank_k: int = 0,
    weight: float = DEFAULT_WEIGHT,
    nprobe: int | None = None,
    ef_search: int | None = None,
    groups: Sequence[Sequence[int]] | None = None,
    fusion: str = DEFAULT_FUSION,
) -> list[list[Hit]]:
    """``search_audio`` for queries already turned into features and embedded by the index's
    own model: a process that keeps the index and its model open searches through this.

    ``groups``: the rows of ``features``/``vectors`` that are examples of one term (default:
    every row a term of its own); one list of hits per group. ``fusion`` "mean" searches with
    the mean of the examples' unit vectors; "max" searches with each example and scores a
    candidate by its best match. With re-ranking, each example's DTW score is fused with the
    first stage, and the examples' fused scores are combined in the same way (mean or max).
    """
    if fusion not in FUSIONS:
        raise SeqaeError(f"fusion must be one of {', '.join(FUSIONS)}, not {fusion!r}")
    groups = [list(g) for g in groups] if groups is not None else [[i] for i in range(len(vectors))]
    depth = min(len(index), max(k, rerank_k) * MERGE_DEPTH)  # room for overlapping windows
    if fusion == "mean":
        fused = fuse_vectors(vectors, groups)
        proposals = index.search(fused, depth, nprobe=nprobe, ef_search=ef_search)
    else:
        each = index.search(vectors, depth, nprobe=nprobe, ef_search=ef_search)
        proposals = [_best_of([each[row] for row in rows]) for rows in groups]
    if rerank_k <= 0:
        return [merge_overlaps(hits, k) for hits in proposals]
    frames = _open_frames(index.path, len(index))
    combine = np.mean if fusion == "mean" else np.max
    results = []
    for rows, proposed in zip(groups, proposals, strict=True):
        candidates = merge_overlaps(proposed, rerank_k)
        first_stage = np.array([h.score for h in candidates])
        found = [frames[h.id] for h in candidates]
        scores = combine(
            [fused_scores(features[row], found, first_stage, weight) for row in rows], axis=0
        )
        order = np.argsort(-scores, kind="stable")[:k]
        results.append(
            [
                replace(candidates[i], rank=r + 1, score=float(scores[i]))
                for r, i in enumerate(order)
            ]
        )
    return results


def _best_of(lists: list[list[Hit]]) -> list[Hit]:
    """One ranked list from several examples' lists: each segment with its best score."""
    best: dict[int, Hit] = {}
    for hits in lists:
        for hit in hits:
            if hit.id not in best or hit.score > best[hit.id].score:
                best[hit.id] = hit
    return sorted(best.values(), key=lambda h: -h.score)


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
