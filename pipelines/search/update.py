"""Grow an index directory with another embedding directory, and measure its recall."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index import Addition, SearchIndex, StoredIndexInfo, append_to_index_dir, open_index_dir
from index.build import RECALL_K, sample_rows, take_rows
from index.frames import copy_frames, has_frames, part_name, part_names
from index.info import read_info
from index.params import stored_vectors, stores_exact_vectors
from index.recall import exact_neighbours, recall_at_k, without_self
from index.vectors import search_index
from pipelines.search.build import FRAMES_NAME, Progress, progress_for
from pipelines.search.sources import EmbeddingSource, source_vectors
from seqae.errors import SeqaeError
from seqae.runs import EMBEDDINGS_FILE, writer_lock


def _check_addition(index_dir: Path, info: StoredIndexInfo, source: EmbeddingSource) -> None:
    """One-line refusals before any work: another model, another dim, the same directory."""
    if source.model_id != info.model_id:
        raise SeqaeError(
            f"{source.path}: embedded by model {source.model_id}, but index {index_dir} holds "
            f"vectors of model {info.model_id}; embed with {info.model_path}"
        )
    if source.dim != info.dim:
        raise SeqaeError(f"{source.path}: {source.dim}-dim vectors, index {index_dir} {info.dim}")
    if str(source.path.resolve()) in info.sources:
        raise SeqaeError(f"{source.path}: already added to index {index_dir}")
    if has_frames(index_dir, FRAMES_NAME) and not source.has_frames:
        raise SeqaeError(
            f"{source.path}: holds no frames, but index {index_dir} keeps frames for "
            "--rerank dtw; embed with --store-frames"
        )


def _exact_source(info: StoredIndexInfo, new: Path) -> Callable[[], Iterable[np.ndarray]] | None:
    """All of an index's vectors from its embedding directories (None if some are gone)."""
    paths = [Path(source) for source in info.sources] + [new]
    if not all((path / EMBEDDINGS_FILE).is_file() for path in paths):
        return None
    return lambda: source_vectors(paths)


def add_index_dir(
    index_dir: Path,
    embeddings: Path,
    seed: int = 0,
    progress: Progress | None = None,
    record: dict[str, Any] | None = None,
) -> StoredIndexInfo:
    """Append every vector of ``embeddings`` to ``index_dir``; all or nothing.

    The new rows' frames become the next part of the index's frame store, and ``record``
    (the command line and settings) is kept as ``command-add-N.json``.
    """
    source = EmbeddingSource.open(embeddings)
    with writer_lock(index_dir):
        info = read_info(index_dir)
        _check_addition(index_dir, info, source)
        frames = has_frames(index_dir, FRAMES_NAME)
        part = len(part_names(index_dir, FRAMES_NAME))

        def extra(directory: Path) -> None:
            if frames:
                copy_frames(source.frame_sets(), directory, part_name(FRAMES_NAME, part))
            if record is not None:
                text = json.dumps(record, indent=2, default=str) + "\n"
                (directory / f"command-add-{len(info.sources)}.json").write_text(text)

        with progress_for(progress, "adding", source.count) as advance:
            addition = Addition(
                metadata=source.metadata(),
                model_id=source.model_id,
                sources=[str(source.path.resolve())],
                extra=extra,
                exact_vectors=_exact_source(info, source.path.resolve()),
                progress=advance,
                seed=seed,
            )
            return append_to_index_dir(index_dir, source.vectors(), addition).info


@dataclass(frozen=True)
class CheckReport:
    """Recall@k of an index against exact search, and its latency per single query."""

    factory: str
    count: int
    queries: int
    k: int
    recall: float
    median_ms: float
    p95_ms: float
    exact_from: str  # 'index' (reconstructed vectors) or 'embeddings' (source directories)
    parameters: dict[str, int | None]


def check_index_dir(
    index_dir: Path,
    sample: int = 1000,
    k: int = RECALL_K,
    seed: int = 0,
    parameters: dict[str, int | None] | None = None,
) -> CheckReport:
    """Leave-one-out recall@k on ``sample`` stored vectors against exact inner-product search.

    Each query is searched alone, with the index's default (or the given) nprobe / efSearch.
    """
    opened = open_index_dir(index_dir)
    if opened.index.ntotal <= k:
        raise SeqaeError(f"{index_dir}: holds {opened.index.ntotal} vectors, need more than {k}")
    vectors, exact_from = _exact_vectors(opened)
    rows = sample_rows(opened.index.ntotal, sample, seed)
    queries = take_rows(vectors(), rows)  # (q, d)
    _, exact = exact_neighbours(queries, vectors(), k + 1)  # (q, k + 1)
    chosen = {"nprobe": None, "ef_search": None, **(parameters or {})}
    params = opened.parameters(**chosen)
    found, seconds = np.empty_like(exact), []
    for i, query in enumerate(queries):
        started = time.perf_counter()
        found[i] = search_index(opened.index, query[None], k + 1, params=params)[1][0]
        seconds.append(time.perf_counter() - started)
    recall = recall_at_k(without_self(found, rows, k), without_self(exact, rows, k))
    used = {
        "nprobe": chosen["nprobe"] or opened.info.nprobe,
        "ef_search": chosen["ef_search"] or opened.info.ef_search,
    }
    milliseconds = 1000 * np.asarray(seconds)
    return CheckReport(
        opened.info.factory, len(opened), len(rows), k, recall,
        float(np.median(milliseconds)), float(np.percentile(milliseconds, 95)), exact_from, used,
    )  # fmt: skip


def _exact_vectors(opened: SearchIndex) -> tuple[Callable[[], Iterable[np.ndarray]], str]:
    if stores_exact_vectors(opened.index):
        return (lambda: stored_vectors(opened.index)), "index"
    paths = [Path(source) for source in opened.info.sources]
    missing = [str(p) for p in paths if not (p / EMBEDDINGS_FILE).is_file()]
    if missing:
        raise SeqaeError(
            f"{opened.path}: {opened.info.factory} keeps no exact vectors and its source "
            f"embedding directories are gone ({', '.join(missing)})"
        )
    count = sum(EmbeddingSource.open(path).count for path in paths)
    if count != opened.index.ntotal:
        raise SeqaeError(
            f"{opened.path}: its embedding directories hold {count} vectors, the index "
            f"{opened.index.ntotal}; they changed since"
        )
    return (lambda: source_vectors(paths)), "embeddings"
