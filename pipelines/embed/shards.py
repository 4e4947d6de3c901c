"""Embedding directories: ``.npy`` vector shards with ``.parquet`` metadata in the same row order.

Layout of EMB::

    embeddings.json              format version, model id, feature config, dim, shard list
    embeddings-00000.npy         float32 (rows, dim)
    frames-00000.npy             float16 feature frames of the rows, for DTW re-ranking
    frames-00000-offsets.npy     where each row's frames start (see index.frames)
    metadata-00000.parquet       one row per vector: path, start, end, manifest columns

Each shard is written atomically, vectors first and metadata last, so a shard whose metadata
file exists is complete; an interrupted job resumes at the first missing shard. The size and
SHA-256 of every file of a shard are recorded in ``embeddings.json`` (``checksums``), so a
re-run redoes a shard that was truncated or damaged since, instead of keeping it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from index.files import read_array, read_parquet
from index.frames import FrameStore, frames_path, has_frames, offsets_path, pack_frames, save_frames
from seqae.errors import SeqaeError
from seqae.runs import EMBEDDINGS_FILE, replaced_atomically, save_array_atomic

# the embedding jobs redo a shard whose record does not match it
SHARD_REMEDY = "re-run the job that wrote it (seqae embed or ingest redoes damaged shards)"
FORMAT_VERSION = 1
REQUIRED = {"model_id": str, "dim": int, "shards": list, "count": int, "feature_config": dict}
KIND = "seqae-embeddings"
INFO_FILE = EMBEDDINGS_FILE


def vectors_file(directory: Path, shard: int) -> Path:
    return directory / f"embeddings-{shard:05d}.npy"


def metadata_file(directory: Path, shard: int) -> Path:
    return directory / f"metadata-{shard:05d}.parquet"


def frames_name(shard: int) -> str:
    return f"frames-{shard:05d}"


def file_checksum(path: Path) -> list:
    """[size in bytes, SHA-256 hex digest] of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return [path.stat().st_size, digest.hexdigest()]


def shard_files(directory: Path, shard: int) -> list[Path]:
    """The files of one shard that exist (frames only where the directory keeps them)."""
    paths = [
        frames_path(directory, frames_name(shard)),
        offsets_path(directory, frames_name(shard)),
        vectors_file(directory, shard),
        metadata_file(directory, shard),
    ]
    return [path for path in paths if path.is_file()]


def write_shard(
    directory: Path,
    shard: int,
    vectors: np.ndarray,
    metadata: pa.Table,
    frames: list[np.ndarray] | None = None,
) -> dict[str, list]:
    """Write one shard's vectors, frames and metadata (metadata last: it marks it complete).

    Returns the checksums of its files, for ``record_shard``.
    """
    if len(vectors) != metadata.num_rows:
        raise ValueError(f"shard {shard}: {len(vectors)} vectors but {metadata.num_rows} rows")
    if frames is not None:
        if len(frames) != len(vectors):
            raise ValueError(f"shard {shard}: {len(vectors)} vectors but {len(frames)} frame sets")
        dim = frames[0].shape[1] if frames else 0
        save_frames(directory, frames_name(shard), *pack_frames(frames, dim))
    save_array_atomic(vectors_file(directory, shard), np.ascontiguousarray(vectors, np.float32))
    with replaced_atomically(metadata_file(directory, shard)) as tmp:
        pq.write_table(metadata, tmp)
    return {path.name: file_checksum(path) for path in shard_files(directory, shard)}


def record_shard(info: dict[str, Any], shard: int, checksums: dict[str, list]) -> None:
    """Count ``shard`` as written in ``info``, with its files' checksums."""
    info["shards"] = sorted(set(info["shards"]) | {shard})
    info.setdefault("checksums", {})[f"{shard:05d}"] = checksums


def shard_is_complete(directory: Path, shard: int) -> bool:
    return vectors_file(directory, shard).is_file() and metadata_file(directory, shard).is_file()


def shard_is_intact(directory: Path, shard: int, info: dict[str, Any]) -> bool:
    """True if ``shard`` is recorded in ``info`` and its files are as they were written.

    Shards written before checksums were recorded are checked for presence only.
    """
    if shard not in info["shards"] or not shard_is_complete(directory, shard):
        return False
    recorded = info.get("checksums", {}).get(f"{shard:05d}")
    if recorded is None:
        return True
    for name, (size, digest) in recorded.items():
        path = directory / name
        if not path.is_file() or path.stat().st_size != size:
            return False
        if file_checksum(path)[1] != digest:
            return False
    return True


