"""One embedding loop for every modality: reader -> model -> shard writer.

A reader turns items ``first .. first + size`` of the input (manifest segments, corpus
sentences) into what the model embeds, the metadata rows, and the reasons items were
skipped; the loop embeds them with the bundle (speech or text alike: ``bundle.embed``),
writes the shard (vectors, metadata and, for speech, frames) and records it in
``embeddings.json``, keeping the shards an earlier run finished. ``seqae ingest`` runs the
same model -> writer step per recording (``pipelines.embed.ingest``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from seqae.errors import SeqaeError
from seqae.runs import EMBEDDINGS, check_output_dir, write_json_atomic

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


@dataclass
class Chunk:
    """What a reader makes of one shard's items."""

    inputs: list  # what the model embeds: frame arrays, or sentences
    table: pa.Table  # one metadata row per input
    skipped: list[str] = field(default_factory=list)  # items that could not be read, and why
    frames: list[np.ndarray] | None = None  # kept for re-ranking with DTW (speech)
    counted: int = 0  # items the reader already reported to the progress bar


Reader = Callable[[int, int, Callable[[int], None] | None], Chunk]  # (first, size, progress)


@dataclass(frozen=True)
class Inputs:
    """What an embedding directory is made from: its source (a ``manifest`` or a ``corpus``),
    how many items, and in what shards; ``fields`` go into ``embeddings.json`` as they are
    (``segments`` or ``sentences`` counts the items)."""

    source: Path
    what: str
    count: int
    count_field: str
    shard_size: int
    fields: dict[str, Any] = field(default_factory=dict)


def prepare(out: Path, bundle, inputs: Inputs) -> dict:
    """Start a new embedding directory, or check that an existing one belongs to this job."""
    check_output_dir(out, EMBEDDINGS, inputs=(inputs.source, bundle.path))
    info = existing_info(out, bundle.model_id)
    if info is None:
        info = new_info(out, bundle, bundle.settings(), inputs.source,
                        **{inputs.count_field: inputs.count, "shard_size": inputs.shard_size},
                        **inputs.fields)  # fmt: skip
        write_json_atomic(out / INFO_FILE, info)  # the directory is seqae's from the start
        return info
    same = info["source"] == str(inputs.source.resolve())
    same = same and info.get(inputs.count_field) == inputs.count
    if info["shard_size"] != inputs.shard_size or not same:
        raise SeqaeError(
            f"{out}: made from a different {inputs.what} or shard size; choose another --out"
        )
    return info


def embed_shards(
    out: Path,
    info: dict,
    bundle,
    read: Reader,
    count: int,
    batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> EmbedSummary:
    """Embed every shard of ``count`` items not already written intact; the summary."""
    summary = EmbedSummary(out=out, model_id=bundle.model_id)
    started = time.perf_counter()
    starts = range(0, count, info["shard_size"])
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
        size = min(info["shard_size"], count - first)
        if shard in intact:
            summary.reused += size - len(info["skipped"].get(str(shard), []))
            if progress:
                progress(size)
            continue
        chunk = read(first, size, progress)
        embedded, checksums = embed_shard(out, shard, bundle, chunk, batch_size)
        record_shard(info, shard, checksums)
        info["skipped"][str(shard)] = chunk.skipped
        write_json_atomic(out / INFO_FILE, info)
        summary.embedded += embedded
        if progress and size > chunk.counted:
            progress(size - chunk.counted)
    summary.seconds = time.perf_counter() - started
    return summary


def embed_shard(out: Path, shard: int, bundle, chunk: Chunk, batch_size: int):
    """The model -> writer step: embed a chunk and write it as shard ``shard``; (vectors
    written, the shard's file checksums)."""
    vectors = (
        bundle.embed(chunk.inputs, batch_size)
        if chunk.inputs
        else np.zeros((0, bundle.embedding_dim), dtype=np.float32)
    )
    return len(vectors), write_shard(out, shard, vectors, chunk.table, chunk.frames)


def finish(
    out: Path, info: dict, summary: EmbedSummary, count: int, read_skips: dict | None = None
) -> None:
    """Mark the directory complete, with how many items it holds and what was skipped: by the
    shards' readers, or (``read_skips``) when the input was read, before any shard."""
    if read_skips is None:
        info["skipped_count"] = sum(len(v) for v in info["skipped"].values())
        info["count"] = count - info["skipped_count"]
        summary.skipped = [reason for reasons in info["skipped"].values() for reason in reasons]
    else:
        info["skipped"], info["count"] = read_skips, count
    info["complete"] = True
    info["seconds"] = summary.seconds  # of the last run (features and inference)
    write_json_atomic(out / INFO_FILE, info)
