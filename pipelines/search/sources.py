"""Embedding directories read shard by shard, so an index of any size is built in batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from index.files import read_array, read_parquet
from index.frames import has_frames
from pipelines.embed.shards import (
    SHARD_REMEDY,
    frames_name,
    metadata_file,
    read_info,
    shard_is_complete,
    shard_is_intact,
    vectors_file,
)
from seqae.errors import SeqaeError


@dataclass(frozen=True)
class EmbeddingSource:
    """A finished embedding directory: its info and the row count of every shard."""

    path: Path
    info: dict[str, Any]
    shards: tuple[int, ...]
    rows: tuple[int, ...]

    @classmethod
    def open(cls, path: Path) -> EmbeddingSource:
        """Check that every shard is there and of the recorded dimension."""
        path = Path(path)
        info = read_info(path)
        if not info.get("complete"):
            raise SeqaeError(f"{path}: embedding job did not finish; re-run 'seqae embed'")
        shards, rows = tuple(info["shards"]), []
        for shard in shards:
            if not shard_is_complete(path, shard):
                raise SeqaeError(f"{path}: shard {shard:05d} is missing")
            if not shard_is_intact(path, shard, info):
                raise SeqaeError(
                    f"{path}: shard {shard:05d} differs from its record (size or checksum): "
                    f"damaged; {SHARD_REMEDY}"
                )
            shape = read_array(vectors_file(path, shard), SHARD_REMEDY, mmap=True).shape
            if len(shape) != 2 or shape[1] != info["dim"]:
                raise SeqaeError(
                    f"{vectors_file(path, shard)}: shape {shape}, expected (n, {info['dim']})"
                )
            rows.append(shape[0])
        if not sum(rows):
            raise SeqaeError(f"{path}: holds no embeddings")
        return cls(path, info, shards, tuple(rows))

    @property
    def count(self) -> int:
        return sum(self.rows)

    @property
    def dim(self) -> int:
        return int(self.info["dim"])

    @property
    def model_id(self) -> str:
        return str(self.info["model_id"])

    @property
    def has_frames(self) -> bool:
        return bool(self.info.get("frames"))

    def vectors(self) -> Iterator[np.ndarray]:
        """Each shard's (rows, dim) float32 vectors, in row order."""
        for shard, rows in zip(self.shards, self.rows, strict=True):
            path = vectors_file(self.path, shard)
            vectors = np.asarray(read_array(path, SHARD_REMEDY, mmap=True), dtype=np.float32)
            if len(vectors) != rows:
                raise SeqaeError(f"{path}: changed while being read")
            if not np.isfinite(vectors).all():
                raise SeqaeError(f"{path}: holds NaN or infinite values")
            yield vectors

    def metadata(self) -> pa.Table:
        """Every shard's metadata rows, in row order, checked against the vector counts."""
        tables = []
        for shard, rows in zip(self.shards, self.rows, strict=True):
            table = read_parquet(metadata_file(self.path, shard), SHARD_REMEDY)
            if table.num_rows != rows:
                raise SeqaeError(
                    f"{metadata_file(self.path, shard)}: {table.num_rows} rows for {rows} vectors"
                )
            tables.append(table)
        return pa.concat_tables(tables, promote_options="default")

    def frame_sets(self) -> list[tuple[Path, str]]:
        """(directory, name) of each shard's stored frames, for index.frames.copy_frames."""
        sets = [(self.path, frames_name(shard)) for shard in self.shards]
        for directory, name in sets:
            if not has_frames(directory, name):
                raise SeqaeError(f"{directory}: frames {name} are missing")
        return sets


def source_vectors(paths: Sequence[Path]) -> Iterator[np.ndarray]:
    """The vectors of several embedding directories, one after another."""
    for path in paths:
        yield from EmbeddingSource.open(path).vectors()
