"""Frame sequences stored beside vectors, for re-ranking candidates with DTW.

A set of variable-length (T_i, D) sequences is two arrays: every frame in float16 (half the
bytes; DTW on cosine frame costs does not notice the rounding) and the row offsets::

    NAME.npy            float16 (sum T_i, D)
    NAME-offsets.npy    int64 (N + 1,): sequence i is frames[offsets[i]:offsets[i + 1]]

Reading memory-maps the frames, so an index of any size opens at once. A set can grow by
parts, ``NAME.00001.npy`` and ``NAME.00001-offsets.npy`` and so on, each holding the rows that
follow the previous part's; FrameStore reads the parts as one.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.files import read_array
from seqae.errors import SeqaeError
from seqae.runs import replaced_atomically, save_array_atomic

REMEDY = "re-run the command that wrote it (seqae embed, ingest or index build)"


def frames_path(directory: Path, name: str) -> Path:
    return directory / f"{name}.npy"


def offsets_path(directory: Path, name: str) -> Path:
    return directory / f"{name}-offsets.npy"


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


def part_name(name: str, part: int) -> str:
    """Name of part ``part`` (1, 2, ...) of the set ``name`` (part 0 is ``name`` itself)."""
    return f"{name}.{part:05d}" if part else name


def part_names(directory: Path, name: str) -> list[str]:
    """The set's parts that are complete, in order, stopping at the first missing one."""
    names = []
    while has_frames(directory, part_name(name, len(names))):
        names.append(part_name(name, len(names)))
    return names


def copy_frames(sources: Sequence[tuple[Path, str]], directory: Path, name: str) -> int:
    """Join stored sets into one new set ``name`` in ``directory``, a set at a time.

    The frames stream into a memory-mapped file, so sets larger than memory can be joined;
    returns the number of rows.
    """
    parts = [part for folder, source in sources for part in FrameStore(folder, source).parts()]
    total = sum(len(frames) for frames, _ in parts)
    dim = parts[0][0].shape[1] if parts else 0
    offsets, done = [np.zeros(1, dtype=np.int64)], 0
    with replaced_atomically(frames_path(directory, name)) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=(total, dim))
        for frames, part_offsets in parts:
            if frames.shape[1] != dim:
                raise ValueError(f"frames of dim {frames.shape[1]} and {dim} cannot be joined")
            for start in range(0, len(frames), 1 << 20):  # 1 Mi frames at a time
                chunk = frames[start : start + (1 << 20)]
                out[done + start : done + start + len(chunk)] = chunk
            offsets.append(part_offsets[1:] + done)
            done += len(frames)
        out.flush()
        del out
    joined = np.concatenate(offsets)
    save_array_atomic(offsets_path(directory, name), joined)
    return len(joined) - 1


class FrameStore:
    """Read-only, memory-mapped access to stored sequences by row number, over all parts."""

    def __init__(self, directory: Path, name: str) -> None:
        names = part_names(directory, name) or [name]  # a missing set fails to load here
        self._frames = [read_array(frames_path(directory, n), REMEDY, mmap=True) for n in names]
        self._offsets = [read_array(offsets_path(directory, n), REMEDY) for n in names]
        for n, frames, offsets in zip(names, self._frames, self._offsets, strict=True):
            if (
                frames.ndim != 2
                or offsets.ndim != 1
                or not len(offsets)
                or offsets[-1] != len(frames)
            ):
                raise SeqaeError(
                    f"{frames_path(directory, n)}: {len(frames)} frames, but its offsets "
                    f"({offsets_path(directory, n).name}) do not end there; {REMEDY}"
                )
        self._starts = np.cumsum([0] + [len(o) - 1 for o in self._offsets])  # (parts + 1,)

    @property
    def frames(self) -> np.ndarray:
        """The first part's frames (all of them when the set has one part)."""
        return self._frames[0]

    @property
    def offsets(self) -> np.ndarray:
        return self._offsets[0]

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, row: int) -> np.ndarray:
        """Sequence ``row`` as float32 (T, D)."""
        if not 0 <= row < len(self):
            raise IndexError(f"row {row} out of range for {len(self)} stored sequences")
        part = bisect_right(self._starts, row) - 1
        offsets, local = self._offsets[part], row - self._starts[part]
        frames = self._frames[part][offsets[local] : offsets[local + 1]]
        return np.asarray(frames, dtype=np.float32)

    def parts(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each part's (frames, offsets), offsets counted from the part's first frame."""
        return list(zip(self._frames, self._offsets, strict=True))

    def packed(self) -> tuple[np.ndarray, np.ndarray]:
        """All frames and offsets, for copying the store elsewhere."""
        if len(self._frames) == 1:
            return np.asarray(self._frames[0]), self._offsets[0]
        shifts = np.cumsum([0] + [len(f) for f in self._frames[:-1]])
        offsets = [self._offsets[0][:1]] + [
            o[1:] + shift for o, shift in zip(self._offsets, shifts, strict=True)
        ]
        return np.concatenate(self._frames), np.concatenate(offsets)
