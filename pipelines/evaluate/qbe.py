"""Query-by-example evaluation of a model beside the downsampling and DTW baselines."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from pipelines.io.extract import Extraction, extract_features
from pipelines.io.manifest import Segment, read_manifest
from pipelines.search.rerank import reranked_similarity
from pipelines.train.seeds import seed_runs
from seqae.baselines import cosine_similarity, downsample
from seqae.bundle import load_bundle
from seqae.dtw import dtw_self_similarity, dtw_similarity
from seqae.errors import SeqaeError
from seqae.metrics import qbe_scores, same_different


@dataclass(frozen=True)
class MethodScore:
    """Retrieval quality and speed of one method on one query set.

    The same-different figures score every pair of archive segments (a search over the
    archive by its own members); they are None for the two-stage search, which has no
    all-pairs form.
    """

    method: str
    map: float
    map_at_r: float
    precision_at_10: float
    queries: int
    seconds_per_query: float
    same_different_ap: float | None = None
    equal_error_rate: float | None = None
    runs: int = 1
    std: dict[str, float] | None = None  # across runs (seeds), per figure

    def to_dict(self) -> dict:
        return asdict(self)


FIGURES = ("map", "map_at_r", "precision_at_10", "same_different_ap", "equal_error_rate")


def mean_of(name: str, scores: list[MethodScore]) -> MethodScore:
    """One row for several runs: each figure's mean, and its standard deviation in ``std``."""
    if len(scores) == 1:
        return replace(scores[0], method=name)
    values = {
        figure: [getattr(s, figure) for s in scores if getattr(s, figure) is not None]
        for figure in FIGURES
    }
    means = {f: float(np.mean(v)) if v else None for f, v in values.items()}
    return MethodScore(
        method=name,
        queries=scores[0].queries,
        seconds_per_query=float(np.mean([s.seconds_per_query for s in scores])),
        runs=len(scores),
        std={f: float(np.std(v)) for f, v in values.items() if v},
        **means,
    )


@dataclass
class QbeReport:
    """All methods' scores, and what was skipped on the way."""

    scores: list[MethodScore]
    archive_size: int
    skipped: list[str]


def alone(segment: Segment) -> Segment:
    """The segment without its speaker: features of its own, as a search query has."""
    metadata = {k: v for k, v in segment.metadata.items() if k != "speaker"}
    return replace(segment, metadata=metadata)


def _labels(extraction: Extraction, source: Path) -> np.ndarray:
    labels = np.array([s.label for s in extraction.segments])
    if len(labels) and not all(labels):
        raise SeqaeError(f"{source}: every segment needs a 'label' to be evaluated")
    return labels


def _score(
    name: str,
    similarity: Callable[[], np.ndarray],
    ql: np.ndarray,
    al: np.ndarray,
    archive_similarity: Callable[[], np.ndarray] | None,
) -> MethodScore:
    started = time.perf_counter()
    matrix = similarity()
    seconds = (time.perf_counter() - started) / max(1, len(ql))
    scores = qbe_scores(matrix, ql, al, k=10)
    pairs = same_different(archive_similarity(), al) if archive_similarity else {}
    return MethodScore(
        method=name,
        map=scores["map"],
        map_at_r=scores["map@r"],
        precision_at_10=scores["p@10"],
        queries=scores["queries"],
        seconds_per_query=seconds,
        same_different_ap=pairs.get("ap"),
        equal_error_rate=pairs.get("eer"),
    )


def evaluate_qbe(
    run: Path,
    queries: Path,
    archive: Path,
    baselines: bool = True,
    progress: Callable[[int], None] | None = None,
    rerank_k: int = 30,
    pairs: bool = True,
    seeds: int = 1,
    query_speakers: bool = False,
) -> QbeReport:
    """Score the model in ``run`` (and the baselines) on ``queries`` searched in ``archive``.

    With ``rerank_k`` > 0 the two-stage search (model, then DTW over its top ``rerank_k``) is
    scored too; its time per query includes the first stage. With ``pairs`` the
    same-different task over all archive pairs is scored as well (for DTW that is N^2 / 2
    alignments). With ``seeds`` > 1 the run's recipe is retrained with the next seeds (see
    pipelines.train.seeds) and the model's figures are the mean over the runs, with their spread.
    Each query's features are its own, as ``seqae search`` computes them; with
    ``query_speakers`` and features normalised per speaker, the queries are normalised over
    their speakers (the queries manifest's ``speaker`` column), as archive segments are.
    """
    bundles = [load_bundle(r) for r in seed_runs(run, seeds)]
    features = bundles[0].features
    query_segments, archive_segments = read_manifest(queries), read_manifest(archive)
    if not query_speakers:
        query_segments = [alone(segment) for segment in query_segments]
    q = extract_features(query_segments, features, progress=progress)
    a = extract_features(archive_segments, features, progress=progress)
    ql, al = _labels(q, queries), _labels(a, archive)
    if not np.isin(ql, al).any():
        raise SeqaeError(f"{queries}: no query label occurs in {archive}")

    def within(vectors: np.ndarray) -> Callable[[], np.ndarray] | None:
        return (lambda: cosine_similarity(vectors, vectors)) if pairs else None

    per_run: list[list[MethodScore]] = []
    for bundle in bundles:
        bundle.check_features(features)
        per_run.append(_model_scores(bundle, q, a, ql, al, rerank_k, within))
    ids = ", ".join(b.model_id for b in bundles)
    names = [f"model {ids}"] + ([f"model + DTW re-rank of top {rerank_k}"] if rerank_k else [])
    scores = [
        mean_of(name, list(column))
        for name, column in zip(names, zip(*per_run, strict=True), strict=True)
    ]
    if baselines:
        archive_down = np.stack([downsample(f) for f in a.features])

        def down() -> np.ndarray:
            return cosine_similarity(np.stack([downsample(f) for f in q.features]), archive_down)

        def dtw() -> np.ndarray:
            return dtw_similarity(q.features, a.features)

        dtw_pairs = (lambda: dtw_self_similarity(a.features)) if pairs else None
        name = f"{'MFCC' if features.kind == 'mfcc' else 'log-mel'} downsampled x10"
        scores.append(_score(name, down, ql, al, within(archive_down)))
        scores.append(_score("DTW", dtw, ql, al, dtw_pairs))
    skipped = [reason for _, reason in q.skipped + a.skipped]
    return QbeReport(scores=scores, archive_size=len(al), skipped=skipped)


def _model_scores(bundle, q: Extraction, a: Extraction, ql, al, rerank_k: int, within):
    """The model's own row and, with ``rerank_k``, the two-stage search's."""
    archive_vectors = bundle.embed(a.features)

    def model() -> np.ndarray:
        return cosine_similarity(bundle.embed(q.features), archive_vectors)

    scores = [_score("model", model, ql, al, within(archive_vectors))]
    if rerank_k > 0:

        def two_stage() -> np.ndarray:
            return reranked_similarity(q.features, a.features, model(), rerank_k)

        scores.append(_score("two-stage", two_stage, ql, al, None))
    return scores
