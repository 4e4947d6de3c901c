"""The audio of one indexed segment, cut from its source file and sent as a 16-bit WAV,
optionally with some seconds of the recording around it.

Only the segment's own metadata row (path, start, end) names the file: nothing the client
sends reaches the file system but the row number.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.server.uploads import RequestError

FALLBACK_RATE = 16000  # files soundfile cannot read are decoded by librosa at this rate


@dataclass(frozen=True)
class ServedClip:
    """WAV bytes of a segment with its context, and where the segment lies in them."""

    data: bytes
    clip_start: float  # where the clip begins in the recording, seconds
    clip_end: float
    hit_start: float  # where the segment begins in the clip, seconds
    hit_end: float

    def headers(self) -> dict[str, str]:
        """The clip's place in the recording and the segment's place in the clip."""
        return {
            "X-Clip-Start": f"{self.clip_start:.3f}",
            "X-Clip-End": f"{self.clip_end:.3f}",
            "X-Hit-Start": f"{self.hit_start:.3f}",
            "X-Hit-End": f"{self.hit_end:.3f}",
        }


def segment_clip(
    row: dict[str, Any], segment_id: int, max_seconds: float, context: float = 0.0
) -> ServedClip:
    """The segment (at most ``max_seconds`` of it) with up to ``context`` seconds of its
    recording on each side, cut at the recording's start and end."""
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
        samples, rate, first = _read_span(path, max(0.0, start - context), stop + context)
    except RequestError:
        raise
    except Exception:
        samples, rate, first = _decode_span(path, start, stop, context, segment_id)
    clip_start = first / rate
    clip_end = clip_start + len(samples) / rate
    return ServedClip(
        _wav_bytes(samples, rate),
        clip_start,
        clip_end,
        max(0.0, start - clip_start),
        min(stop, clip_end) - clip_start,
    )


def _read_span(path: Path, start: float, stop: float) -> tuple[np.ndarray, int, int]:
    """Only the frames of the span, read with soundfile; with the first frame's number."""
    import soundfile as sf

    with sf.SoundFile(str(path)) as handle:
        rate = handle.samplerate
        first = min(handle.frames, int(round(start * rate)))
        last = min(handle.frames, int(round(stop * rate)))
        handle.seek(first)
        samples = handle.read(max(0, last - first), dtype="float32", always_2d=True)
    if not len(samples):
        raise RequestError(404, f"{path.name}: no audio in {start:.2f}-{stop:.2f} s")
    return samples, rate, first


def _decode_span(path: Path, start: float, stop: float, context: float, segment_id: int):
    from seqae.audio import load_audio
    from seqae.errors import InputError

    begin = max(0.0, start - context)
    try:
        samples = load_audio(path, FALLBACK_RATE, begin, stop + context)
    except InputError:
        raise RequestError(
            422, f"segment {segment_id}: its source audio cannot be decoded on the server"
        ) from None
    return samples[:, None], FALLBACK_RATE, int(round(begin * FALLBACK_RATE))


def _wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
