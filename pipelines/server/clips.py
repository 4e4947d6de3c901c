"""The audio of one indexed segment, cut from its source file and sent as a 16-bit WAV.

Only the segment's own metadata row (path, start, end) names the file: nothing the client
sends reaches the file system but the row number.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.server.uploads import RequestError

FALLBACK_RATE = 16000  # files soundfile cannot read are decoded by librosa at this rate


def segment_wav(row: dict[str, Any], segment_id: int, max_seconds: float) -> bytes:
    """WAV bytes of the segment (at most ``max_seconds`` of it)."""
    path = row.get("path")
    if not path:
        raise RequestError(
            404, f"segment {segment_id} has no audio (this index holds sentences, not speech)"
        )
    path = Path(str(path))
    if not path.is_file():
        raise RequestError(404, f"segment {segment_id}: its source audio is not on the server")
    start = float(row.get("start") or 0.0)
    end = row.get("end")
    end = None if end is None else float(end)
    if end is not None and end <= start:
        raise RequestError(404, f"segment {segment_id}: empty span {start:.3f}-{end:.3f} s")
    stop = start + max_seconds if end is None else min(end, start + max_seconds)
    try:
        samples, rate = _read_span(path, start, stop)
    except RequestError:
        raise
    except Exception:
        samples, rate = _decode_span(path, start, stop, segment_id)
    return _wav_bytes(samples, rate)


def _read_span(path: Path, start: float, stop: float) -> tuple[np.ndarray, int]:
    """Only the frames of the span, read with soundfile."""
    import soundfile as sf

    with sf.SoundFile(str(path)) as handle:
        rate = handle.samplerate
        first = min(handle.frames, int(round(start * rate)))
        last = min(handle.frames, int(round(stop * rate)))
        handle.seek(first)
        samples = handle.read(max(0, last - first), dtype="float32", always_2d=True)
    if not len(samples):
        raise RequestError(404, f"{path.name}: no audio in {start:.2f}-{stop:.2f} s")
    return samples, rate


def _decode_span(path: Path, start: float, stop: float, segment_id: int):
    from seqae.audio import load_audio
    from seqae.errors import InputError

    try:
        samples = load_audio(path, FALLBACK_RATE, start, stop)
    except InputError:
        raise RequestError(
            422, f"segment {segment_id}: its source audio cannot be decoded on the server"
        ) from None
    return samples[:, None], FALLBACK_RATE


def _wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
