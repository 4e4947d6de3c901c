"""An index directory: FAISS vectors, one parquet metadata row per vector, and index.json."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from index.vectors import add_vectors, build_flat_index, load_index, search_index
from seqae.errors import SeqaeError

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
KIND = "seqae-index"
INDEX_FILE = "index.faiss"
METADATA_FILE = "metadata.parquet"
INFO_FILE = "index.json"


@dataclass(frozen=True)
class IndexInfo:
    """What made the vectors: the model, its feature settings and the inputs."""

    model_id: str
    model_path: str
    dim: int
    feature_config: dict[str, Any]
    sources: Sequence[str] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "dim", int(self.dim))
        object.__setattr__(self, "feature_config", dict(self.feature_config))
        object.__setattr__(self, "sources", tuple(str(source) for source in self.sources))


@dataclass(frozen=True, kw_only=True)
class StoredIndexInfo(IndexInfo):
    """IndexInfo as read back from index.json, with the vector count and creation time."""

    count: int
    created: str
    metric: str = "cosine"
    factory: str = "Flat"


@dataclass(frozen=True)
class Hit:
    """One search result; rank starts at 1 and metadata is the vector's metadata row."""

    rank: int
    score: float
    id: int
    metadata: dict[str, Any] = field(default_factory=dict)


class SearchIndex:
    """An opened index directory: search it and check where query vectors come from."""

    def __init__(
        self, path: Path, index: faiss.Index, metadata: pa.Table, info: StoredIndexInfo
    ) -> None:
        self.path = path
        self.index = index
        self.metadata = metadata
        self.info = info

    def __len__(self) -> int:
        return self.index.ntotal

    def check_vectors(self, model_id: str) -> None:
        """Refuse vectors embedded by a model other than the one that built the index."""
        if model_id != self.info.model_id:
            raise SeqaeError(
                f"index {self.path} was built with model {self.info.model_id}, "
                f"vectors come from model {model_id}"
            )

    def search(self, queries: np.ndarray, k: int) -> list[list[Hit]]:
        """Top-k hits per query row, best first, each carrying its metadata row."""
        queries = np.asarray(queries)
        if queries.ndim == 2 and queries.shape[1] != self.index.d:
            raise SeqaeError(
                f"index {self.path} holds {self.index.d}-dim vectors, "
                f"queries are {queries.shape[1]}-dim"
            )
        scores, ids = search_index(self.index, queries, k)  # (nq, k), (nq, k)
        # One metadata lookup for all queries; faiss pads with -1 when it finds fewer than k.
        rows = iter(self.metadata.take(pa.array(ids[ids >= 0])).to_pylist())
        hits: list[list[Hit]] = []
        for query_scores, query_ids in zip(scores, ids, strict=True):
            found = [
                (float(s), int(i)) for s, i in zip(query_scores, query_ids, strict=True) if i >= 0
            ]
            hits.append([Hit(rank, s, i, next(rows)) for rank, (s, i) in enumerate(found, start=1)])
        return hits


def _info_to_json(info: StoredIndexInfo) -> dict[str, Any]:
    values = asdict(info)
    values["sources"] = list(info.sources)
    return {"format_version": FORMAT_VERSION, "kind": KIND, **values}


def _read_info(path: Path) -> StoredIndexInfo:
    info_path = path / INFO_FILE
    if not info_path.is_file():
        raise SeqaeError(f"{path}: not a seqae index directory (no {INFO_FILE})")
    try:
        raw = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SeqaeError(f"{info_path}: cannot be read as JSON ({exc})") from exc
    if not isinstance(raw, dict) or raw.get("kind") != KIND:
        kind = raw.get("kind") if isinstance(raw, dict) else None
        raise SeqaeError(f"{info_path}: kind is {kind!r}, expected {KIND!r}")
    if raw.get("format_version") != FORMAT_VERSION:
        raise SeqaeError(
            f"{info_path}: format version {raw.get('format_version')!r} is not supported "
            f"(this seqae reads version {FORMAT_VERSION})"
        )
    keys = {"model_id", "model_path", "dim", "feature_config", "sources", "count", "created"}
    if missing := sorted(keys - raw.keys()):
        raise SeqaeError(f"{info_path}: missing fields {', '.join(missing)}")
    if raw.get("metric", "cosine") != "cosine":
        raise SeqaeError(f"{info_path}: metric {raw['metric']!r} is not supported")
    names = keys | ({"metric", "factory"} & raw.keys())
    return StoredIndexInfo(**{name: raw[name] for name in names})


