"""index.json: what made an index's vectors, how the index is built and how to search it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from seqae.errors import SeqaeError
from seqae.runs import INDEX_INFO_FILE

FORMAT_VERSION = 2  # 2 added the factory's search defaults; version 1 (Flat only) still reads
READABLE_VERSIONS = (1, 2)
KIND = "seqae-index"
INFO_FILE = INDEX_INFO_FILE
_REQUIRED = ("model_id", "model_path", "dim", "feature_config", "sources", "count", "created")
_OPTIONAL = ("metric", "factory", "nprobe", "ef_search", "recall", "memory_budget")


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
    """IndexInfo as read back from index.json, with the vector count and creation time.

    ``factory`` is the FAISS factory string; ``nprobe`` (IVF) and ``ef_search`` (HNSW) are the
    default search parameters, tuned when the index was built or last added to, and ``recall``
    the leave-one-out recall@10 they gave then (see index.recall). ``memory_budget`` is the
    budget in bytes that chose the factory, if one did.
    """

    count: int
    created: str
    metric: str = "cosine"
    factory: str = "Flat"
    nprobe: int | None = None
    ef_search: int | None = None
    recall: float | None = None
    memory_budget: int | None = None


def info_to_json(info: StoredIndexInfo) -> str:
    values = asdict(info)
    values["sources"] = list(info.sources)
    return json.dumps({"format_version": FORMAT_VERSION, "kind": KIND, **values}, indent=2) + "\n"


def read_info(path: Path) -> StoredIndexInfo:
    """Read and check ``path/index.json``; every problem is one line naming the file."""
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
    if raw.get("format_version") not in READABLE_VERSIONS:
        raise SeqaeError(
            f"{info_path}: format version {raw.get('format_version')!r} is not supported "
            f"(this seqae reads versions {', '.join(map(str, READABLE_VERSIONS))})"
        )
    if missing := sorted(set(_REQUIRED) - raw.keys()):
        raise SeqaeError(f"{info_path}: missing fields {', '.join(missing)}")
    if raw.get("metric", "cosine") != "cosine":
        raise SeqaeError(f"{info_path}: metric {raw['metric']!r} is not supported")
    names = [*_REQUIRED, *(name for name in _OPTIONAL if name in raw)]
    return StoredIndexInfo(**{name: raw[name] for name in names})
