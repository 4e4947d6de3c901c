"""Frame-level features: audio -> log-mel -> MFCC + deltas (or log-mel), normalised per segment."""

from __future__ import annotations

import warnings

import librosa
import numpy as np

# librosa loads its submodules (scipy.signal, numba kernels) on first use; naming one here
# moves that second or two to import time, so the first query costs what the others do.
from librosa.feature import melspectrogram

from seqae.config import FeatureConfig
from seqae.features import frames_from_log_mel


def compute_log_mel(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """(T, n_mels) log-mel spectrogram in dB, float32."""
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
        center=True,
        power=2.0,
    )
