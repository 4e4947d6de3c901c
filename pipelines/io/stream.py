"""Long recordings read block by block: memory stays the size of one block, not of the file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqae.audio import missing_reason
from seqae.errors import InputError

BLOCK_SECONDS = 30.0


@dataclass(frozen=True)
class Block:
    """``samples`` (mono float32 at the target rate) starting ``start`` seconds into the file."""

    start: float
    samples: np.ndarray


def audio_duration(path: Path) -> float:
    """Length of ``path`` in seconds, from its header; a one-line error if unreadable."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(f"{path}: cannot decode audio ({reason})") from None
    return info.frames / info.samplerate


def stream_audio(
    path: str | Path, sample_rate: int = 16000, block_seconds: float = BLOCK_SECONDS
) -> Iterator[Block]:
    """Yield consecutive mono blocks of ``path`` resampled to ``sample_rate``.

    Resampling runs as one stream across blocks (soxr keeps its filter state), so the joined
    blocks equal a resampling of the whole file, without seams at block edges.
    """
    import soundfile as sf
    import soxr

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {missing_reason(path)}")
    try:
        handle = sf.SoundFile(str(path))
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(f"{path}: cannot decode audio ({reason})") from None
    with handle:
        rate = handle.samplerate
        resampler = soxr.ResampleStream(rate, sample_rate, 1, dtype="float32", quality="HQ")
        produced = 0
        frames = max(1, int(block_seconds * rate))
        while True:
            data = handle.read(frames, dtype="float32", always_2d=True)
            last = len(data) < frames
            mono = np.ascontiguousarray(data.mean(axis=1), dtype=np.float32)
            if not np.all(np.isfinite(mono)):
                raise InputError(f"{path}: audio holds NaN or infinite samples")
            out = mono if rate == sample_rate else resampler.resample_chunk(mono, last=last)
            if len(out):
                yield Block(produced / sample_rate, out)
                produced += len(out)
            if last:
                return