def _write_dir(out: Path, index: faiss.Index, metadata: pa.Table, info: StoredIndexInfo) -> None:
    """Write all files into a temp dir next to `out`, then swap it in for `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        faiss.write_index(index, str(temp / INDEX_FILE))
        pq.write_table(metadata, temp / METADATA_FILE)
        text = json.dumps(_info_to_json(info), indent=2)
        (temp / INFO_FILE).write_text(text + "\n", encoding="utf-8")
        if out.exists():
            # A directory cannot be atomically replaced by another non-empty one: move the old
            # one aside first, so a reader sees either the old or the new index, never a mix.
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".old"))
            os.replace(out, old / out.name)
            os.replace(temp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temp, out)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _check_rows(vectors: np.ndarray, metadata: pa.Table, dim: int, where: Path) -> None:
    if not isinstance(metadata, pa.Table):
        raise TypeError(f"metadata must be a pyarrow.Table, got {type(metadata).__name__}")
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise SeqaeError(f"{where}: expected an (n, {dim}) array of vectors, got {vectors.shape}")
    if metadata.num_rows != len(vectors):
        raise SeqaeError(f"{where}: {len(vectors)} vectors but {metadata.num_rows} metadata rows")


def create_index_dir(
    out: Path, vectors: np.ndarray, metadata: pa.Table, info: IndexInfo, overwrite: bool = False
) -> Path:
    """Build a cosine index over `vectors` (row i = metadata row i) and write it to `out`."""
    out = Path(out)
    vectors = np.asarray(vectors)
    _check_rows(vectors, metadata, info.dim, out)
    if out.exists() and not out.is_dir():
        raise SeqaeError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise SeqaeError(f"{out}: directory is not empty (pass overwrite to replace it)")
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    base = {item.name: getattr(info, item.name) for item in fields(IndexInfo)}
    stored = StoredIndexInfo(**base, count=len(vectors), created=created)
    _write_dir(out, build_flat_index(vectors), metadata, stored)
    logger.debug("wrote index of %d vectors to %s", len(vectors), out)
    return out


def open_index_dir(path: Path) -> SearchIndex:
    """Open an index directory, checking its format and that its three files agree."""
    path = Path(path)
    if not path.is_dir():
        raise SeqaeError(f"{path}: no such index directory")
    info = _read_info(path)
    try:
        index = load_index(path / INDEX_FILE)
        metadata = pq.read_table(path / METADATA_FILE)
    except (OSError, RuntimeError, pa.ArrowException) as exc:
        raise SeqaeError(f"{path}: cannot read index files ({exc})") from exc
    if not info.count == index.ntotal == metadata.num_rows:
        raise SeqaeError(
            f"{path}: {INFO_FILE} says {info.count} vectors, {INDEX_FILE} holds "
            f"{index.ntotal} and {METADATA_FILE} {metadata.num_rows} rows"
        )
    if index.d != info.dim:
        raise SeqaeError(f"{path}: {INFO_FILE} says dim {info.dim}, {INDEX_FILE} has {index.d}")
    return SearchIndex(path, index, metadata, info)


def add_to_index_dir(
    path: Path,
    vectors: np.ndarray,
    metadata: pa.Table,
    model_id: str,
    sources: Sequence[str] = (),
) -> SearchIndex:
    """Append vectors and their metadata rows to an index built by the same model."""
    current = open_index_dir(path)
    current.check_vectors(model_id)
    vectors = np.asarray(vectors)
    _check_rows(vectors, metadata, current.info.dim, current.path)
    names = current.metadata.column_names
    try:
        if sorted(metadata.column_names) != sorted(names):
            raise ValueError("the columns differ")
        new_rows = metadata.select(names).cast(current.metadata.schema)
    except (ValueError, pa.ArrowException) as exc:
        raise SeqaeError(
            f"{current.path}: cannot append metadata with columns {metadata.column_names} "
            f"to an index with columns {names} ({exc})"
        ) from exc
    add_vectors(current.index, vectors)
    merged = pa.concat_tables([current.metadata, new_rows])
    info = replace(
        current.info,
        count=current.index.ntotal,
        sources=(*current.info.sources, *(str(source) for source in sources)),
    )
    _write_dir(current.path, current.index, merged, info)
    logger.debug("added %d vectors to %s (now %d)", len(vectors), current.path, info.count)
    return SearchIndex(current.path, current.index, merged, info)
