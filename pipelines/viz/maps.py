"""Embedding maps: the vectors of an embedding or index directory projected onto a plane.

Vectors are compared by cosine similarity everywhere else, so they are mapped as unit rows.
A map of a large archive draws a seeded sample of its rows (``sample``).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index import normalize, open_index_dir
from index.info import INFO_FILE as INDEX_INFO
from pipelines.search.sources import EmbeddingSource
from seqae.errors import SeqaeError

logger = logging.getLogger(__name__)

METHODS = ("pca", "tsne", "umap")
MIN_POINTS = {"pca": 2, "tsne": 5, "umap": 5}
MAX_CLASSES = 60  # distinct colours (tab20 + tab20b + tab20c); the rarer classes share "other"
OTHER = "other"


@dataclass(frozen=True)
class MapPoints:
    """Sampled rows of a directory: their ids, unit vectors and metadata, in id order."""

    source: Path
    total: int  # rows in the directory
    ids: np.ndarray  # (n,) int64 row ids
    vectors: np.ndarray  # (n, d) float32 unit rows
    metadata: list[dict[str, Any]]
    columns: list[str]


@dataclass(frozen=True)
class Classes:
    """A categorical colour per point: ``names[codes[i]]`` is point i's class."""

    column: str
    names: list[str]  # most frequent first; OTHER last when the rarer classes were merged
    codes: np.ndarray  # (n,) int
    merged: int = 0  # classes folded into OTHER


def sample_rows(total: int, sample: int, seed: int = 0) -> np.ndarray:
    """Sorted ids of ``sample`` rows of ``total`` drawn without replacement (0: all rows)."""
    if sample <= 0 or sample >= total:
        return np.arange(total, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(total, size=sample, replace=False)).astype(np.int64)


def is_index_dir(path: Path) -> bool:
    return (Path(path) / INDEX_INFO).is_file()


def load_points(source: Path, sample: int = 0, seed: int = 0) -> MapPoints:
    """Vectors and metadata of an embedding directory or an index directory."""
    source = Path(source)
    if is_index_dir(source):
        index = open_index_dir(source)
        ids = sample_rows(len(index), sample, seed)
        vectors = index_vectors(index.index, ids, source)
        metadata, columns = index.metadata, index.metadata.column_names
        total = len(index)
    else:
        embeddings = EmbeddingSource.open(source)
        ids = sample_rows(embeddings.count, sample, seed)
        vectors = _shard_rows(embeddings, ids)
        metadata = embeddings.metadata()
        columns, total = metadata.column_names, embeddings.count
    rows = metadata.take(ids).to_pylist()
    return MapPoints(source, total, ids, normalize(vectors), rows, list(columns))


def _shard_rows(embeddings: EmbeddingSource, ids: np.ndarray) -> np.ndarray:
    """The rows ``ids`` (sorted) of the directory's shards, read shard by shard."""
    parts, first = [], 0
    for vectors in embeddings.vectors():  # (rows, dim) per shard
        last = first + len(vectors)
        wanted = ids[(ids >= first) & (ids < last)] - first
        parts.append(np.asarray(vectors[wanted], dtype=np.float32))
        first = last
    return np.concatenate(parts)


def index_vectors(index: Any, ids: np.ndarray, where: Path) -> np.ndarray:
    """The stored vectors of ``ids`` (approximate for compressed indexes such as PQ)."""
    import faiss

    try:
        return index.reconstruct_batch(ids)  # (n, d)
    except RuntimeError:
        pass
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is None:
        raise SeqaeError(f"{where}: the index cannot give back its vectors for a map")
    ivf.make_direct_map()  # reconstructing by id needs the id -> list map
    try:
        return index.reconstruct_batch(ids)
    except RuntimeError as error:
        raise SeqaeError(f"{where}: cannot read vectors back from the index ({error})") from None
    finally:
        ivf.make_direct_map(False)


def check_method(method: str) -> None:
    if method not in METHODS:
        raise SeqaeError(f"--method must be one of {', '.join(METHODS)}, not {method!r}")


def check_points(points: MapPoints, method: str) -> None:
    """Refuse an unknown method, or too few points for it, in one line."""
    check_method(method)
    if len(points.ids) < MIN_POINTS[method]:
        raise SeqaeError(
            f"{points.source}: {len(points.ids)} segments; a {method} map needs at least "
            f"{MIN_POINTS[method]}"
        )


def project(vectors: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """(n, d) unit vectors -> (n, 2) float32 map coordinates."""
    if method == "pca":
        return fit_plane(vectors, seed).transform(vectors)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, (len(vectors) - 1) / 3))
        tsne = TSNE(2, perplexity=perplexity, init="pca", random_state=seed, n_jobs=-1)
        return tsne.fit_transform(vectors).astype(np.float32)
    if method == "umap":
        import warnings

        with warnings.catch_warnings():  # numba's and umap's notes on parallelism and seeds
            warnings.simplefilter("ignore")
            import umap

            # a seed makes the map reproducible; umap-learn runs a seeded map on one core
            reducer = umap.UMAP(n_neighbors=min(15, len(vectors) - 1), random_state=seed, n_jobs=1)
            return reducer.fit_transform(vectors).astype(np.float32)
    check_method(method)
    raise AssertionError(method)


class PlaneProjection:
    """The first two principal axes of a set of vectors; places new vectors on the same map."""

    def __init__(self, mean: np.ndarray, axes: np.ndarray) -> None:
        self.mean = mean  # (d,)
        self.axes = axes  # (2, d)

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        """(n, d) -> (n, 2) float32."""
        return ((np.asarray(vectors, dtype=np.float32) - self.mean) @ self.axes.T).astype(
            np.float32
        )


def fit_plane(vectors: np.ndarray, seed: int = 0) -> PlaneProjection:
    """Fit a 2-D PCA (scikit-learn's) to unit vectors."""
    from sklearn.decomposition import PCA

    vectors = np.asarray(vectors, dtype=np.float32)
    components = min(2, *vectors.shape)
    pca = PCA(components, random_state=seed).fit(vectors)
    axes = np.zeros((2, vectors.shape[1]), dtype=np.float32)
    axes[:components] = pca.components_
    return PlaneProjection(pca.mean_.astype(np.float32), axes)


def class_value(row: dict[str, Any], column: str) -> str:
    """A point's class: the column's value; for paths, the file name."""
    value = row.get(column)
    if value is None or value == "":
        return "(none)"
    return Path(str(value)).name if column == "path" else str(value)


def classes(points: MapPoints, column: str, limit: int = MAX_CLASSES) -> Classes:
    """Colour classes from a metadata column; beyond ``limit`` the rarest share one class."""
    if column not in points.columns:
        raise SeqaeError(
            f"{points.source}: no {column!r} column in the metadata "
            f"(columns: {', '.join(c for c in points.columns if c != 'row')})"
        )
    values = [class_value(row, column) for row in points.metadata]
    counts = Counter(values)
    ranked = sorted(counts, key=lambda name: (-counts[name], name))
    merged = 0
    if len(ranked) > limit:
        merged = len(ranked) - (limit - 1)
        ranked = ranked[: limit - 1] + [OTHER]
    code_of = {name: code for code, name in enumerate(ranked)}
    fallback = code_of.get(OTHER, 0)
    codes = np.array([code_of.get(value, fallback) for value in values], dtype=np.int64)
    return Classes(column, ranked, codes, merged)
