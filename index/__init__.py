"""FAISS index plus metadata: build, add, save/load and search embedding vectors."""

from __future__ import annotations

from index.store import (
    FORMAT_VERSION,
    Hit,
    IndexInfo,
    SearchIndex,
    StoredIndexInfo,
    add_to_index_dir,
    create_index_dir,
    open_index_dir,
)
from index.vectors import (
    add_vectors,
    build_flat_index,
    load_index,
    normalize,
    save_index,
    search_index,
)

__all__ = [
    "FORMAT_VERSION",
    "Hit",
    "IndexInfo",
    "SearchIndex",
    "StoredIndexInfo",
    "add_to_index_dir",
    "add_vectors",
    "build_flat_index",
    "create_index_dir",
    "load_index",
    "normalize",
    "open_index_dir",
    "save_index",
    "search_index",
]
