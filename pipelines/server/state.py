"""What the server keeps open: the index, its model, and a 2-D map of the indexed vectors.

Searches go through the same functions as ``seqae search`` (pipelines.search.speech for clips, the
index's own search for sentences), with the index and model opened once at start-up.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from index import Hit, SearchIndex, normalize
from index.frames import FrameStore, has_frames
from pipelines.search import DEFAULT_FUSION
from pipelines.search.build import FRAMES_NAME, open_index_with_model
from pipelines.server.uploads import Clip, RequestError, ServerLimits
from pipelines.viz.maps import PlaneProjection, class_value, fit_plane, index_vectors, sample_rows
from seqae.errors import SeqaeError

logger = logging.getLogger(__name__)

LABEL_COLUMNS = ("label", "speaker", "text", "path")


@dataclass(frozen=True)
class PlaneMap:
    """A sample of the indexed vectors on the plane of their first two principal axes."""

    ids: np.ndarray  # (n,)
    coords: np.ndarray  # (n, 2)
    column: str  # metadata column the points are labelled by
    labels: list[str]
    projection: PlaneProjection


@dataclass
class SearchResult:
    hits: list[Hit]
    query_vector: np.ndarray  # (d,)
    seconds: float


def _frames_readable(index_dir: Path) -> bool:
    """True if the index stores frames that open cleanly; damaged ones are reported once
    and re-ranking is turned off, rather than failing every request that asks for it."""
    if not has_frames(index_dir, FRAMES_NAME):
        return False
    try:
        FrameStore(index_dir, FRAMES_NAME)
    except SeqaeError as error:
        logger.warning("re-ranking is off: %s", error)
        return False
    return True


class ServerState:
    """An index directory opened for searching, shared by every request."""

    def __init__(self, index_dir: Path, limits: ServerLimits, map_points: int, seed: int) -> None:
        self.index_dir = Path(index_dir)
        self.limits = limits
        self.index: SearchIndex
        self.index, self.bundle = open_index_with_model(self.index_dir)
        self.modality = self.bundle.modality
        self.can_rerank = self.modality == "audio" and _frames_readable(self.index_dir)
        self.lock = threading.Lock()  # one search at a time: the model runs on every core
        self.map = build_map(self.index, map_points, seed) if map_points > 0 else None
        self.root = archive_root(self.index)
        self._durations: dict[str, float] = {}  # recording -> seconds, read once each

    def warm_up(self) -> float:
        """One search of each kind the server answers, so that the first user's request does
        not pay for loading the feature code and the model's first run; its seconds."""
        started = time.perf_counter()
        if self.modality == "text":
            self.search_text("warm up", 1)
        else:
            rate = self.bundle.features.sample_rate
            t = np.arange(int(0.5 * rate)) / rate
            wave = 0.3 * np.sin(2 * np.pi * 220 * t) * np.hanning(len(t))  # a half-second tone
            buffer = io.BytesIO()
            sf.write(buffer, wave.astype(np.float32), rate, format="WAV")
            clip = Clip("warm-up.wav", buffer.getvalue(), ".wav", 0.5, rate)
            self.search_clips([clip], 1, 2 if self.can_rerank else 0)
        return time.perf_counter() - started

    def info(self) -> dict[str, Any]:
        return {
            "index": str(self.index_dir),
            "modality": self.modality,
            "vectors": len(self.index),
            "model_id": self.index.info.model_id,
            "factory": self.index.info.factory,
            "rerank": self.can_rerank,
            "map": self.map is not None,
            "limits": self.limits.to_dict(),
        }

    def search_clips(
        self, clips: list[Clip], k: int, rerank_k: int, fusion: str = DEFAULT_FUSION
    ) -> SearchResult:
        """Embed uploaded clips of one term with the index's model and search with them as
        one query (their examples fused as ``fusion`` says), as ``seqae search``."""
        from pipelines.search.speech import fuse_vectors, search_features

        if self.modality != "audio":
            raise RequestError(400, "this index holds sentences: send text, not audio")
        started = time.perf_counter()
        features = [self._clip_features(clip) for clip in clips]
        rows = list(range(len(clips)))
        with self.lock:
            vectors = self.bundle.embed(features)
            hits = search_features(
                self.index, features, vectors, k, rerank_k, groups=[rows], fusion=fusion
            )[0]
        query = fuse_vectors(vectors, [rows])[0]  # the examples' centre, for the map
        return SearchResult(hits, query, time.perf_counter() - started)

    def _clip_features(self, clip: Clip) -> np.ndarray:
        from pipelines.io.extract import segment_features
        from pipelines.io.manifest import Segment
        from seqae.errors import InputError

        with tempfile.TemporaryDirectory(prefix="seqae-query-") as folder:
            path = Path(folder) / f"query{clip.suffix}"
            path.write_bytes(clip.data)
            try:
                return segment_features(Segment(path), self.bundle.features)[0]
            except InputError as error:
                reason = str(error).replace(str(path), clip.name)
                raise RequestError(400, reason) from None

    def duration(self, path: str) -> float | None:
        """Seconds of an indexed recording, read from its header once (None: unreadable)."""
        from pipelines.io.stream import audio_duration

        if path not in self._durations:
            try:
                self._durations[path] = audio_duration(Path(path))
            except SeqaeError:
                return None  # gone or damaged: asked again next time
        return self._durations[path]

    def rows(self, ids: list[int]) -> list[dict[str, Any]]:
        """The metadata rows of segment ids (404 for an id not in the index)."""
        for segment_id in ids:
            if not 0 <= segment_id < len(self.index):
                raise RequestError(404, f"no segment {segment_id} in this index")
        return self.index.metadata.take(np.asarray(ids, dtype=np.int64)).to_pylist()

    def shown_path(self, path: str) -> str:
        """A recording's path as clients see it: relative to the archive's root folder."""
        return _shown_path(path, self.root)

    def search_text(self, text: str, k: int) -> SearchResult:
        """Embed a sentence with the index's model and search the index."""
        if self.modality != "text":
            raise RequestError(400, "this index holds speech: upload an audio clip, not text")
        if not text.strip():
            raise RequestError(400, "an empty query sentence; give some words to look for")
        if len(text) > self.limits.max_text_chars:
            raise RequestError(
                413, f"query sentence of {len(text)} characters; the limit is "
                f"{self.limits.max_text_chars}"
            )  # fmt: skip
        started = time.perf_counter()
        try:
            with self.lock:
                vectors = self.bundle.embed([text])
                hits = self.index.search(vectors, k)[0]
        except SeqaeError as error:
            raise RequestError(400, str(error)) from None
        return SearchResult(hits, vectors[0], time.perf_counter() - started)

    def place(self, vectors: np.ndarray) -> list[list[float]] | None:
        """Map coordinates of vectors (unit-normalised first, as the map's own)."""
        if self.map is None or not len(vectors):
            return None
        return self.map.projection.transform(normalize(vectors)).astype(float).round(5).tolist()

    def hit_positions(self, hits: list[Hit]) -> list[list[float]] | None:
        if self.map is None or not hits:
            return None
        ids = np.array([hit.id for hit in hits], dtype=np.int64)
        try:
            return self.place(index_vectors(self.index.index, ids, self.index_dir))
        except SeqaeError:
            return None


