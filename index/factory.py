"""Which FAISS index to build for cosine search, and how to make and train it.

``choose_factory`` follows autofaiss's selection: an exact ``Flat`` index while a full scan is
cheap, else an ``HNSW`` graph if it fits the memory budget (the fastest and most accurate
approximate index), else ``IVF,PQ``: coarse clusters plus product-quantised codes, as large as
the budget allows. Every index uses inner product on unit vectors.

On 1,000,000 clustered 128-dim vectors HNSW32 over the float vectors answered as fast as
HNSW32 over 8-bit codes with exact re-ranking (``HNSW32_SQ8,RFlat``) at the same recall, and
takes less memory, so the graph keeps the float vectors (docs/benchmarks.md).
"""

from __future__ import annotations

import math
import re

import faiss
import numpy as np

from index.vectors import normalize
from seqae.errors import SeqaeError

AUTO = "auto"
DEFAULT_MEMORY = "4GB"
# A Flat search reads count * dim floats per query; up to 16 MiB it takes about 1 ms here.
FLAT_MAX_FLOATS = 1 << 22
HNSW_MIN_LINKS, HNSW_MAX_LINKS = 8, 32
# Bytes per vector beyond the vector and its level-0 links (upper levels, offsets, levels);
# measured: HNSW32 over 100,000 128-dim vectors takes 784.2 bytes per vector on disk.
HNSW_EXTRA_BYTES = 16
ID_BYTES = 8  # an IVF list stores each vector's id beside its code
REFINE_FACTOR = 2  # a refining index re-ranks 2k candidates (4k found no more at 1M, measured)
PQ_MIN_VECTORS = 10_000  # 8-bit codebooks need about 39 x 256 training vectors
TRAIN_PER_LIST = 50  # k-means wants 39 to 256 training vectors per cluster
TRAIN_MIN = 1 << 16  # and PQ codebooks up to 256 x 256

_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_BINARY = {"KI": 2**10, "MI": 2**20, "GI": 2**30, "TI": 2**40}


def parse_memory(text: str | int) -> int:
    """'1GB' -> 10**9 bytes, '512MiB' -> 512 * 2**20; plain numbers are bytes."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]I?)?B?\s*", str(text), re.IGNORECASE)
    if not match:
        raise SeqaeError(f"memory budget {text!r} is not a size such as 512MB, 1GB or 2GiB")
    unit = (match.group(2) or "").upper()
    size = float(match.group(1)) * {**_UNITS, **_BINARY}[unit]
    if size < 1:
        raise SeqaeError(f"memory budget {text!r} must be positive")
    return int(size)


def flat_bytes(count: int, dim: int) -> int:
    return 4 * count * dim


def hnsw_bytes(count: int, dim: int, links: int, refined: bool = False) -> int:
    """Vectors plus 2 * links int32 neighbours per vector on level 0; ``refined``: the graph
    holds 8-bit codes and the float vectors sit beside it for re-ranking (``_SQ8,RFlat``)."""
    vector_bytes = 5 * dim if refined else 4 * dim
    return count * (vector_bytes + 8 * links + HNSW_EXTRA_BYTES)


def ivf_lists(count: int) -> int:
    """About 4 sqrt(count) clusters, a power of two, with at least 39 vectors in each."""
    lists = 2 ** round(math.log2(4 * math.sqrt(max(count, 1))))
    return int(max(1, min(lists, 65536, 2 ** math.floor(math.log2(max(count // 39, 1))))))


def ivf_pq_bytes(count: int, dim: int, lists: int, code_bytes: int) -> int:
    """Codes and ids in the lists, plus the centroids and the 256-entry PQ codebooks."""
    return count * (code_bytes + ID_BYTES) + 4 * dim * (lists + 256)


def choose_factory(count: int, dim: int, memory_bytes: int) -> str:
    """FAISS factory string for ``count`` vectors of ``dim`` within ``memory_bytes``."""
    if count < 0 or dim < 1 or memory_bytes < 1:
        raise ValueError(
            f"need count >= 0, dim >= 1, memory > 0; got {count}, {dim}, {memory_bytes}"
        )
    if count * dim <= FLAT_MAX_FLOATS and flat_bytes(count, dim) <= memory_bytes:
        return "Flat"
    links = (memory_bytes // max(count, 1) - 4 * dim - HNSW_EXTRA_BYTES) // 8
    if links >= HNSW_MIN_LINKS:
        return f"HNSW{min(links, HNSW_MAX_LINKS)}"
    lists = ivf_lists(count)
    # Sub-vectors of at least 2 dimensions; the largest code that fits is the most accurate.
    for code_bytes in sorted((m for m in range(1, dim // 2 + 1) if dim % m == 0), reverse=True):
        fits = ivf_pq_bytes(count, dim, lists, code_bytes) <= memory_bytes
        if fits and count >= PQ_MIN_VECTORS:
            return f"IVF{lists},PQ{code_bytes}"
    raise SeqaeError(
        f"a memory budget of {memory_bytes:,} bytes is too small for {count:,} vectors of "
        f"dim {dim}: Flat needs {flat_bytes(count, dim):,} and HNSW8 {hnsw_bytes(count, dim, 8):,}"
    )


def make_index(factory: str, dim: int) -> faiss.Index:
    """An empty inner-product index from a factory string, ready to train."""
    try:
        index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        reason = str(exc).strip().splitlines()[-1]
        raise SeqaeError(f"factory {factory!r} cannot index {dim}-dim vectors ({reason})") from None
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        ivf.cp.spherical = True  # unit centroids, so inner product assigns to the nearest one
        _skip_polysemous(ivf)
    _skip_polysemous(faiss.downcast_index(index))
    if isinstance(faiss.downcast_index(index), faiss.IndexRefine):
        index.k_factor = REFINE_FACTOR  # the factory's 1 would re-rank only the k found
    return index


def _skip_polysemous(index: faiss.Index) -> None:
    # The factory turns on polysemous training for 8-bit PQ: it only serves Hamming filtering,
    # which seqae does not use, and takes minutes.
    if hasattr(index, "do_polysemous_training"):
        index.do_polysemous_training = False


def training_size(index: faiss.Index, count: int) -> int:
    """How many sample vectors to train ``index`` on (0 when it needs no training)."""
    if index.is_trained:
        return 0
    ivf = faiss.try_extract_index_ivf(index)
    lists = ivf.nlist if ivf is not None else 1
    return min(count, max(TRAIN_PER_LIST * lists, TRAIN_MIN))


def train_index(index: faiss.Index, sample: np.ndarray) -> None:
    """Train on unit-length rows of ``sample`` (vectors are normalised before every add)."""
    if index.is_trained:
        return
    sample = normalize(sample)
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None and len(sample) < ivf.nlist:
        raise SeqaeError(f"{len(sample)} vectors cannot train {ivf.nlist} IVF clusters")
    try:
        index.train(sample)
    except RuntimeError as exc:
        reason = str(exc).strip().splitlines()[-1]
        raise SeqaeError(f"cannot train the index on {len(sample)} vectors ({reason})") from None
