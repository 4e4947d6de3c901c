"""Search parameters passed with each query, and what an index's structure allows.

FAISS indexes keep ``nprobe`` and ``efSearch`` as mutable fields; setting them on an index
that several callers share changes everyone's searches. Here they travel with the query as
``faiss.SearchParameters`` built for the index's structure (nested through pre-transforms and
refinement stages), and the index itself is never changed.
"""

from __future__ import annotations

from collections.abc import Iterator

import faiss
import numpy as np


def _parts(index: faiss.Index) -> Iterator[faiss.Index]:
    """The index and every index it wraps, outermost first."""
    index = faiss.downcast_index(index)
    yield index
    if isinstance(index, faiss.IndexPreTransform):
        yield from _parts(index.index)
    elif isinstance(index, faiss.IndexRefine):
        yield from _parts(index.base_index)
    elif isinstance(index, faiss.IndexIVF):
        quantizer = faiss.downcast_index(index.quantizer)
        if isinstance(quantizer, faiss.IndexHNSW):
            yield quantizer


def tunable(index: faiss.Index) -> str | None:
    """'nprobe' for IVF indexes, 'ef_search' for HNSW graphs, None for exact indexes."""
    kinds = [type(part) for part in _parts(index)]
    if any(issubclass(kind, faiss.IndexIVF) for kind in kinds):
        return "nprobe"
    if any(issubclass(kind, faiss.IndexHNSW) for kind in kinds):
        return "ef_search"
    return None


def list_count(index: faiss.Index) -> int:
    """Number of IVF lists (0 for an index without them)."""
    ivf = faiss.try_extract_index_ivf(index)
    return 0 if ivf is None else int(ivf.nlist)


def search_parameters(
    index: faiss.Index, nprobe: int | None = None, ef_search: int | None = None
) -> faiss.SearchParameters | None:
    """Parameters for one search of ``index``; None leaves the index's own values."""
    kind = tunable(index)
    for name, value in (("nprobe", nprobe), ("ef_search", ef_search)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if name == "nprobe" and kind != "nprobe":
            raise ValueError(f"nprobe applies to IVF indexes, not to {type(index).__name__}")
        if name == "ef_search" and not _has_hnsw(index):
            raise ValueError(f"ef_search applies to HNSW indexes, not to {type(index).__name__}")
    if nprobe is None and ef_search is None:
        return None
    return _build(faiss.downcast_index(index), nprobe, ef_search)


def _has_hnsw(index: faiss.Index) -> bool:
    return any(isinstance(part, faiss.IndexHNSW) for part in _parts(index))


def _build(
    index: faiss.Index, nprobe: int | None, ef_search: int | None
) -> faiss.SearchParameters | None:
    # SWIG does not keep nested parameter objects alive: each parent holds a reference.
    if isinstance(index, faiss.IndexPreTransform):
        inner = _build(faiss.downcast_index(index.index), nprobe, ef_search)
        params = faiss.SearchParametersPreTransform()
        params.index_params, params.referenced_objects = inner, [inner]
        return params
    if isinstance(index, faiss.IndexRefine):
        inner = _build(faiss.downcast_index(index.base_index), nprobe, ef_search)
        params = faiss.IndexRefineSearchParameters(k_factor=index.k_factor)
        params.base_index_params, params.referenced_objects = inner, [inner]
        return params
    if isinstance(index, faiss.IndexIVF):
        params = faiss.SearchParametersIVF(nprobe=int(nprobe or index.nprobe))
        quantizer = faiss.downcast_index(index.quantizer)
        if isinstance(quantizer, faiss.IndexHNSW) and ef_search is not None:
            inner = faiss.SearchParametersHNSW(efSearch=int(ef_search))
            params.quantizer_params, params.referenced_objects = inner, [inner]
        return params
    if isinstance(index, faiss.IndexHNSW):
        return faiss.SearchParametersHNSW(efSearch=int(ef_search or index.hnsw.efSearch))
    return None


def stores_exact_vectors(index: faiss.Index) -> bool:
    """True when reconstructing a vector gives back exactly the (normalised) vector added."""
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexFlat) or isinstance(index, faiss.IndexIVFFlat):
        return True
    if isinstance(index, faiss.IndexHNSW):
        return isinstance(faiss.downcast_index(index.storage), faiss.IndexFlat)
    if isinstance(index, faiss.IndexRefine):
        return isinstance(faiss.downcast_index(index.refine_index), faiss.IndexFlat)
    return False


def stored_vectors(index: faiss.Index, batch: int = 65536) -> Iterator[np.ndarray]:
    """The index's vectors in id order, ``batch`` rows at a time (see stores_exact_vectors)."""
    ivf = faiss.try_extract_index_ivf(index)
    made_map = ivf is not None and ivf.direct_map.type == faiss.DirectMap.NoMap
    if made_map:
        ivf.make_direct_map()  # reconstructing by id needs the id -> list map
    try:
        for start in range(0, index.ntotal, batch):
            yield index.reconstruct_n(start, min(batch, index.ntotal - start))  # (b, d)
    finally:
        if made_map:
            ivf.make_direct_map(False)  # 8 bytes a vector that searching does not need
