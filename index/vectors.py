"""Plain functions over numpy arrays: cosine-similarity FAISS indexes, checked on entry."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import faiss
import numpy as np


def _check_matrix(vectors: np.ndarray, name: str) -> np.ndarray:
    """Return `vectors` as an array after checking it is a finite (n, d) float matrix."""
    array = np.asarray(vectors)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n, d), got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{name} must hold floating-point numbers, got dtype {array.dtype}")
    if array.shape[1] == 0:
        raise ValueError(f"{name} must have at least one column, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    return array


def _check_dim(index: faiss.Index, vectors: np.ndarray, name: str) -> None:
    if vectors.shape[1] != index.d:
        raise ValueError(
            f"{name} are {vectors.shape[1]}-dim, the index holds {index.d}-dim vectors"
        )


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Float32 C-contiguous copy of `vectors` with unit-length rows; zero rows stay zero."""
    array = _check_matrix(vectors, "vectors")
    out = np.array(array, dtype=np.float32, order="C", copy=True)  # (n, d)
    # Norms in float64 so tiny or huge float32 rows neither underflow nor overflow.
    norms = np.linalg.norm(array.astype(np.float64), axis=1, keepdims=True)  # (n, 1)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def build_flat_index(vectors: np.ndarray) -> faiss.Index:
    """Exact cosine-similarity index (inner product on unit rows); ids are row numbers."""
    array = _check_matrix(vectors, "vectors")
    index = faiss.IndexFlatIP(array.shape[1])
    add_vectors(index, array)
    return index


def add_vectors(index: faiss.Index, vectors: np.ndarray) -> None:
    """Normalise `vectors` and append them; their ids continue from index.ntotal."""
    array = _check_matrix(vectors, "vectors")
    _check_dim(index, array, "vectors")
    if len(array):
        index.add(normalize(array))


def search_index(
    index: faiss.Index,
    queries: np.ndarray,
    k: int,
    params: faiss.SearchParameters | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k cosine scores (nq, k) float32 and ids (nq, k) int64; k is clamped to ntotal.

    ``params`` (see index.params.search_parameters) apply to this search only.
    """
    array = _check_matrix(queries, "queries")
    _check_dim(index, array, "queries")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if index.ntotal == 0:
        raise ValueError("cannot search an empty index (it holds no vectors)")
    k = min(int(k), index.ntotal)
    scores, ids = index.search(normalize(array), k, params=params)
    return scores.astype(np.float32, copy=False), ids.astype(np.int64, copy=False)


def save_index(index: faiss.Index, path: str | os.PathLike[str]) -> None:
    """Write `index` to `path` atomically: a temp file in the same directory, then rename."""
    path = Path(path)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        faiss.write_index(index, temp_name)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def load_index(path: str | os.PathLike[str], mmap: bool = False) -> faiss.Index:
    """Read an index written by `save_index`; with ``mmap``, map its vectors from the file.

    FAISS maps the codes of flat storage (Flat, HNSW) with IO_FLAG_MMAP_IFC and the inverted
    lists of IVF indexes with IO_FLAG_MMAP; other indexes are read into memory. A mapped index
    is read-only: never add to it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no index file at {path}")
    if mmap:
        for flags in (faiss.IO_FLAG_MMAP_IFC, faiss.IO_FLAG_MMAP | faiss.IO_FLAG_ONDISK_SAME_DIR):
            try:
                return faiss.read_index(str(path), flags)
            except RuntimeError:
                continue  # this FAISS cannot map that structure: try the next way
    return faiss.read_index(str(path))
