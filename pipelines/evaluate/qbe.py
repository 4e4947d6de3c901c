"""Query-by-example evaluation of a model beside the downsampling and DTW baselines."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from pipelines.io.extract import Extraction, alone, extract_features
from pipelines.io.manifest import read_manifest
from pipelines.search import FUSIONS
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


@dataclass(frozen=True)
class ExamplesScore:
    """One method's retrieval quality when each query is several clips of one term."""

    method: str
    examples: int
    fusion: str
    map: float
    map_at_r: float
    precision_at_10: float
    queries: int  # groups of ``examples`` clips

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class QbeReport:
    """All methods' scores, and what was skipped on the way."""

    scores: list[MethodScore]
    archive_size: int
    skipped: list[str]
    several: list[ExamplesScore] = field(default_factory=list)  # with ``examples``


def example_groups(order: list[tuple], labels: np.ndarray, size: int) -> list[list[int]]:
    """Query rows in groups of ``size`` clips of one label: within a label, clips in the
    order of ``order`` (speaker, file), cut into consecutive groups (so mostly one speaker's
    takes), the remainder left out."""
    groups = []
    for label in dict.fromkeys(labels.tolist()):
        rows = sorted(np.flatnonzero(labels == label).tolist(), key=lambda r: order[r])
        groups += [rows[i : i + size] for i in range(0, len(rows) - size + 1, size)]
    return groups


def fused_rows(similarity: np.ndarray, groups: list[list[int]], fusion: str) -> np.ndarray:
    """(G, N): each group's rows combined; for cosine scores the mean ranks as the search
    with the mean of the clips' unit vectors does (pipelines.search.speech)."""
    combine = np.mean if fusion == "mean" else np.max
    return np.stack([combine(similarity[rows], axis=0) for rows in groups])


def several_examples(
    matrices: dict[str, np.ndarray],
    order: list[tuple],
    ql: np.ndarray,
    al: np.ndarray,
    sizes: tuple[int, ...],
) -> list[ExamplesScore]:
    """Every method's MAP with ``sizes`` clips per query, each fusion."""
    rows = []
    for size in sizes:
        groups = example_groups(order, ql, size)
        if not groups:
            raise SeqaeError(f"no query label has {size} clips; ask for fewer --examples")
        labels = ql[[g[0] for g in groups]]
        for method, matrix in matrices.items():
            for fusion in FUSIONS if size > 1 else ("mean",):
                scores = qbe_scores(fused_rows(matrix, groups, fusion), labels, al, k=10)
                rows.append(
                    ExamplesScore(
                        method,
                        size,
                        fusion if size > 1 else "-",
                        scores["map"],
                        scores["map@r"],
                        scores["p@10"],
                        scores["queries"],
                    )  # fmt: skip
                )
    return rows


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
    kept: dict[str, np.ndarray] | None = None,
) -> MethodScore:
    started = time.perf_counter()
    matrix = similarity()
    if kept is not None:
        kept[name] = matrix
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
    examples: tuple[int, ...] = (),
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
    With ``examples`` (say 1, 3, 5), the model, downsampling and DTW are also scored with
    that many clips of one term per query (see ``example_groups``), fused by the mean and by
    the max of their similarities: ``several`` in the report.
    """
    bundles = [load_bundle(r) for r in seed_runs(run, seeds)]
    features = bundles[0].features
    query_segments, archive_segments = read_manifest(queries), read_manifest(archive)
    speakers = {(s.path, s.start, s.end): s.metadata.get("speaker", "") for s in query_segments}
    if not query_speakers:
        query_segments = [alone(segment) for segment in query_segments]
    q = extract_features(query_segments, features, progress=progress)
    a = extract_features(archive_segments, features, progress=progress)
    ql, al = _labels(q, queries), _labels(a, archive)
    if not np.isin(ql, al).any():
        raise SeqaeError(f"{queries}: no query label occurs in {archive}")

    def within(vectors: np.ndarray) -> Callable[[], np.ndarray] | None:
        return (lambda: cosine_similarity(vectors, vectors)) if pairs else None

    kept: dict[str, np.ndarray] | None = {} if examples else None
    per_run: list[list[MethodScore]] = []
    for n, bundle in enumerate(bundles):
        bundle.check_features(features)
        per_run.append(
            _model_scores(bundle, q, a, ql, al, rerank_k, within, kept if n == 0 else None)
        )
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
        scores.append(_score(name, down, ql, al, within(archive_down), kept))
        scores.append(_score("DTW", dtw, ql, al, dtw_pairs, kept))
    skipped = [reason for _, reason in q.skipped + a.skipped]
    order = [(speakers[(s.path, s.start, s.end)], str(s.path), s.start or 0.0) for s in q.segments]
    several = several_examples(kept, order, ql, al, examples) if examples else []
    return QbeReport(scores=scores, archive_size=len(al), skipped=skipped, several=several)


def _model_scores(bundle, q: Extraction, a: Extraction, ql, al, rerank_k: int, within, kept=None):
    """The model's own row and, with ``rerank_k``, the two-stage search's (``kept`` receives
    the model's similarity matrix)."""
    archive_vectors = bundle.embed(a.features)

    def model() -> np.ndarray:
        return cosine_similarity(bundle.embed(q.features), archive_vectors)

    scores = [_score("model", model, ql, al, within(archive_vectors), kept)]
    if rerank_k > 0:

        def two_stage() -> np.ndarray:
            return reranked_similarity(q.features, a.features, model(), rerank_k)

        scores.append(_score("two-stage", two_stage, ql, al, None))
    return scores
