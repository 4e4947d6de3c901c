"""Read audio as mono float32 at a target sample rate, with clear errors for bad files."""

from __future__ import annotations

import logging
import math
import os
import warnings
from pathlib import Path

import numpy as np

from seqae.errors import InputError

logger = logging.getLogger(__name__)

SILENCE_PEAK = 1e-4  # about -80 dBFS: nothing audible to encode


def _read(path: Path, start: float | None, end: float | None) -> tuple[np.ndarray, int]:
    """Decode part of a file with soundfile, falling back to librosa for other formats."""
    import soundfile as sf

    try:
        with sf.SoundFile(str(path)) as f:
            rate = f.samplerate
            first = int(round((start or 0.0) * rate))
            last = f.frames if end is None else min(f.frames, int(round(end * rate)))
            if first > f.frames:
                raise InputError(f"{path}: start {start:.3f}s is past the end of the file")
            f.seek(first)
            data = f.read(max(0, last - first), dtype="float32", always_2d=True)
            return data.mean(axis=1), rate
    except InputError:
        raise
    except Exception as error:  # libsndfile cannot decode it: try librosa's audioread fallback
        soundfile_error = error
    import librosa

    try:
        duration = None if end is None else max(0.0, end - (start or 0.0))
        with warnings.catch_warnings():  # librosa warns that audioread is its last resort
            warnings.simplefilter("ignore")
            data, rate = librosa.load(
                str(path), sr=None, mono=True, offset=start or 0.0, duration=duration
            )
        return data.astype(np.float32), int(rate)
    except Exception as error:
        reason = str(soundfile_error).splitlines()[0] if str(soundfile_error) else str(error)
        raise InputError(f"{path}: cannot decode audio ({reason})") from None


def missing_reason(path: Path) -> str:
    """Why ``path`` is not a file one can read: a folder, a dangling link, or nothing."""
    if path.is_dir():
        return "is a folder, not an audio file"
    if path.is_symlink():
        return f"dangling symbolic link (its target {os.readlink(path)} does not exist)"
    return "no such file"


def load_audio(
    path: str | Path,
    sample_rate: int = 16000,
    start: float | None = None,
    end: float | None = None,
) -> np.ndarray:
    """Samples of ``path`` (optionally ``start``..``end`` s), mono, at ``sample_rate``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {missing_reason(path)}")
    for name, value in (("start", start), ("end", end)):
        if value is not None and not math.isfinite(value):
            raise InputError(f"{path}: {name} is {value}, not a time in seconds")
    if start is not None and end is not None and end <= start:
        raise InputError(f"{path}: end {end:.3f}s is not after start {start:.3f}s")
    if start is not None and start < 0:
        raise InputError(f"{path}: negative start {start:.3f}s")
    data, rate = _read(path, start, end)
    if data.size == 0:
        raise InputError(f"{path}: empty (no audio samples in the requested span)")
    if not np.all(np.isfinite(data)):
        raise InputError(f"{path}: audio holds NaN or infinite samples")
    if float(np.max(np.abs(data))) < SILENCE_PEAK:
        raise InputError(f"{path}: silent (peak below -80 dBFS)")
    if rate != sample_rate:
        import librosa

        data = librosa.resample(data, orig_sr=rate, target_sr=sample_rate, res_type="soxr_hq")
    return np.ascontiguousarray(data, dtype=np.float32)
