"""Frame-level features: audio -> log-mel -> MFCC + deltas (or log-mel), normalised per segment."""

from __future__ import annotations

import warnings

import librosa
import numpy as np

# librosa loads its submodules (scipy.signal, numba kernels) on first use; naming one here
# moves that second or two to import time, so the first query costs what the others do.
from librosa.feature import melspectrogram

from seqae.config import FeatureConfig
from seqae.features import (
    frames_from_log_mel,
    frames_from_log_mels,
    group_statistics,
    trim_log_mel,
)

MANY_SECONDS = 60.0  # audio per spectrogram of compute_features_many


def compute_log_mel(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """(T, n_mels) log-mel spectrogram in dB, float32, trimmed as ``config`` asks."""
    return trim_log_mel(_full_log_mel(audio, config), config.trim_db)


def _full_log_mel(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    n_fft = 1 << (config.win_length - 1).bit_length()  # next power of two above the window
    with warnings.catch_warnings():  # segments shorter than one FFT are padded, and that is fine
        warnings.filterwarnings("ignore", message="n_fft=.*is too large")
        mel = _mel(audio, config, n_fft)
    return np.ascontiguousarray(librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None).T)


def compute_features(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """(frames, config.dim) float32 features of mono audio at config.sample_rate."""
    return frames_from_log_mel(compute_log_mel(audio, config), config)


def _mel(audio: np.ndarray, config: FeatureConfig, n_fft: int) -> np.ndarray:
    """Mel power spectrogram, (n_mels, T)."""
    return melspectrogram(
        y=audio,
        sr=config.sample_rate,
        n_fft=n_fft,
        win_length=config.win_length,
        hop_length=config.hop_length,
        n_mels=config.n_mels,
        fmax=config.top_frequency,
        center=True,
        power=2.0,
    )


def compute_features_many(
    segments: list[np.ndarray], config: FeatureConfig, one_speaker: bool = False
) -> list[np.ndarray]:
    """Features of many segments, each equal to ``compute_features`` of it alone, computed in
    a few large calls: per-segment calls spend most of their time in overhead.

    ``one_speaker``: the segments come from one recording, and with ``normalize`` "speaker"
    they are normalised together.
    """
    log_mels = compute_log_mels(segments, config)
    if not (one_speaker and config.normalize == "speaker"):
        return frames_from_log_mels(log_mels, config)
    stats = group_statistics(log_mels, ["recording"] * len(log_mels), config)
    return frames_from_log_mels(log_mels, config, stats)


def compute_log_mels(segments: list[np.ndarray], config: FeatureConfig) -> list[np.ndarray]:
    """``compute_log_mel`` of each segment, from one spectrogram per ~MANY_SECONDS of audio.

    The segments are laid end to end, each starting on a frame boundary, with enough silence
    between them that no analysis window reaches a neighbour: every frame then sees exactly the
    samples (and the zero padding) it sees when its segment is analysed alone.
    """
    n_fft = 1 << (config.win_length - 1).bit_length()
    out: list[np.ndarray] = []
    group: list[np.ndarray] = []
    length = 0
    for audio in segments:
        group.append(np.asarray(audio, dtype=np.float32))
        length += len(audio) + n_fft
        if length >= MANY_SECONDS * config.sample_rate:
            out += _log_mels_laid_out(group, config, n_fft)
            group, length = [], 0
    return out + (_log_mels_laid_out(group, config, n_fft) if group else [])


def _log_mels_laid_out(group: list[np.ndarray], config: FeatureConfig, n_fft: int) -> list:
    hop = config.hop_length
    frames = [1 + len(a) // hop for a in group]  # what a centred STFT of each alone yields
    # After a segment's last frame (centred on (frames - 1) * hop) half a window of zeros,
    # then half a window before the next segment's first frame: n_fft // hop + 1 hops.
    starts = np.cumsum([0] + [f + n_fft // hop + 1 for f in frames[:-1]])  # in frames
    laid = np.zeros(int(starts[-1] + frames[-1]) * hop + n_fft, dtype=np.float32)
    for first, audio in zip(starts, group, strict=True):
        laid[first * hop : first * hop + len(audio)] = audio
    log_mel = _full_log_mel(laid, config)  # (T, n_mels)
    return [
        trim_log_mel(log_mel[a : a + f], config.trim_db)
        for a, f in zip(starts, frames, strict=True)
    ]
