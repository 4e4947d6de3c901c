"""Frame sequences stored beside vectors, for re-ranking candidates with DTW.

A set of variable-length (T_i, D) sequences is two arrays: every frame in float16 (half the
bytes; DTW on cosine frame costs does not notice the rounding) and the row offsets::

    NAME.npy            float16 (sum T_i, D)
    NAME-offsets.npy    int64 (N + 1,): sequence i is frames[offsets[i]:offsets[i + 1]]

Reading memory-maps the frames, so an index of any size opens at once.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def frames_path(directory: Path, name: str) -> Path:
    return directory / f"{name}.npy"


def offsets_path(directory: Path, name: str) -> Path:
    return directory / f"{name}-offsets.npy"


def save_array_atomic(path: Path, array: np.ndarray) -> None:
    """np.save through a temporary file and a rename, so readers never see half an array."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        np.save(handle, array)
    os.replace(tmp, path)


def pack_frames(sequences: list[np.ndarray], dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(N,) list of (T_i, dim) arrays -> (frames float16 (sum T_i, dim), offsets (N + 1,))."""
    for i, sequence in enumerate(sequences):
        if sequence.ndim != 2 or sequence.shape[1] != dim:
            raise ValueError(f"sequence {i} has shape {sequence.shape}, expected (T, {dim})")
    offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in sequences])
    if not sequences:
        return np.zeros((0, dim), dtype=np.float16), offsets
    return np.concatenate(sequences).astype(np.float16), offsets


def save_frames(directory: Path, name: str, frames: np.ndarray, offsets: np.ndarray) -> None:
    """Write packed frames (offsets last: their presence marks the pair complete)."""
    if len(offsets) == 0 or offsets[-1] != len(frames):
        raise ValueError(
            f"{name}: offsets end at {offsets[-1:]} but there are {len(frames)} frames"
        )
    save_array_atomic(frames_path(directory, name), np.ascontiguousarray(frames, dtype=np.float16))
    save_array_atomic(offsets_path(directory, name), np.asarray(offsets, dtype=np.int64))


def has_frames(directory: Path, name: str) -> bool:
    return frames_path(directory, name).is_file() and offsets_path(directory, name).is_file()


class FrameStore:
    """Read-only, memory-mapped access to stored sequences by row number."""

    def __init__(self, directory: Path, name: str) -> None:
        self.frames = np.load(frames_path(directory, name), mmap_mode="r")
        self.offsets = np.load(offsets_path(directory, name))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, row: int) -> np.ndarray:
        """Sequence ``row`` as float32 (T, D)."""
        if not 0 <= row < len(self):
            raise IndexError(f"row {row} out of range for {len(self)} stored sequences")
        return np.asarray(self.frames[self.offsets[row] : self.offsets[row + 1]], dtype=np.float32)

    def packed(self) -> tuple[np.ndarray, np.ndarray]:
        """All frames and offsets, for copying the store elsewhere."""
        return np.asarray(self.frames), self.offsets
