"""From log-mel spectrogram to model frames: cepstra, deltas and normalisation.

This half of feature extraction lives in the core so that training-time augmentation (which
warps the log-mel spectrogram) and inference share one implementation.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from seqae.config import FeatureConfig


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


def normalize_frames(frames: np.ndarray) -> np.ndarray:
    """Mean-variance normalise each feature dimension over the segment's frames."""
    mean = frames.mean(axis=0, keepdims=True)
    std = frames.std(axis=0, keepdims=True)
    return (frames - mean) / np.maximum(std, 1e-5)


def frames_from_log_mel(log_mel: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """(T, n_mels) log-mel in dB -> (T, config.dim) float32 model frames."""
    if config.kind == "mfcc":  # the orthonormal DCT-II, as librosa.feature.mfcc computes it
        base = scipy.fft.dct(log_mel, type=2, norm="ortho", axis=1)[:, : config.n_mfcc]
    else:
        base = log_mel
    frames = np.concatenate([base, deltas(base)], axis=1) if config.deltas else base
    if config.normalize == "utterance":
        frames = normalize_frames(frames)
    return np.ascontiguousarray(frames, dtype=np.float32)


def frames_from_log_mels(log_mels: list[np.ndarray], config: FeatureConfig) -> list[np.ndarray]:
    """``frames_from_log_mel`` of each segment; the deltas of all segments of one length are
    computed in one call (librosa's delta costs about a millisecond of overhead a call)."""
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
    if config.normalize == "utterance":
        bases = [normalize_frames(b) for b in bases]
    return [np.ascontiguousarray(b, dtype=np.float32) for b in bases]


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
