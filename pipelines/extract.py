"""Audio segments -> feature arrays, skipping (and reporting) the items that cannot be read."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from pipelines.audio import load_audio
from pipelines.features import compute_features, compute_log_mel
from pipelines.manifest import Segment
from seqae.config import FeatureConfig
from seqae.errors import InputError

logger = logging.getLogger(__name__)


@dataclass
class Extraction:
    """Features of the segments that could be read, and the reasons for those that could not."""

    features: list[np.ndarray] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)  # seconds of audio behind each item
    skipped: list[tuple[Segment, str]] = field(default_factory=list)


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
    """Compute features (or log-mel spectra) for every segment, in order; bad items are skipped."""
    workers = workers or min(2, os.cpu_count() or 1)
    jobs = [(segment, config, log_mel) for segment in segments]
    result = Extraction()
    if workers > 1 and len(jobs) >= 64:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            outputs = pool.map(_safe_features, jobs, chunksize=16)
            _collect(result, segments, outputs, progress)
    else:
        _collect(result, segments, map(_safe_features, jobs), progress)
    return result


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