@dataclass(frozen=True)
class EmbeddingSet:
    """An embedding directory read back: all vectors, all metadata rows, and its info."""

    vectors: np.ndarray
    metadata: pa.Table
    info: dict[str, Any]
    frames: tuple[np.ndarray, np.ndarray] | None = None  # packed, as index.frames.pack_frames


def read_info(directory: Path) -> dict[str, Any]:
    """Read and check ``embeddings.json``."""
    path = directory / INFO_FILE
    if not path.is_file():
        raise SeqaeError(f"{directory}: not an embedding directory (no {INFO_FILE})")
    try:
        info = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise SeqaeError(f"{path}: unreadable ({error})") from None
    if not isinstance(info, dict):
        raise SeqaeError(f"{path}: not a seqae embedding record (a JSON {type(info).__name__})")
    if info.get("kind") != KIND or info.get("format_version") != FORMAT_VERSION:
        raise SeqaeError(f"{path}: not a version-{FORMAT_VERSION} seqae embedding directory")
    for key, kinds in REQUIRED.items():
        if not isinstance(info.get(key), kinds):
            raise SeqaeError(f"{path}: damaged ({key!r} missing or not valid); {SHARD_REMEDY}")
    if not all(isinstance(shard, int) for shard in info["shards"]):
        raise SeqaeError(f"{path}: damaged (shard numbers not valid); {SHARD_REMEDY}")
    return info


def existing_info(directory: Path, model_id: str) -> dict[str, Any] | None:
    """The info of an embedding directory already made by model ``model_id`` (None if the
    directory holds none yet); a one-line error if another model made it."""
    if not (directory / INFO_FILE).is_file():
        return None
    info = read_info(directory)
    if info["model_id"] != model_id:
        raise SeqaeError(
            f"{directory}: holds embeddings of model {info['model_id']}, not {model_id}; "
            "choose another --out"
        )
    return info


def new_info(
    directory: Path, bundle: Any, feature_config: dict, source: Path, **fields: Any
) -> dict[str, Any]:
    """Create ``directory`` and return the info of an empty embedding directory."""
    directory.mkdir(parents=True, exist_ok=True)
    return {
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "model_id": bundle.model_id,
        "model_path": str(bundle.path.resolve()),
        "feature_config": feature_config,
        "dim": bundle.embedding_dim,
        "source": str(source.resolve()),
        "shards": [],
        "skipped": {},
        "count": 0,
        "complete": False,
        **fields,
    }


def read_embeddings(directory: Path) -> EmbeddingSet:
    """Load every shard of an embedding directory, in shard order."""
    info = read_info(directory)
    if not info.get("complete"):
        raise SeqaeError(f"{directory}: embedding job did not finish; re-run 'seqae embed'")
    vectors, tables = [], []
    for shard in info["shards"]:
        if not shard_is_complete(directory, shard):
            raise SeqaeError(f"{directory}: shard {shard:05d} is missing")
        vectors.append(read_array(vectors_file(directory, shard), SHARD_REMEDY))
        tables.append(read_parquet(metadata_file(directory, shard), SHARD_REMEDY))
    if not vectors:
        raise SeqaeError(f"{directory}: holds no embeddings")
    metadata = pa.concat_tables(tables, promote_options="default")
    frames = _read_frames(directory, info["shards"]) if info.get("frames") else None
    return EmbeddingSet(np.concatenate(vectors).astype(np.float32), metadata, info, frames)


def _read_frames(directory: Path, shards: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Every shard's frames joined into one packed pair, offsets shifted to match."""
    parts, offsets, total = [], [np.zeros(1, dtype=np.int64)], 0
    for shard in shards:
        if not has_frames(directory, frames_name(shard)):
            raise SeqaeError(f"{directory}: frames of shard {shard:05d} are missing")
        frames, shard_offsets = FrameStore(directory, frames_name(shard)).packed()
        parts.append(frames)
        offsets.append(shard_offsets[1:] + total)
        total += len(frames)
    return np.concatenate(parts), np.concatenate(offsets)
