"""Perturbations of the encoder's input, for the denoising objective.

The encoder sees a perturbed copy and the decoder must rebuild the clean frames, so the
embedding learns to ignore what the perturbations change. On the log-mel spectrogram:
vocal-tract length (a warp of the frequency axis, as in VTLP), speaking rate (a resampling of
the time axis), loudness and noise. On the final (normalised) frames: zero-masking of single
frames and feature dimensions, and of contiguous time and feature bands (as in SpecAugment).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    """Perturbation strengths; zero switches a perturbation off."""

    warp: float = 0.15  # frequency-axis scale drawn from [1 - warp, 1 + warp]
    tempo: float = 0.2  # time-axis scale drawn from [1 - tempo, 1 + tempo]
    gain_db: float = 6.0  # level change drawn from [-gain_db, gain_db]
    noise_db: float = 1.0  # std of Gaussian noise added to each log-mel cell
    frame_drop: float = 0.0  # share of frames set to zero
    dim_drop: float = 0.0  # share of feature dimensions set to zero (the same for all frames)
    time_mask: float = 0.0  # one band of up to this share of the frames set to zero
    dim_mask: int = 0  # one band of up to this many feature dimensions set to zero

    @property
    def active(self) -> bool:
        return self.spectral or self.masking

    @property
    def spectral(self) -> bool:
        return any((self.warp, self.tempo, self.gain_db, self.noise_db))

    @property
    def masking(self) -> bool:
        return any((self.frame_drop, self.dim_drop, self.time_mask, self.dim_mask))


def warp_frequency(log_mel: np.ndarray, alpha: float) -> np.ndarray:
    """Scale the mel axis by ``alpha`` (T, M) -> (T, M), holding the edge bins."""
    bins = log_mel.shape[1]
    source = np.clip(np.arange(bins) / alpha, 0, bins - 1)  # where each output bin reads from
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, bins - 1)
    weight = (source - low)[None, :]
    return log_mel[:, low] * (1 - weight) + log_mel[:, high] * weight


def stretch_time(log_mel: np.ndarray, rate: float) -> np.ndarray:
    """Resample the time axis: ``rate`` > 1 makes the segment shorter (T, M) -> (T', M)."""
    frames = log_mel.shape[0]
    target = max(1, int(round(frames / rate)))
    if target == frames or frames < 2:
        return log_mel
    positions = np.linspace(0, frames - 1, num=target)
    low = np.floor(positions).astype(int)
    high = np.minimum(low + 1, frames - 1)
    weight = (positions - low)[:, None]
    return log_mel[low] * (1 - weight) + log_mel[high] * weight


def augment_log_mel(
    log_mel: np.ndarray, config: AugmentConfig, rng: np.random.Generator
) -> np.ndarray:
    """Apply one random draw of every active perturbation."""
    if not config.spectral:
        return log_mel
    out = log_mel
    if config.warp:
        out = warp_frequency(out, rng.uniform(1 - config.warp, 1 + config.warp))
    if config.tempo:
        out = stretch_time(out, rng.uniform(1 - config.tempo, 1 + config.tempo))
    if config.gain_db:
        out = out + rng.uniform(-config.gain_db, config.gain_db)
    if config.noise_db:
        out = out + rng.normal(0.0, config.noise_db, size=out.shape)
    return out.astype(np.float32)


def mask_frames(frames: np.ndarray, config: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """Zero-mask frames, feature dimensions and bands of both: (T, D) -> (T, D) copy."""
    out = np.array(frames, dtype=np.float32, copy=True)
    steps, dims = out.shape
    if config.frame_drop:
        out[rng.random(steps) < config.frame_drop] = 0.0
    if config.dim_drop:
        out[:, rng.random(dims) < config.dim_drop] = 0.0
    if config.time_mask and steps > 1:
        width = rng.integers(0, int(config.time_mask * steps) + 1)
        start = rng.integers(0, steps - width + 1)
        out[start : start + width] = 0.0
    if config.dim_mask:
        width = rng.integers(0, min(config.dim_mask, dims) + 1)
        start = rng.integers(0, dims - width + 1)
        out[:, start : start + width] = 0.0
    return out