def label_column(columns: list[str]) -> str:
    return next((c for c in LABEL_COLUMNS if c in columns), columns[0])


def build_map(index: SearchIndex, points: int, seed: int) -> PlaneMap | None:
    """PCA of a seeded sample of the indexed vectors; None when they cannot be read back."""
    ids = sample_rows(len(index), points, seed)
    try:
        vectors = normalize(index_vectors(index.index, ids, index.path))  # (n, d)
    except SeqaeError as error:
        logger.warning("no embedding map: %s", error)
        return None
    projection = fit_plane(vectors, seed)
    rows = index.metadata.take(ids).to_pylist()
    column = label_column(index.metadata.column_names)
    labels = [class_value(row, column)[:60] for row in rows]
    return PlaneMap(ids, projection.transform(vectors), column, labels, projection)


def archive_root(index: SearchIndex) -> Path | None:
    """The deepest folder holding every indexed file (None for sentences): hits name their
    files relative to it, so that the server does not show its own folders to clients."""
    if "path" not in index.metadata.column_names or not len(index):
        return None
    import pyarrow.compute as pc

    folders = {str(Path(p).parent) for p in pc.unique(index.metadata.column("path")).to_pylist()}
    try:
        return Path(os.path.commonpath(sorted(folders)))
    except ValueError:  # relative and absolute paths mixed
        return None


def _shown_path(path: str, root: Path | None) -> str:
    if root is None:
        return Path(path).name
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return Path(path).name


def hit_rows(
    hits: list[Hit], positions: list[list[float]] | None, root: Path | None = None
) -> list[dict[str, Any]]:
    """Hits as JSON rows, like ``seqae search --json`` but with each file's path relative to
    the archive's root folder, with its audio URL and map position."""
    rows = []
    for number, hit in enumerate(hits):
        meta = {key: value for key, value in hit.metadata.items() if key != "row"}
        if meta.get("path"):
            meta["path"] = _shown_path(str(meta["path"]), root)
        row = {"rank": hit.rank, "score": round(hit.score, 4), "id": hit.id, **meta}
        if meta.get("path"):
            row["file"] = Path(str(meta["path"])).name
            row["audio"] = f"/segments/{hit.id}/audio"
        if positions is not None:
            row["x"], row["y"] = positions[number]
        rows.append(row)
    return rows


def recording_rows(hits: list[Hit], state: ServerState) -> list[dict[str, Any]]:
    """Each recording the hits are in, once, by its shown path, with its duration."""
    paths = {str(hit.metadata["path"]) for hit in hits if hit.metadata.get("path")}
    rows = []
    for path in paths:
        seconds = state.duration(path)
        rows.append({
            "path": state.shown_path(path),
            "file": Path(path).name,
            "duration": None if seconds is None else round(seconds, 3),
        })  # fmt: skip
    return sorted(rows, key=lambda row: row["path"])
