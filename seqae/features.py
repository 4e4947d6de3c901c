"""From log-mel spectrogram to model frames: cepstra, deltas and normalisation.

This half of feature extraction lives in the core so that training-time augmentation (which
warps the log-mel spectrogram) and inference share one implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import scipy.fft

from seqae.config import FeatureConfig

Stats = tuple[np.ndarray, np.ndarray]  # (D,) mean and (D,) standard deviation of a group


def deltas(frames: np.ndarray) -> np.ndarray:
    """(T, D) -> (T, 2D) deltas and delta-deltas; short segments use a narrower window."""
    import librosa

    n = frames.shape[0]
    if n < 3:  # too short for any regression window: a zero slope is the honest estimate
        return np.zeros((n, frames.shape[1] * 2), dtype=frames.dtype)
    width = min(9, n if n % 2 == 1 else n - 1)
    d1 = librosa.feature.delta(frames, width=width, order=1, axis=0, mode="interp")
    d2 = librosa.feature.delta(frames, width=width, order=2, axis=0, mode="interp")
    return np.concatenate([d1, d2], axis=1)


TRIM_FLOOR_PERCENTILE = 10  # a band's background: its quietest tenth of frames
TRIM_FLOOR_MARGIN_DB = 6.0  # speech stands at least this far above a band's background
TRIM_BANDS = 3  # a frame is speech when this many bands say so (noise flickers in one or two)
TRIM_SILENT_BAND_DB = 50.0  # a band this far under the loudest carries nothing
TRIM_STEADY_DB = 15.0  # a band whose loudest frame is this close to its floor: steady noise
TRIM_SMOOTH = 3  # frames averaged in each band before judging (noise flickers less)
TRIM_PAD = 3  # frames kept beyond each edge
TRIM_MIN = 5  # a shorter span is not trusted: the segment is kept whole


def speech_frames(log_mel: np.ndarray, top_db: float) -> np.ndarray:
    """(T, n_mels) log-mel in dB -> (T,) True where a frame holds speech.

    Each band is judged against itself: a frame is loud in a band when it is within
    ``top_db`` of that band's loudest frame and clear of the band's background. A fricative
    (weak overall, but the loudest thing in its high bands) counts, as does a vowel; a
    steady noise, never far above its own floor, does not.
    """
    level = _smoothed(log_mel)  # (T, M)
    peak = level.max(axis=0)  # (M,)
    floor = np.percentile(level, TRIM_FLOOR_PERCENTILE, axis=0)  # (M,)
    loud = level > np.maximum(peak - top_db, floor + TRIM_FLOOR_MARGIN_DB)  # (T, M)
    # bands the recording never reaches (above 4 kHz in telephone audio), and bands where
    # nothing rises out of a steady noise, say nothing either way
    telling = (peak > peak.max() - TRIM_SILENT_BAND_DB) & (peak - floor > TRIM_STEADY_DB)
    if not telling.any():
        return np.ones(len(log_mel), dtype=bool)
    return loud[:, telling].sum(axis=1) >= min(TRIM_BANDS, int(telling.sum()))


def _smoothed(log_mel: np.ndarray) -> np.ndarray:
    """Each band's power averaged over TRIM_SMOOTH frames, in dB: (T, M) -> (T, M)."""
    if len(log_mel) < TRIM_SMOOTH:
        return log_mel
    power = np.power(10.0, log_mel.astype(np.float64) / 10.0)
    padded = np.pad(power, ((TRIM_SMOOTH // 2, TRIM_SMOOTH // 2), (0, 0)), mode="edge")
    window = np.lib.stride_tricks.sliding_window_view(padded, TRIM_SMOOTH, axis=0)
    return 10.0 * np.log10(window.mean(axis=-1) + 1e-10)


def speech_span(log_mel: np.ndarray, top_db: float) -> tuple[int, int]:
    """(first, last + 1): the frames from the first to the last that hold speech (see
    ``speech_frames``), padded by a few frames; the whole segment if too few do."""
    steps = len(log_mel)
    frames = np.flatnonzero(speech_frames(log_mel, top_db))
    if len(frames) == 0 or frames[-1] + 1 - frames[0] < TRIM_MIN:
        return 0, steps
    return max(0, int(frames[0]) - TRIM_PAD), min(steps, int(frames[-1]) + 1 + TRIM_PAD)


def trim_log_mel(log_mel: np.ndarray, top_db: float) -> np.ndarray:
    """The segment's frames without its leading and trailing non-speech (``top_db`` 0: all)."""
    if top_db <= 0 or len(log_mel) <= TRIM_MIN:
        return log_mel
    first, last = speech_span(log_mel, top_db)
    return log_mel[first:last]


def normalize_frames(frames: np.ndarray) -> np.ndarray:
    """Mean-variance normalise each feature dimension over the segment's frames."""
    mean = frames.mean(axis=0, keepdims=True)
    std = frames.std(axis=0, keepdims=True)
    return (frames - mean) / np.maximum(std, 1e-5)


def frames_from_log_mel(
    log_mel: np.ndarray, config: FeatureConfig, stats: Stats | None = None
) -> np.ndarray:
    """(T, n_mels) log-mel in dB -> (T, config.dim) float32 model frames; ``stats`` is the
    mean and deviation of the segment's speaker (``normalize`` "speaker")."""
    if config.kind == "mfcc":  # the orthonormal DCT-II, as librosa.feature.mfcc computes it
        base = scipy.fft.dct(log_mel, type=2, norm="ortho", axis=1)[:, : config.n_mfcc]
    else:
        base = log_mel
    frames = np.concatenate([base, deltas(base)], axis=1) if config.deltas else base
    return np.ascontiguousarray(_normalized(frames, config, stats), dtype=np.float32)


def _normalized(frames: np.ndarray, config: FeatureConfig, stats: Stats | None) -> np.ndarray:
    """Per-segment normalisation, or by the given group's mean and deviation (``speaker``)."""
    if config.normalize == "none":
        return frames
    if config.normalize == "speaker" and stats is not None:
        return (frames - stats[0]) / stats[1]
    return normalize_frames(frames)  # "utterance", or a segment with no known speaker


def group_statistics(
    log_mels: list[np.ndarray], groups: list[str], config: FeatureConfig
) -> list[Stats | None]:
    """For each segment, the mean and standard deviation of its group's frames (a speaker,
    or a recording), before normalisation; None for a segment of no group ("")."""
    raw = frames_from_log_mels(log_mels, replace(config, normalize="none"))
    found: dict[str, Stats] = {}
    for group in set(groups) - {""}:
        joined = np.concatenate([f for f, g in zip(raw, groups, strict=True) if g == group])
        found[group] = (joined.mean(axis=0), np.maximum(joined.std(axis=0), 1e-5))
    return [found.get(group) for group in groups]


def frames_from_log_mels(
    log_mels: list[np.ndarray],
    config: FeatureConfig,
    stats: Sequence[Stats | None] | None = None,
) -> list[np.ndarray]:
    """``frames_from_log_mel`` of each segment (with ``stats[i]`` its group's, if any); the
    deltas of all segments of one length are computed in one call (librosa's delta costs
    about a millisecond of overhead a call)."""
    if config.kind == "mfcc":
        bases = [
            scipy.fft.dct(m, type=2, norm="ortho", axis=1)[:, : config.n_mfcc] for m in log_mels
        ]
    else:
        bases = list(log_mels)
    if config.deltas:
        by_length: dict[int, list[int]] = {}
        for i, base in enumerate(bases):
            by_length.setdefault(len(base), []).append(i)
        slopes: list[np.ndarray | None] = [None] * len(bases)
        for rows in by_length.values():
            stacked = np.stack([bases[i] for i in rows])  # (n, T, D)
            for i, slope in zip(rows, _deltas_stacked(stacked), strict=True):
                slopes[i] = slope
        bases = [np.concatenate([b, d], axis=1) for b, d in zip(bases, slopes, strict=True)]
    stats = [None] * len(bases) if stats is None else stats
    return [
        np.ascontiguousarray(_normalized(b, config, s), dtype=np.float32)
        for b, s in zip(bases, stats, strict=True)
    ]


def _deltas_stacked(stacked: np.ndarray) -> np.ndarray:
    """(n, T, D) -> (n, T, 2D): ``deltas`` of each of the n segments (all T frames long)."""
    import librosa

    n, length, dim = stacked.shape
    if length < 3:
        return np.zeros((n, length, 2 * dim), dtype=stacked.dtype)
    width = min(9, length if length % 2 == 1 else length - 1)
    d1 = librosa.feature.delta(stacked, width=width, order=1, axis=1, mode="interp")
    d2 = librosa.feature.delta(stacked, width=width, order=2, axis=1, mode="interp")
    return np.concatenate([d1, d2], axis=2)
