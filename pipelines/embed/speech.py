"""Embed every segment of a manifest into sharded ``.npy`` + ``.parquet`` files (resumable)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from pipelines.embed.runner import (
    Chunk,
    EmbedSummary,
    Inputs,
    Reader,
    embed_shards,
    finish,
    prepare,
)
from pipelines.io.extract import Extraction, extract_features
from pipelines.io.manifest import Segment, metadata_columns, read_manifest
from seqae.bundle import ModelBundle, load_bundle
from seqae.config import FeatureConfig
from seqae.runs import writer_lock

logger = logging.getLogger(__name__)


def metadata_table(extraction: Extraction, columns: list[str], first_row: int) -> pa.Table:
    """Metadata rows for the segments that were embedded, with every manifest column."""
    segments: list[Segment] = extraction.segments
    starts = [s.start or 0.0 for s in segments]
    data = {
        "path": pa.array([str(s.path) for s in segments], pa.string()),
        "start": pa.array(starts, pa.float64()),
        "end": pa.array(
            [a + d for a, d in zip(starts, extraction.durations, strict=True)], pa.float64()
        ),
        "row": pa.array([first_row + i for i in range(len(segments))], pa.int64()),
    }
    for column in columns:
        data[column] = pa.array([s.metadata.get(column, "") for s in segments], pa.string())
    return pa.table(data)


def embed_archive(
    run: Path,
    source: Path,
    out: Path,
    shard_size: int = 10000,
    batch_size: int = 64,
    progress: Callable[[int], None] | None = None,
    store_frames: bool = True,
    bundle: ModelBundle | None = None,
) -> EmbedSummary:
    """Embed every segment of ``source`` with the model in ``run``; finished shards are kept.

    With ``store_frames`` each segment's feature frames are kept too (float16), so an index
    built from the directory can re-rank its candidates with DTW. ``bundle``: the model of
    ``run``, if the caller has loaded it already.
    """
    bundle = bundle or load_bundle(run)
    segments = read_manifest(source)
    inputs = Inputs(source, "manifest", len(segments), "segments", shard_size,
                    {"frames": store_frames})  # fmt: skip
    with writer_lock(out):
        info = prepare(out, bundle, inputs)
        read = _reader(segments, bundle.features, keep_frames=bool(info.get("frames")))
        summary = embed_shards(out, info, bundle, read, len(segments), batch_size, progress)
        finish(out, info, summary, len(segments))
    return summary


def _reader(segments: list[Segment], features: FeatureConfig, keep_frames: bool) -> Reader:
    """Segments ``first .. first + size`` -> their features, metadata rows and skips."""
    columns = metadata_columns(segments)

    def read(first: int, size: int, progress: Callable[[int], None] | None) -> Chunk:
        extraction = extract_features(segments[first : first + size], features, progress=progress)
        return Chunk(
            inputs=extraction.features,
            table=metadata_table(extraction, columns, first),
            skipped=[reason for _, reason in extraction.skipped],
            frames=extraction.features if keep_frames else None,
            counted=size if progress else 0,
        )

    return read
