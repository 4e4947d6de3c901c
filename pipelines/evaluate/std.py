"""``seqae eval std``: spoken-term detection in long recordings, scored against true times."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.export.hits import detections_of, write_std
from pipelines.io.extract import segment_features
from pipelines.io.manifest import read_manifest
from pipelines.io.stream import audio_duration
from pipelines.search import DEFAULT_FUSION
from pipelines.search.build import open_index_with_model
from pipelines.search.speech import search_features
from seqae.errors import SeqaeError
from seqae.std_metrics import (
    BETA,
    TermDetections,
    held_out_twv,
    judge,
    maximum_twv,
    term_scores,
    twv_at,
)

FA_RATES = (1.0, 10.0)


@dataclass
class StdReport:
    """Mean scores over the queries whose term occurs in the truth."""

    queries: int
    occurrences: int
    hours: float
    map: float
    precision_at_10: float
    recall_at_fa: dict[float, float]
    seconds_per_query: float
    mtwv: float = 0.0  # the best term-weighted value over all thresholds
    mtwv_threshold: float = float("inf")
    atwv: float = 0.0  # at --threshold, else at thresholds tuned on the other half of the terms
    atwv_thresholds: list[float] = field(default_factory=list)
    beta: float = BETA
    terms: int = 0  # what TWV averages over: the queries, or the labels with --fuse
    unmatched: list[str] = field(default_factory=list)  # queries with no true occurrence

    def to_dict(self) -> dict:
        data = vars(self).copy()
        data["recall_at_fa"] = {f"{k:g}": v for k, v in self.recall_at_fa.items()}
        return data


def read_truth(path: Path) -> dict[str, list[tuple[str, float, float]]]:
    """label -> true occurrences (file, start, end) from a CSV with path, start, end, label."""
    truth: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for segment in read_manifest(path):
        if not segment.label or segment.start is None or segment.end is None:
            raise SeqaeError(f"{path}: every row needs path, start, end and label")
        truth[segment.label].append((str(segment.path), segment.start, segment.end))
    return truth


def indexed_durations(index) -> dict[str, float]:
    """Seconds of audio of every file an open index holds segments of."""
    files = sorted(set(index.metadata.column("path").to_pylist()))
    return {str(f): audio_duration(Path(f)) for f in files}


@dataclass(frozen=True)
class StdSettings:
    """How ``seqae eval std`` asks and decides."""

    depth: int = 100  # hits judged per query
    threshold: float | None = None  # ATWV's decision threshold (None: tuned on held-out terms)
    fuse: bool = False  # all query clips of one label make one term
    fusion: str = DEFAULT_FUSION
    out: Path | None = None  # write the detections here as NIST stdlist + ECF + term list


def evaluate_std(
    index_dir: Path, queries: Path, truth_csv: Path, settings: StdSettings = StdSettings()
) -> StdReport:
    """Search every query in the index; judge its top ``depth`` merged hits against the truth.

    MAP, P@10 and recall at N false alarms per hour average over the queries (over the
    labels with ``fuse``); MTWV and ATWV are NIST's term-weighted values (beta 999.9, one
    trial per second) over the same ranked detections, the ones ``out`` receives.
    """
    truth = read_truth(truth_csv)
    segments = read_manifest(queries)
    asked = [s for s in segments if s.label in truth]
    if not asked:
        raise SeqaeError(f"{queries}: no query's label occurs in {truth_csv}")
    index, bundle = open_index_with_model(index_dir)
    durations = indexed_durations(index)
    hours = sum(durations.values()) / 3600  # all the audio behind the index
    features = [segment_features(s, bundle.features)[0] for s in asked]
    if settings.fuse:
        labels = list(dict.fromkeys(s.label for s in asked))
        groups = [[i for i, s in enumerate(asked) if s.label == label] for label in labels]
    else:
        labels, groups = [s.label for s in asked], [[i] for i in range(len(asked))]
    # seconds per query as in eval qbe: embedding the query's features and searching, not
    # opening the index or reading the query's audio
    started = time.perf_counter()
    results = search_features(
        index, features, bundle.embed(features), k=settings.depth, groups=groups,
        fusion=settings.fusion,
    )  # fmt: skip
    seconds = (time.perf_counter() - started) / len(groups)
    scores, detections, found, named = [], [], [], set()
    for n, (label, hits) in enumerate(zip(labels, results, strict=True)):
        spans = [(str(h.metadata["path"]), h.metadata["start"], h.metadata["end"]) for h in hits]
        occurrences = truth[label]
        correct = judge(spans, occurrences)
        scores.append(term_scores(correct, len(occurrences), hours, FA_RATES))
        detections.append(
            TermDetections(np.array([h.score for h in hits]), correct, len(occurrences))
        )
        term = label if settings.fuse else f"{label} ({asked[groups[n][0]].path.stem})"
        term = term if term not in named else f"{term} #{n + 1}"  # one term per query
        named.add(term)
        found.extend(detections_of(hits, term))
    speech = hours * 3600
    mtwv, mtwv_threshold = maximum_twv(detections, speech)
    if settings.threshold is not None:
        atwv, thresholds = twv_at(detections, speech, settings.threshold), [settings.threshold]
    else:
        atwv, thresholds = held_out_twv(detections, speech)
    if settings.out is not None:
        decided = settings.threshold if settings.threshold is not None else mtwv_threshold
        write_std(found, settings.out, durations, decided)
    return StdReport(
        queries=len(asked),
        occurrences=sum(len(truth[s.label]) for s in asked),
        hours=hours,
        map=float(np.mean([s.average_precision for s in scores])),
        precision_at_10=float(np.mean([s.precision_at_10 for s in scores])),
        recall_at_fa={r: float(np.mean([s.recall_at_fa[r] for s in scores])) for r in FA_RATES},
        seconds_per_query=seconds,
        mtwv=mtwv,
        mtwv_threshold=mtwv_threshold,
        atwv=atwv,
        atwv_thresholds=thresholds,
        terms=len(groups),
        unmatched=[s.describe() for s in segments if s.label not in truth],
    )
