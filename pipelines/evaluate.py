"""Query-by-example evaluation of a model beside the downsampling and DTW baselines."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pipelines.extract import Extraction, extract_features
from pipelines.manifest import read_manifest
from pipelines.rerank import reranked_similarity
from seqae.baselines import cosine_similarity, downsample, dtw_similarity
from seqae.bundle import load_bundle
from seqae.errors import SeqaeError
from seqae.metrics import qbe_scores


@dataclass(frozen=True)
class MethodScore:
    """Retrieval quality and speed of one method on one query set."""

    method: str
    map: float
    precision_at_10: float
    queries: int
    seconds_per_query: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class QbeReport:
    """All methods' scores, and what was skipped on the way."""

    scores: list[MethodScore]
    archive_size: int
    skipped: list[str]


def _labels(extraction: Extraction, source: Path) -> np.ndarray:
    labels = np.array([s.label for s in extraction.segments])
    if len(labels) and not all(labels):
        raise SeqaeError(f"{source}: every segment needs a 'label' to be evaluated")
    return labels


def _timed(name: str, similarity: Callable[[], np.ndarray], ql, al) -> MethodScore:
    started = time.perf_counter()
    matrix = similarity()
    seconds = (time.perf_counter() - started) / max(1, len(ql))
    scores = qbe_scores(matrix, ql, al, k=10)
    return MethodScore(name, scores["map"], scores["p@10"], scores["queries"], seconds)


def evaluate_qbe(
    run: Path,
    queries: Path,
    archive: Path,
    baselines: bool = True,
    progress: Callable[[int], None] | None = None,
    rerank_k: int = 100,
) -> QbeReport:
    """Score the model in ``run`` (and the baselines) on ``queries`` searched in ``archive``.

    With ``rerank_k`` > 0 the two-stage search (model, then DTW over its top ``rerank_k``) is
    scored too; its time per query includes the first stage.
    """
    bundle = load_bundle(run)
    query_segments, archive_segments = read_manifest(queries), read_manifest(archive)
    q = extract_features(query_segments, bundle.features, progress=progress)
    a = extract_features(archive_segments, bundle.features, progress=progress)
    ql, al = _labels(q, queries), _labels(a, archive)
    if not np.isin(ql, al).any():
        raise SeqaeError(f"{queries}: no query label occurs in {archive}")
    archive_vectors = bundle.embed(a.features)

    def model() -> np.ndarray:
        return cosine_similarity(bundle.embed(q.features), archive_vectors)

    scores = [_timed(f"model {bundle.model_id}", model, ql, al)]
    if rerank_k > 0:

        def two_stage() -> np.ndarray:
            return reranked_similarity(q.features, a.features, model(), rerank_k)

        scores.append(_timed(f"model + DTW re-rank of top {rerank_k}", two_stage, ql, al))
    if baselines:
        archive_down = np.stack([downsample(f) for f in a.features])
        scores.append(
            _timed(
                "MFCC downsampled x10",
                lambda: cosine_similarity(
                    np.stack([downsample(f) for f in q.features]), archive_down
                ),
                ql,
                al,
            )
        )
        scores.append(_timed("DTW", lambda: dtw_similarity(q.features, a.features), ql, al))
    skipped = [reason for _, reason in q.skipped + a.skipped]
    return QbeReport(scores=scores, archive_size=len(al), skipped=skipped)
