"""An index directory: FAISS vectors, one parquet metadata row per vector, and index.json.

Row i of metadata.parquet describes vector id i. Writing a directory, first or after an
``add``, builds a complete new one and swaps it in (index.atomic): a failure at any point
leaves the previous index as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from index.atomic import replace_dir
from index.build import add_batches, new_trained_index, tune_index
from index.info import INFO_FILE, IndexInfo, StoredIndexInfo, info_to_json, read_info
from index.params import search_parameters, stored_vectors, stores_exact_vectors
from index.recall import Tuning
from index.vectors import load_index, search_index
from seqae.errors import SeqaeError
from seqae.runs import INDEX, INDEX_FILE, INDEX_METADATA_FILE, check_not_input, directory_kind

logger = logging.getLogger(__name__)

METADATA_FILE = INDEX_METADATA_FILE
Writer = Callable[[Path], None]


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

    def parameters(
        self, nprobe: int | None = None, ef_search: int | None = None
    ) -> faiss.SearchParameters | None:
        """Search parameters for one search: the given values, else the recorded defaults."""
        try:
            return search_parameters(
                self.index, nprobe or self.info.nprobe, ef_search or self.info.ef_search
            )
        except ValueError as exc:
            raise SeqaeError(f"index {self.path} ({self.info.factory}): {exc}") from None

    def search(
        self,
        queries: np.ndarray,
        k: int,
        nprobe: int | None = None,
        ef_search: int | None = None,
    ) -> list[list[Hit]]:
        """Top-k hits per query row, best first, each carrying its metadata row.

        ``nprobe`` (IVF) and ``ef_search`` (HNSW) apply to this search only; by default the
        values tuned when the index was written.
        """
        queries = np.asarray(queries)
        if queries.ndim == 2 and queries.shape[1] != self.index.d:
            raise SeqaeError(
                f"index {self.path} holds {self.index.d}-dim vectors, "
                f"queries are {queries.shape[1]}-dim"
            )
        params = self.parameters(nprobe, ef_search)
        scores, ids = search_index(self.index, queries, k, params=params)  # (nq, k), (nq, k)
        # One metadata lookup for all queries; faiss pads with -1 when it finds fewer than k.
        rows = iter(self.metadata.take(pa.array(ids[ids >= 0])).to_pylist())
        hits: list[list[Hit]] = []
        for query_scores, query_ids in zip(scores, ids, strict=True):
            found = [
                (float(s), int(i)) for s, i in zip(query_scores, query_ids, strict=True) if i >= 0
            ]
            hits.append([Hit(rank, s, i, next(rows)) for rank, (s, i) in enumerate(found, start=1)])
        return hits


def write_index_dir(
    out: Path,
    index: faiss.Index,
    metadata: pa.Table,
    info: StoredIndexInfo,
    extra: Writer | None = None,
    keep_from: Path | None = None,
) -> None:
    """Write (or replace) ``out`` at once: index, metadata, info, and what ``extra`` adds.

    ``keep_from``'s other files (model, frames, command records) are kept by hard links.
    """

    def write(temp: Path) -> None:
        if extra is not None:
            extra(temp)
        faiss.write_index(index, str(temp / INDEX_FILE))
        pq.write_table(metadata, temp / METADATA_FILE)
        (temp / INFO_FILE).write_text(info_to_json(info), encoding="utf-8")

    replace_dir(out, write, keep_from, skip=(INDEX_FILE, METADATA_FILE, INFO_FILE))


def _check_rows(vectors: np.ndarray, metadata: pa.Table, dim: int, where: Path) -> None:
    if not isinstance(metadata, pa.Table):
        raise TypeError(f"metadata must be a pyarrow.Table, got {type(metadata).__name__}")
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise SeqaeError(f"{where}: expected an (n, {dim}) array of vectors, got {vectors.shape}")
    if metadata.num_rows != len(vectors):
        raise SeqaeError(f"{where}: {len(vectors)} vectors but {metadata.num_rows} metadata rows")


def check_out_dir(out: Path, overwrite: bool, inputs: Iterable[Path] = ()) -> None:
    """Refuse to write over a file, an input, or a non-empty directory unless asked to; and
    even then, to replace anything but an index directory."""
    if out.exists() and not out.is_dir():
        raise SeqaeError(f"{out}: exists and is not a directory")
    check_not_input(out, inputs)
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not overwrite:
        raise SeqaeError(f"{out}: directory is not empty (pass overwrite to replace it)")
    if directory_kind(out) != INDEX:
        raise SeqaeError(
            f"{out}: is not a seqae index directory; overwrite replaces only an index "
            "directory, never other files; choose another --out"
        )
    if Path.cwd().resolve() in (out.resolve(), *out.resolve().parents):
        raise SeqaeError(f"{out}: is or holds the current folder; run from another folder")


def stored_info(
    info: IndexInfo, count: int, factory: str, tuning: Tuning | None, budget: int | None = None
) -> StoredIndexInfo:
    """``info`` with the count, creation time, factory and tuned search defaults."""
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    base = {item.name: getattr(info, item.name) for item in fields(IndexInfo)}
    tuned = {} if tuning is None else _tuning_fields(tuning)
    return StoredIndexInfo(
        **base, count=count, created=created, factory=factory, memory_budget=budget, **tuned
    )


def _tuning_fields(tuning: Tuning) -> dict[str, Any]:
    return {"nprobe": tuning.nprobe, "ef_search": tuning.ef_search, "recall": tuning.recall}


def create_index_dir(
    out: Path,
    vectors: np.ndarray,
    metadata: pa.Table,
    info: IndexInfo,
    overwrite: bool = False,
    factory: str = "Flat",
    seed: int = 0,
) -> Path:
    """Build a cosine index over `vectors` (row i = metadata row i) and write it to `out`."""
    out = Path(out)
    vectors = np.asarray(vectors)
    _check_rows(vectors, metadata, info.dim, out)
    check_out_dir(out, overwrite)
    index = new_trained_index(
        factory, info.dim, len(vectors), lambda rows: vectors[rows], seed=seed
    )
    add_batches(index, [vectors])
    tuning = tune_index(index, lambda: [vectors], seed=seed)
    write_index_dir(out, index, metadata, stored_info(info, len(vectors), factory, tuning))
    logger.debug("wrote %s index of %d vectors to %s", factory, len(vectors), out)
    return out


def open_index_dir(path: Path, mmap: bool = True) -> SearchIndex:
    """Open an index directory, checking its format and that its three files agree.

    With ``mmap`` the vectors stay in the file, mapped into memory where FAISS can (see
    index.vectors.load_index); such an index is for searching only.
    """
    path = Path(path)
    if not path.is_dir():
        raise SeqaeError(f"{path}: no such index directory")
    info = read_info(path)
    try:
        index = load_index(path / INDEX_FILE, mmap=mmap)
        # One chunk: taking rows from a many-chunked table copies it first (7 ms at 1M rows).
        metadata = pq.read_table(path / METADATA_FILE).combine_chunks()
    except (OSError, RuntimeError, pa.ArrowException) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise SeqaeError(f"{path}: cannot read index files ({reason}); rebuild the index") from None
    if not info.count == index.ntotal == metadata.num_rows:
        raise SeqaeError(
            f"{path}: {INFO_FILE} says {info.count} vectors, {INDEX_FILE} holds "
            f"{index.ntotal} and {METADATA_FILE} {metadata.num_rows} rows"
        )
    if index.d != info.dim:
        raise SeqaeError(f"{path}: {INFO_FILE} says dim {info.dim}, {INDEX_FILE} has {index.d}")
    return SearchIndex(path, index, metadata, info)


def _append_metadata(current: SearchIndex, metadata: pa.Table) -> pa.Table:
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
    return pa.concat_tables([current.metadata, new_rows]).combine_chunks()


@dataclass(frozen=True)
class Addition:
    """What to append to an index directory, besides the vectors."""

    metadata: pa.Table
    model_id: str
    sources: Iterable[str] = ()
    extra: Writer | None = None  # writes more files (frames, a command record) into the new dir
    exact_vectors: Callable[[], Iterable[np.ndarray]] | None = None  # all vectors, for tuning
    progress: Callable[[int], None] | None = None
    seed: int = 0


def add_to_index_dir(
    path: Path,
    vectors: np.ndarray,
    metadata: pa.Table,
    model_id: str,
    sources: Iterable[str] = (),
) -> SearchIndex:
    """Append vectors and their metadata rows to an index built by the same model."""
    return append_to_index_dir(path, vectors, Addition(metadata, model_id, tuple(sources)))


def append_to_index_dir(
    path: Path, vectors: np.ndarray | Iterable[np.ndarray], add: Addition
) -> SearchIndex:
    """Append vectors (an array, or batches in row order), then re-tune the search defaults.

    The directory changes only once everything has succeeded: a failure midway (a bad batch,
    a full disk, a killed process) leaves the index as it was.
    """
    current = open_index_dir(path, mmap=False)  # a mapped index cannot grow
    current.check_vectors(add.model_id)
    if isinstance(vectors, np.ndarray):
        _check_rows(vectors, add.metadata, current.info.dim, current.path)
        vectors = [vectors]
    merged = _append_metadata(current, add.metadata)
    added = add_batches(current.index, vectors, add.progress)
    if added != add.metadata.num_rows:
        raise SeqaeError(f"{current.path}: {added} vectors but {add.metadata.num_rows} rows")
    tuning = _retune(current, add)
    info = replace(
        current.info,
        count=current.index.ntotal,
        sources=(*current.info.sources, *(str(source) for source in add.sources)),
        **({} if tuning is None else _tuning_fields(tuning)),
    )
    write_index_dir(current.path, current.index, merged, info, add.extra, keep_from=current.path)
    logger.debug("added %d vectors to %s (now %d)", added, current.path, info.count)
    return SearchIndex(current.path, current.index, merged, info)


def _retune(current: SearchIndex, add: Addition) -> Tuning | None:
    if stores_exact_vectors(current.index):
        return tune_index(current.index, lambda: stored_vectors(current.index), add.seed)
    if add.exact_vectors is not None:
        return tune_index(current.index, add.exact_vectors, add.seed)
    logger.warning("%s: kept the search defaults (no exact vectors to tune on)", current.path)
    return None
