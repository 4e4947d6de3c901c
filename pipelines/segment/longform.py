"""One long recording -> a stream of (start, end, samples) segments, block by block.

Segments are cut by a voice-activity detector (``vad``) or as dense windows (``windows``); only
a few seconds of audio are held at any time, whatever the file's length.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.io.stream import BLOCK_SECONDS, Block, stream_audio
from pipelines.segment.vad import VAD_METHODS, RegionRules, SpeechRegions, make_detector
from pipelines.segment.windows import DURATIONS, HOP
from seqae.errors import SeqaeError

SEGMENT_MODES = ("vad", "windows")


@dataclass(frozen=True)
class SegmentSettings:
    """How a long recording is cut into segments."""

    mode: str = "vad"  # vad | windows
    vad: str = "webrtc"  # webrtc | silero | energy
    rules: RegionRules = field(default_factory=RegionRules)
    durations: tuple[float, ...] = DURATIONS  # windows: lengths in seconds
    hop: float = HOP  # windows: seconds between starts
    block_seconds: float = BLOCK_SECONDS

    def __post_init__(self) -> None:
        if self.mode not in SEGMENT_MODES:
            raise SeqaeError(f"segment mode must be 'vad' or 'windows', not {self.mode!r}")
        if self.vad not in VAD_METHODS:
            raise SeqaeError(f"--vad must be one of {', '.join(VAD_METHODS)}, not {self.vad!r}")
        if not self.durations or not all(math.isfinite(d) and d > 0 for d in self.durations):
            lengths = ",".join(f"{d:g}" for d in self.durations) or "nothing"
            raise SeqaeError(f"--windows must be positive lengths in seconds, not {lengths}")
        if not (math.isfinite(self.hop) and self.hop > 0):
            raise SeqaeError(f"--hop must be a positive number of seconds, not {self.hop:g}")

    def to_dict(self) -> dict:
        return {
            "mode": self.mode,
            "vad": self.vad,
            "rules": vars(self.rules),
            "durations": list(self.durations),
            "hop": self.hop,
        }

    @classmethod
    def from_dict(cls, data: dict) -> SegmentSettings:
        """The settings ``to_dict`` wrote."""
        return cls(
            mode=data["mode"],
            vad=data["vad"],
            rules=RegionRules(**data["rules"]),
            durations=tuple(data["durations"]),
            hop=data["hop"],
        )


class _Buffer:
    """The most recent samples of the stream, addressed by absolute sample number."""

    def __init__(self, keep: int) -> None:
        self.keep, self.start = keep, 0
        self.data = np.zeros(0, dtype=np.float32)

    def append(self, samples: np.ndarray) -> None:
        self.data = np.concatenate([self.data, samples])

    @property
    def end(self) -> int:
        return self.start + len(self.data)

    def cut(self, first: int, last: int) -> np.ndarray:
        return self.data[max(0, first - self.start) : max(0, min(last, self.end) - self.start)]

    def trim(self) -> None:
        drop = max(0, len(self.data) - self.keep)
        self.data, self.start = self.data[drop:], self.start + drop


def long_segments(
    path: Path, settings: SegmentSettings, sample_rate: int = 16000
) -> Iterator[tuple[float, float, np.ndarray]]:
    """(start s, end s, samples) of each segment of ``path``, in time order."""
    blocks = stream_audio(path, sample_rate, settings.block_seconds)
    if settings.mode == "windows":
        yield from _windows(blocks, settings, sample_rate)
    else:
        yield from vad_segments(blocks, settings, sample_rate)


def vad_segments(
    blocks: Iterable[Block], settings: SegmentSettings, sample_rate: int = 16000
) -> Iterator[tuple[float, float, np.ndarray]]:
    """Speech regions of a stream of blocks, each as soon as the pause after it is heard."""
    detector = make_detector(settings.vad, sample_rate)
    regions = SpeechRegions(detector.frame_seconds, settings.rules)
    held = settings.rules.max_speech + settings.rules.min_silence + settings.rules.pad + 1.0
    buffer = _Buffer(int(held * sample_rate))
    for block in blocks:
        buffer.append(block.samples)
        for start, end in regions.push(detector.decide(block.samples)):
            yield _trimmed(
                _cut(buffer, start, end, sample_rate), settings.rules.trim_db, sample_rate
            )
        buffer.trim()
    for start, end in regions.finish():
        yield _trimmed(_cut(buffer, start, end, sample_rate), settings.rules.trim_db, sample_rate)


def _cut(buffer: _Buffer, start: float, end: float, rate: int) -> tuple[float, float, np.ndarray]:
    samples = buffer.cut(int(round(start * rate)), int(round(end * rate)))
    end = min(end, buffer.end / rate)  # the padding may reach past the end of the file
    return start, end, samples


def _trimmed(
    segment: tuple[float, float, np.ndarray], top_db: float, rate: int
) -> tuple[float, float, np.ndarray]:
    """The segment without its edges quieter than ``top_db`` below its peak."""
    start, end, samples = segment
    if top_db <= 0 or not np.any(samples):
        return segment
    import librosa

    kept, (first, last) = librosa.effects.trim(samples, top_db=top_db)
    return start + float(first) / rate, start + float(last) / rate, kept


def _windows(
    blocks: Iterable[Block], settings: SegmentSettings, rate: int
) -> Iterator[tuple[float, float, np.ndarray]]:
    """Every window of every duration, ordered by start then length (as window_spans)."""
    lengths = sorted(settings.durations)
    buffer = _Buffer(int((lengths[-1] + settings.block_seconds + 1.0) * rate))
    step = 0

    def ready(available: int, final: bool) -> Iterator[tuple[float, float, np.ndarray]]:
        nonlocal step
        while True:
            start = round(step * settings.hop, 6)
            if not final and int(round((start + lengths[-1]) * rate)) > available:
                return
            fitting = [n for n in lengths if int(round((start + n) * rate)) <= available]
            if not fitting:
                return
            for length in fitting:
                first, last = int(round(start * rate)), int(round((start + length) * rate))
                yield start, round(start + length, 6), buffer.cut(first, last)
            step += 1

    for block in blocks:
        buffer.append(block.samples)
        yield from ready(buffer.end, final=False)
        buffer.trim()
    yield from ready(buffer.end, final=True)
