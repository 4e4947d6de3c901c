"""Live spoken-term detection: audio arrives as a stream, each spoken term is reported as heard.

The stream (raw 16-bit PCM from a pipe, or a file played at real speed) is cut by the voice
activity detector as it arrives; a segment is complete once the pause after it is heard
(RegionRules.min_silence). Each segment is embedded at once and compared with the enrolled
terms: the segments of an index (typically one built from a few example clips per term, with
labels) and any extra example clips, all embedded by the same model. The most similar term
above the threshold is a detection. Latency is the wall time from the arrival of the
segment's last speech sample to the detection.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from pipelines.io.stream import Block, stream_audio
from pipelines.segment.longform import SegmentSettings, vad_segments
from seqae.errors import InputError

LIVE_BLOCK_SECONDS = 0.1  # audio handed to the detector at a time: bounds the added latency
DEFAULT_THRESHOLD = 0.6  # cosine similarity to an enrolled example


@dataclass(frozen=True)
class Term:
    """An enrolled term: its label and the embeddings of its example clips (n, E), unit rows."""

    label: str
    vectors: np.ndarray


@dataclass(frozen=True)
class Detection:
    label: str
    start: float  # seconds into the stream
    end: float
    score: float
    latency: float  # seconds from the arrival of the term's last speech sample
    at: float  # seconds since the stream started, wall clock


def pcm_blocks(stream: BinaryIO, rate: int, block_seconds: float = LIVE_BLOCK_SECONDS):
    """Mono float32 blocks from raw signed 16-bit little-endian PCM, as it arrives."""
    size = max(1, int(rate * block_seconds)) * 2
    produced, carry = 0, b""
    while chunk := stream.read(size - len(carry)):
        data = carry + chunk
        whole = len(data) - len(data) % 2  # an odd byte waits for its partner
        carry = data[whole:]
        samples = np.frombuffer(data[:whole], dtype="<i2").astype(np.float32) / 32768.0
        if len(samples):
            yield Block(produced / rate, samples)
            produced += len(samples)


def resampled(blocks: Iterable[Block], rate: int, target: int) -> Iterator[Block]:
    """The same stream at ``target`` Hz (soxr keeps its state across blocks)."""
    if rate == target:
        yield from blocks
        return
    import soxr

    stream = soxr.ResampleStream(rate, target, 1, dtype="float32", quality="HQ")
    produced = 0
    for block in blocks:
        out = stream.resample_chunk(block.samples)
        if len(out):
            yield Block(produced / target, out)
            produced += len(out)
    tail = stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
    if len(tail):
        yield Block(produced / target, tail)


def file_blocks(path: Path, rate: int, real_time: bool) -> Iterator[Block]:
    """A recording as a stream: played at real speed (each block handed over when its last
    sample would have been heard), or as fast as it decodes."""
    started = time.monotonic()
    for block in stream_audio(path, rate, LIVE_BLOCK_SECONDS):
        if real_time:
            due = started + block.start + len(block.samples) / rate
            time.sleep(max(0.0, due - time.monotonic()))
        yield block


class ArrivalClock:
    """Remembers when each block arrived, to date any sample of the stream."""

    def __init__(self, rate: int) -> None:
        self.rate, self.started = rate, time.monotonic()
        self.ends: list[float] = []  # stream seconds at each block's end
        self.walls: list[float] = []  # wall seconds (since the start) of its arrival

    def watch(self, blocks: Iterable[Block]) -> Iterator[Block]:
        for block in blocks:
            self.ends.append(block.start + len(block.samples) / self.rate)
            self.walls.append(time.monotonic() - self.started)
            yield block

    def arrival(self, seconds: float) -> float:
        """Wall seconds at which the stream's sample at ``seconds`` had arrived."""
        i = int(np.searchsorted(self.ends, seconds - 1e-9))
        return self.walls[min(i, len(self.walls) - 1)]

    def now(self) -> float:
        return time.monotonic() - self.started


def enroll(bundle, clips: list[tuple[str, Path]]) -> list[Term]:
    """Terms from (label, clip) pairs, embedded by the model; clips of one label pool together."""
    from seqae.audio import compute_features

    by_label: dict[str, list[np.ndarray]] = {}
    for label, path in clips:
        samples = np.concatenate(
            [b.samples for b in stream_audio(path, bundle.features.sample_rate)]
        )
        if len(samples) < bundle.features.win_length:
            raise InputError(f"{path}: too short to enrol as a term")
        by_label.setdefault(label, []).append(compute_features(samples, bundle.features))
    terms = []
    for label, features in by_label.items():
        vectors = bundle.embed(features)  # (n, E)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        terms.append(Term(label, vectors))
    return terms


class TermSet:
    """The enrolled terms: an index's segments (its label column, else the file's name) and
    extra example clips."""

    def __init__(self, index=None, terms: list[Term] | None = None) -> None:
        self.index, self.terms = index, terms or []

    def best(self, vector: np.ndarray) -> tuple[str, float]:
        """vector (E,), unit length -> the most similar term's label and cosine similarity."""
        found = [(term.label, float((term.vectors @ vector).max())) for term in self.terms]
        if self.index is not None and len(self.index):
            hit = self.index.search(vector[None], 1)[0][0]
            label = hit.metadata.get("label") or Path(str(hit.metadata["path"])).stem
            found.append((str(label), hit.score))
        return max(found, key=lambda pair: pair[1])


def detect(
    blocks: Iterable[Block],
    bundle,
    terms: TermSet,
    threshold: float = DEFAULT_THRESHOLD,
    settings: SegmentSettings | None = None,
) -> Iterator[Detection]:
    """Detections of the enrolled terms in a stream of blocks at the model's sample rate."""
    from seqae.audio import compute_features

    settings = settings or SegmentSettings()
    rate = bundle.features.sample_rate
    clock = ArrivalClock(rate)
    for start, end, samples in vad_segments(clock.watch(blocks), settings, rate):
        if len(samples) < bundle.features.win_length:
            continue
        vector = bundle.embed([compute_features(samples, bundle.features)])[0]  # (E,)
        vector /= max(float(np.linalg.norm(vector)), 1e-12)
        label, score = terms.best(vector)
        if score < threshold:
            continue
        padded = settings.rules.trim_db <= 0  # else the end is where the speech fades
        spoken_end = max(start, end - settings.rules.pad) if padded else end
        now = clock.now()
        yield Detection(label, start, end, score, now - clock.arrival(spoken_end), now)
