"""Audio segments -> feature arrays, skipping (and reporting) the items that cannot be read."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipelines.io.manifest import Segment
from seqae.audio import (
    Stats,
    compute_features,
    compute_log_mel,
    frames_from_log_mels,
    group_statistics,
    load_audio,
)
from seqae.config import FeatureConfig
from seqae.errors import InputError

if TYPE_CHECKING:
    from pipelines.segment.longform import SegmentSettings

logger = logging.getLogger(__name__)


@dataclass
class Extraction:
    """Features of the segments that could be read, and the reasons for those that could not."""

    features: list[np.ndarray] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)  # seconds of audio behind each item
    skipped: list[tuple[Segment, str]] = field(default_factory=list)
    # with normalize "speaker": each item's group mean and deviation (None: the item's own)
    stats: list[Stats | None] | None = None


def alone(segment: Segment) -> Segment:
    """The segment without its speaker: features of its own, as a search query has."""
    metadata = {k: v for k, v in segment.metadata.items() if k != "speaker"}
    return replace(segment, metadata=metadata)


def segment_features(
    segment: Segment, config: FeatureConfig, log_mel: bool = False
) -> tuple[np.ndarray, float]:
    """Load one segment; return its features (or log-mel) and duration.

    Raises InputError for unusable input.
    """
    audio = load_audio(segment.path, config.sample_rate, segment.start, segment.end)
    frames = compute_log_mel(audio, config) if log_mel else compute_features(audio, config)
    return frames, len(audio) / config.sample_rate


def _safe_features(args: tuple[Segment, FeatureConfig, bool]) -> tuple[np.ndarray, float] | str:
    segment, config, log_mel = args
    try:
        return segment_features(segment, config, log_mel)
    except InputError as error:
        return str(error)
    except Exception as error:  # a decoder bug on one odd file must not stop an archive job
        return f"{segment.describe()}: {type(error).__name__}: {error}"


def extract_features(
    segments: Sequence[Segment],
    config: FeatureConfig,
    workers: int = 0,
    progress: Callable[[int], None] | None = None,
    log_mel: bool = False,
) -> Extraction:
    """Compute features (or log-mel spectra) for every segment, in order; bad items are skipped.

    With ``normalize`` "speaker" the frames are normalised over each speaker's segments (the
    manifest's ``speaker`` column; per segment where it is empty).
    """
    workers = workers or min(2, os.cpu_count() or 1)
    grouped = config.normalize == "speaker"
    jobs = [(segment, config, log_mel or grouped) for segment in segments]
    result = Extraction()
    if workers > 1 and len(jobs) >= 64:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            outputs = pool.map(_safe_features, jobs, chunksize=16)
            _collect(result, segments, outputs, progress)
    else:
        _collect(result, segments, map(_safe_features, jobs), progress)
    if grouped:
        speakers = [segment.metadata.get("speaker", "") for segment in result.segments]
        normalize_by_group(result, config, speakers, log_mel)
    return result


def normalize_by_group(
    result: Extraction, config: FeatureConfig, groups: list[str], log_mel: bool
) -> None:
    """Give ``result`` (log-mel spectra) its groups' statistics; unless ``log_mel``, turn
    the spectra into frames normalised with them."""
    result.stats = group_statistics(result.features, groups, config)
    if not log_mel:
        result.features = frames_from_log_mels(result.features, config, result.stats)


def _collect(result: Extraction, segments, outputs, progress) -> None:
    for segment, output in zip(segments, outputs, strict=True):
        if isinstance(output, str):
            logger.debug("skipped %s", output)  # the command reports skipped items at the end
            result.skipped.append((segment, output))
        else:
            result.features.append(output[0])
            result.durations.append(output[1])
            result.segments.append(segment)
        if progress:
            progress(1)


LONG_BATCH = 256  # segments whose features are computed in one call


def extract_long_segments(
    folder: Path,
    settings: SegmentSettings,
    config: FeatureConfig,
    progress: Callable[[int], None] | None = None,
) -> Extraction:
    """Log-mel spectra of the segments ``ingest`` would cut from every recording under
    ``folder`` (one file that cannot be read is skipped); ``progress`` counts files."""
    from pipelines.embed.ingest import find_audio
    from pipelines.segment.longform import long_segments
    from seqae.audio import compute_log_mels

    result = Extraction()
    for relative in find_audio(folder):
        path = folder / relative
        try:
            found = [
                (Segment(path, start, end), samples)
                for start, end, samples in long_segments(path, settings, config.sample_rate)
                if len(samples) >= config.win_length
            ]
        except InputError as error:
            result.skipped.append((Segment(path), str(error)))
            found = []
        for first in range(0, len(found), LONG_BATCH):
            batch = found[first : first + LONG_BATCH]
            result.features += compute_log_mels([samples for _, samples in batch], config)
            result.segments += [segment for segment, _ in batch]
            result.durations += [len(samples) / config.sample_rate for _, samples in batch]
        if progress:
            progress(1)
    if config.normalize == "speaker":  # a long recording: one speaker, one room
        normalize_by_group(result, config, [str(s.path) for s in result.segments], log_mel=True)
    return result
