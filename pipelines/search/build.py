"""Embedding directory -> index directory, with a copy of the model that made the vectors.

The vectors stream from the embedding directory's shards: a sample trains the index (IVF
clusters, PQ codebooks), the shards are added in batches, and a second pass of exact search
over sampled rows tunes the default nprobe / efSearch (index.build.tune_index).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from index import AUTO, DEFAULT_MEMORY, IndexInfo, StoredIndexInfo, choose_factory, parse_memory
from index.build import add_batches, new_trained_index, take_rows, tune_index
from index.frames import copy_frames
from index.store import check_out_dir, open_index_dir, stored_info, write_index_dir
from pipelines.search.sources import EmbeddingSource
from seqae.bundle import BUNDLE_NAME, ModelBundle, load_bundle
from seqae.errors import SeqaeError
from seqae.runs import FRAMES_NAME, writer_lock

PROGRESS_MIN = 50_000  # builds smaller than this finish too fast for a progress bar
Advance = Callable[[int], None]
Progress = Callable[[str, int], AbstractContextManager[Advance]]


@contextmanager
def progress_for(progress: Progress | None, description: str, total: int) -> Iterator[Advance]:
    """``progress(description, total)`` for large jobs; a no-op for small ones."""
    if progress is None or total < PROGRESS_MIN:
        yield lambda n=1: None
    else:
        with progress(description, total) as advance:
            yield advance


def source_bundle(source: EmbeddingSource) -> ModelBundle:
    """The model that made ``source``'s vectors; it must not have changed since."""
    bundle = load_bundle(source.info["model_path"])
    if bundle.model_id != source.model_id:
        raise SeqaeError(
            f"{source.info['model_path']}: model changed since {source.path} was made "
            f"(model {bundle.model_id}, embeddings {source.model_id})"
        )
    return bundle


def _index_info(source: EmbeddingSource, bundle: ModelBundle) -> IndexInfo:
    return IndexInfo(
        model_id=bundle.model_id,
        model_path=str(bundle.path),
        dim=source.dim,
        feature_config=source.info["feature_config"],
        sources=[str(source.path.resolve())],
    )


def build_index_dir(
    embeddings: Path,
    out: Path,
    overwrite: bool = False,
    factory: str = AUTO,
    memory: str | int = DEFAULT_MEMORY,
    seed: int = 0,
    progress: Progress | None = None,
) -> StoredIndexInfo:
    """Build a cosine index over every vector in ``embeddings`` and write it to ``out``.

    ``factory`` is a FAISS factory string, or 'auto' to choose Flat, HNSW or IVF-PQ from the
    count, dimension and ``memory`` budget (index.factory.choose_factory).
    """
    source = EmbeddingSource.open(embeddings)
    bundle = source_bundle(source)
    with writer_lock(out):
        check_out_dir(out, overwrite, inputs=(source.path, bundle.path))
        return _build(source, bundle, out, factory, memory, seed, progress)


def _build(
    source: EmbeddingSource,
    bundle: ModelBundle,
    out: Path,
    factory: str,
    memory: str | int,
    seed: int,
    progress: Progress | None,
) -> StoredIndexInfo:
    metadata = source.metadata()
    budget = parse_memory(memory) if factory == AUTO else None
    chosen = choose_factory(source.count, source.dim, budget) if budget else factory
    index = new_trained_index(
        chosen, source.dim, source.count, lambda rows: take_rows(source.vectors(), rows), seed
    )
    with progress_for(progress, f"indexing ({chosen})", source.count) as advance:
        add_batches(index, source.vectors(), advance)
    tuning = tune_index(index, source.vectors, seed)
    stored = stored_info(_index_info(source, bundle), source.count, chosen, tuning, budget)

    def extra(directory: Path) -> None:
        if source.has_frames:
            copy_frames(source.frame_sets(), directory, FRAMES_NAME)  # for --rerank dtw
        shutil.copy2(bundle.path, directory / BUNDLE_NAME)  # the index answers on its own

    write_index_dir(out, index, metadata, stored, extra)
    return stored


def open_index_with_model(path: Path):
    """Open an index directory and the model that made its vectors (they must agree)."""
    index = open_index_dir(path)
    bundle: ModelBundle = load_bundle(path / BUNDLE_NAME)
    index.check_vectors(bundle.model_id)
    return index, bundle
