"""Voice-activity detection over a stream of blocks: where in a long recording someone speaks.

A detector turns samples into one speech/non-speech decision per short frame (WebRTC's VAD,
Silero's neural VAD, or an energy threshold); ``SpeechRegions`` joins the decisions into
(start, end) regions across block boundaries, bridging short pauses and dropping blips.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from seqae.errors import SeqaeError

VAD_METHODS = ("webrtc", "silero", "energy")


class _Framer:
    """Cuts a stream of sample blocks into whole frames, carrying the remainder over."""

    def __init__(self, frame: int) -> None:
        self.frame = frame
        self.rest = np.zeros(0, dtype=np.float32)

    def frames(self, samples: np.ndarray) -> np.ndarray:
        """samples (S,) -> (F, frame) whole frames; the tail waits for the next block."""
        data = np.concatenate([self.rest, samples])
        count = len(data) // self.frame
        self.rest = data[count * self.frame :]
        return data[: count * self.frame].reshape(count, self.frame)


class WebrtcDetector:
    """Google's WebRTC VAD (a GMM on sub-band energies, in C): 30 ms frames, very fast."""

    frame_seconds = 0.03

    def __init__(self, sample_rate: int = 16000, aggressiveness: int = 2) -> None:
        import webrtcvad

        if sample_rate not in (8000, 16000, 32000, 48000):
            raise SeqaeError(f"webrtc VAD needs 8, 16, 32 or 48 kHz audio, not {sample_rate}")
        self.vad = webrtcvad.Vad(aggressiveness)
        self.rate = sample_rate
        self.framer = _Framer(int(sample_rate * self.frame_seconds))

    def decide(self, samples: np.ndarray) -> np.ndarray:
        frames = self.framer.frames(samples)
        pcm = (np.clip(frames, -1.0, 1.0) * 32767).astype("<i2")  # (F, frame) 16-bit
        return np.array([self.vad.is_speech(f.tobytes(), self.rate) for f in pcm], dtype=bool)


class SileroDetector:
    """Silero VAD (a small neural network shipped inside its package): 32 ms frames."""

    frame_seconds = 0.032

    def __init__(self, sample_rate: int = 16000, threshold: float = 0.5) -> None:
        import torch
        from silero_vad import load_silero_vad

        if sample_rate != 16000:
            raise SeqaeError(f"silero VAD is used at 16 kHz here, not {sample_rate}")
        self.torch = torch
        self.model = load_silero_vad()
        self.model.reset_states()
        self.rate, self.threshold = sample_rate, threshold
        self.framer = _Framer(512)

    def decide(self, samples: np.ndarray) -> np.ndarray:
        frames = self.framer.frames(samples)
        with self.torch.no_grad():  # the model keeps its state from frame to frame
            probs = [float(self.model(self.torch.from_numpy(f), self.rate)) for f in frames]
        return np.array(probs, dtype=np.float32) > self.threshold


class EnergyDetector:
    """Frames louder than the running noise floor by ``margin_db``: a fallback needing nothing.

    The floor is a low percentile of the frame levels seen so far, so it follows the
    recording's own background.
    """

    frame_seconds = 0.02

    def __init__(self, sample_rate: int = 16000, margin_db: float = 12.0) -> None:
        self.framer = _Framer(int(sample_rate * self.frame_seconds))
        self.margin = margin_db
        self.levels = np.zeros(0, dtype=np.float32)

    def decide(self, samples: np.ndarray) -> np.ndarray:
        frames = self.framer.frames(samples)
        level = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-10)
        self.levels = np.concatenate([self.levels, level])[-30000:]  # the last 10 minutes
        floor = np.percentile(self.levels, 10) if len(self.levels) else -100.0
        return level > max(floor + self.margin, -60.0)


def make_detector(method: str, sample_rate: int = 16000):
    """A fresh detector (detectors hold state: one per recording)."""
    builders = {"webrtc": WebrtcDetector, "silero": SileroDetector, "energy": EnergyDetector}
    if method not in builders:
        raise SeqaeError(f"VAD method must be one of {', '.join(VAD_METHODS)}, not {method!r}")
    return builders[method](sample_rate)


@dataclass(frozen=True)
class RegionRules:
    """How frame decisions become regions (seconds)."""

    min_speech: float = 0.15  # shorter bursts are dropped
    min_silence: float = 0.12  # shorter pauses are bridged
    pad: float = 0.03  # added on both sides of a region
    max_speech: float = 3.0  # longer regions are cut (a segment is a word or a short phrase)
    # Edges quieter than this many dB below the segment's peak are trimmed (0: keep them), so
    # segments start and end where a clip cut around a word does (librosa.effects.trim).
    # Measured on spoken-term detection (bench/std.py): MAP 0.353 untrimmed, 0.383 at 35 dB,
    # 0.412 at 30, 0.425 at 25, 0.393 at 20.
    trim_db: float = 25.0


class SpeechRegions:
    """Joins per-frame decisions into regions, across blocks; only finished ones come out."""

    def __init__(self, frame_seconds: float, rules: RegionRules = RegionRules()) -> None:
        self.step, self.rules = frame_seconds, rules
        self.frame = 0  # index of the next decision
        self.start: int | None = None  # first frame of the open region
        self.last_speech = -1

    def push(self, decisions: np.ndarray) -> list[tuple[float, float]]:
        out = []
        bridge = int(round(self.rules.min_silence / self.step))
        longest = int(round(self.rules.max_speech / self.step))
        for speech in decisions:
            if self.start is not None and self.frame - self.last_speech > bridge:
                out += self._close()
            if speech:
                if self.start is None:
                    self.start = self.frame
                self.last_speech = self.frame
                if self.frame + 1 - self.start >= longest:
                    out += self._close()
            self.frame += 1
        return out

    def finish(self) -> list[tuple[float, float]]:
        return self._close() if self.start is not None else []

    def _close(self) -> list[tuple[float, float]]:
        start, end = self.start * self.step, (self.last_speech + 1) * self.step
        self.start = None
        if end - start < self.rules.min_speech:
            return []
        return [(max(0.0, start - self.rules.pad), end + self.rules.pad)]


def speech_regions(
    blocks: Iterable[np.ndarray],
    method: str = "webrtc",
    sample_rate: int = 16000,
    rules: RegionRules = RegionRules(),
) -> Iterator[tuple[float, float]]:
    """(start, end) seconds of each speech region in a stream of sample blocks."""
    detector = make_detector(method, sample_rate)
    regions = SpeechRegions(detector.frame_seconds, rules)
    for samples in blocks:
        yield from regions.push(detector.decide(samples))
    yield from regions.finish()
