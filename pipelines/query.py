"""Answer a spoken query against an index directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from index import Hit
from pipelines.build_index import open_index_with_model
from pipelines.extract import segment_features
from pipelines.manifest import Segment


@dataclass(frozen=True)
class Query:
    """A query clip: a file, optionally a span of it."""

    path: Path
    start: float | None = None
    end: float | None = None


def search_audio(index_dir: Path, queries: list[Query], k: int = 10) -> list[list[Hit]]:
    """Embed each query with the index's own model and return its top ``k`` hits."""
    index, bundle = open_index_with_model(index_dir)
    features = [
        segment_features(Segment(q.path, q.start, q.end), bundle.features)[0] for q in queries
    ]
    vectors = bundle.embed(features)
    return index.search(vectors, k)
