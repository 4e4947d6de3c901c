"""Embed every segment of a manifest into sharded ``.npy`` + ``.parquet`` files (resumable)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipelines.embed.shards import (
    INFO_FILE,
    existing_info,
    new_info,
    record_shard,
    shard_is_intact,
    write_shard,
)
from pipelines.io.extract import Extraction, extract_features
from pipelines.io.manifest import Segment, metadata_columns, read_manifest
from seqae.bundle import ModelBundle, load_bundle
from seqae.errors import SeqaeError
from seqae.runs import EMBEDDINGS, check_output_dir, write_json_atomic, writer_lock

logger = logging.getLogger(__name__)


@dataclass
class EmbedSummary:
    """Counts from one embedding job."""

    out: Path
    model_id: str
    embedded: int = 0
    reused: int = 0
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


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


def _prepare(
    out: Path, bundle: ModelBundle, source: Path, count: int, shard_size: int, frames: bool
) -> dict:
    """Start a new embedding directory, or check that an existing one belongs to this job."""
    check_output_dir(out, EMBEDDINGS, inputs=(source, bundle.path))
    info = existing_info(out, bundle.model_id)
    if info is None:
        features = bundle.features.to_dict()
        info = new_info(out, bundle, features, source, segments=count, shard_size=shard_size,
                        frames=frames)  # fmt: skip
        write_json_atomic(out / INFO_FILE, info)  # the directory is seqae's from the start
        return info
    same_input = info["source"] == str(source.resolve()) and info["segments"] == count
    if info["shard_size"] != shard_size or not same_input:
        raise SeqaeError(
            f"{out}: made from a different manifest or shard size; choose another --out"
        )
    return info


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
    with writer_lock(out):
        info = _prepare(out, bundle, source, len(segments), shard_size, store_frames)
        return _embed(bundle, segments, out, info, batch_size, progress)


def _embed(
    bundle: ModelBundle,
    segments: list[Segment],
    out: Path,
    info: dict,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> EmbedSummary:
    columns = metadata_columns(segments)
    summary = EmbedSummary(out=out, model_id=bundle.model_id)
    started = time.perf_counter()
    shard_size = info["shard_size"]
    starts = range(0, len(segments), shard_size)
    intact = {shard for shard in range(len(starts)) if shard_is_intact(out, shard, info)}
    if damaged := sorted(set(info["shards"]) - intact):
        logger.warning(
            "%s: shards %s changed since they were written; embedding them again",
            out, ", ".join(f"{shard:05d}" for shard in damaged),
        )  # fmt: skip
    if len(intact) < len(starts):
        info["complete"] = False  # until every shard is back
        write_json_atomic(out / INFO_FILE, info)
    for shard, first in enumerate(starts):
        chunk = segments[first : first + shard_size]
        if shard in intact:
            summary.reused += len(chunk) - len(info["skipped"].get(str(shard), []))
            if progress:
                progress(len(chunk))
            continue
        extraction = extract_features(chunk, bundle.features, progress=progress)
        vectors = (
            bundle.embed(extraction.features, batch_size)
            if extraction.features
            else (np.zeros((0, bundle.embedding_dim), dtype=np.float32))
        )
        frames = extraction.features if info.get("frames") else None
        table = metadata_table(extraction, columns, first)
        record_shard(info, shard, write_shard(out, shard, vectors, table, frames))
        info["skipped"][str(shard)] = [reason for _, reason in extraction.skipped]
        write_json_atomic(out / INFO_FILE, info)
        summary.embedded += len(vectors)
    info["skipped_count"] = sum(len(v) for v in info["skipped"].values())
    info["count"] = len(segments) - info["skipped_count"]
    info["complete"] = True
    summary.seconds = time.perf_counter() - started
    info["seconds"] = summary.seconds  # of the last run (features and inference)
    write_json_atomic(out / INFO_FILE, info)
    summary.skipped = [r for reasons in info["skipped"].values() for r in reasons]
    return summary
