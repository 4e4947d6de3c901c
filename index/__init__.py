"""FAISS index plus metadata: build, add, save/load and search embedding vectors."""

from __future__ import annotations

from index.factory import AUTO, DEFAULT_MEMORY, choose_factory, parse_memory
from index.info import FORMAT_VERSION, IndexInfo, StoredIndexInfo
from index.params import search_parameters
from index.store import (
    Addition,
    Hit,
    SearchIndex,
    add_to_index_dir,
    append_to_index_dir,
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
    "AUTO",
    "DEFAULT_MEMORY",
    "FORMAT_VERSION",
    "Addition",
    "Hit",
    "IndexInfo",
    "SearchIndex",
    "StoredIndexInfo",
    "add_to_index_dir",
    "add_vectors",
    "append_to_index_dir",
    "build_flat_index",
    "choose_factory",
    "create_index_dir",
    "load_index",
    "normalize",
    "open_index_dir",
    "parse_memory",
    "save_index",
    "search_index",
    "search_parameters",
]
