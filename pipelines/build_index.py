"""Embedding directory -> index directory, with a copy of the model that made the vectors."""

from __future__ import annotations

import shutil
from pathlib import Path

from index import IndexInfo, create_index_dir, open_index_dir
from index.frames import save_frames
from pipelines.shards import read_embeddings
from seqae.bundle import BUNDLE_NAME, ModelBundle, load_bundle
from seqae.errors import SeqaeError

FRAMES_NAME = "frames"


def build_index_dir(embeddings: Path, out: Path, overwrite: bool = False) -> int:
    """Build an exact cosine index over every vector in ``embeddings``; returns the count."""
    data = read_embeddings(embeddings)
    bundle = load_bundle(data.info["model_path"])
    if bundle.model_id != data.info["model_id"]:
        raise SeqaeError(
            f"{data.info['model_path']}: model changed since {embeddings} was made "
            f"(model {bundle.model_id}, embeddings {data.info['model_id']})"
        )
    info = IndexInfo(
        model_id=bundle.model_id,
        model_path=str(bundle.path),
        dim=data.vectors.shape[1],
        feature_config=data.info["feature_config"],
        sources=[str(embeddings.resolve())],
    )
    create_index_dir(out, data.vectors, data.metadata, info, overwrite=overwrite)
    if data.frames is not None:
        save_frames(out, FRAMES_NAME, *data.frames)  # for --rerank dtw
    shutil.copy2(bundle.path, out / BUNDLE_NAME)  # the index answers queries on its own
    return len(data.vectors)


def open_index_with_model(path: Path):
    """Open an index directory and the model that made its vectors (they must agree)."""
    index = open_index_dir(path)
    bundle: ModelBundle = load_bundle(path / BUNDLE_NAME)
    index.check_vectors(bundle.model_id)
    return index, bundle
