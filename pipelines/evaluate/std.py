"""``seqae eval std``: spoken-term detection in long recordings, scored against true times."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.io.extract import segment_features
from pipelines.io.manifest import read_manifest
from pipelines.io.stream import audio_duration
from pipelines.search.build import open_index_with_model
from pipelines.search.speech import search_features
from seqae.errors import SeqaeError
from seqae.std_metrics import judge, term_scores

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


def indexed_hours(index) -> float:
    """Hours of audio behind an open index: the length of every file it holds segments of."""
    files = set(index.metadata.column("path").to_pylist())
    return sum(audio_duration(Path(f)) for f in files) / 3600


def evaluate_std(index_dir: Path, queries: Path, truth_csv: Path, depth: int = 100) -> StdReport:
    """Search every query in the index; judge its top ``depth`` merged hits against the truth."""
    truth = read_truth(truth_csv)
    segments = read_manifest(queries)
    asked = [s for s in segments if s.label in truth]
    if not asked:
        raise SeqaeError(f"{queries}: no query's label occurs in {truth_csv}")
    index, bundle = open_index_with_model(index_dir)
    hours = indexed_hours(index)
    features = [segment_features(s, bundle.features)[0] for s in asked]
    # seconds per query as in eval qbe: embedding the query's features and searching, not
    # opening the index or reading the query's audio
    started = time.perf_counter()
    results = search_features(index, features, bundle.embed(features), k=depth)
    seconds = (time.perf_counter() - started) / len(asked)
    scores = []
    for segment, hits in zip(asked, results, strict=True):
        spans = [(str(h.metadata["path"]), h.metadata["start"], h.metadata["end"]) for h in hits]
        occurrences = truth[segment.label]
        scores.append(term_scores(judge(spans, occurrences), len(occurrences), hours, FA_RATES))
    return StdReport(
        queries=len(asked),
        occurrences=sum(len(truth[s.label]) for s in asked),
        hours=hours,
        map=float(np.mean([s.average_precision for s in scores])),
        precision_at_10=float(np.mean([s.precision_at_10 for s in scores])),
        recall_at_fa={r: float(np.mean([s.recall_at_fa[r] for s in scores])) for r in FA_RATES},
        seconds_per_query=seconds,
        unmatched=[s.describe() for s in segments if s.label not in truth],
    )
