"""Perturbations of the encoder's input, for the denoising objective.

The encoder sees a perturbed copy and the decoder must rebuild the clean frames, so the
embedding learns to ignore what the perturbations change. On the log-mel spectrogram:
vocal-tract length (a warp of the frequency axis, as in VTLP), speaking rate (a resampling of
the time axis), a room's reverberation, a narrow channel (the top bands cut), loudness and
noise. On the final (normalised) frames: zero-masking of single
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
    reverb: float = 0.0  # chance of a reverberant room: each band's power decays over time
    band_limit: float = 0.0  # chance of a telephone-like band: the top bands cut by 30-50 dB
    frame_drop: float = 0.0  # share of frames set to zero
    dim_drop: float = 0.0  # share of feature dimensions set to zero (the same for all frames)
    time_mask: float = 0.0  # one band of up to this share of the frames set to zero
    dim_mask: int = 0  # one band of up to this many feature dimensions set to zero

    @property
    def active(self) -> bool:
        return self.spectral or self.masking

    @property
    def spectral(self) -> bool:
        return any(
            (self.warp, self.tempo, self.gain_db, self.noise_db, self.reverb, self.band_limit)
        )

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


FRAME_SECONDS = 0.01  # the hop of the default features, which reverberation times assume
REVERB_SECONDS = (0.2, 0.8)  # reverberation time (RT60) of the simulated room
REVERB_WET_DB = (-12.0, 0.0)  # level of the reverberant tail against the direct sound
BAND_KEEP = (0.6, 0.95)  # share of the mel bands a band-limited channel keeps
BAND_CUT_DB = (30.0, 50.0)


def reverberate(log_mel: np.ndarray, rt60_frames: float, wet_db: float) -> np.ndarray:
    """Add an exponentially decaying tail to every band's power (a diffuse room's late
    reverberation); ``rt60_frames``: frames for a 60 dB decay. (T, M) -> (T, M)."""
    from scipy.signal import lfilter

    decay = 10.0 ** (-6.0 / rt60_frames)  # power factor per frame: 60 dB over rt60_frames
    power = np.power(10.0, log_mel.astype(np.float64) / 10.0)
    tail = lfilter([0.0, 1.0 - decay], [1.0, -decay], power, axis=0)  # the energy that lingers
    mixed = power + 10.0 ** (wet_db / 10.0) * tail
    return (10.0 * np.log10(mixed + 1e-10)).astype(log_mel.dtype)


def limit_band(log_mel: np.ndarray, keep: float, cut_db: float) -> np.ndarray:
    """Attenuate the mel bands above the lowest ``keep`` share by ``cut_db`` (a narrow
    channel), never below the segment's own quietest level."""
    bins = log_mel.shape[1]
    top = max(1, int(round(bins * keep)))
    out = np.array(log_mel, copy=True)
    out[:, top:] = np.maximum(out[:, top:] - cut_db, float(log_mel.min()))
    return out


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
    if config.reverb and rng.random() < config.reverb:
        rt60 = rng.uniform(*REVERB_SECONDS) / FRAME_SECONDS
        out = reverberate(out, rt60, rng.uniform(*REVERB_WET_DB))
    if config.band_limit and rng.random() < config.band_limit:
        out = limit_band(out, rng.uniform(*BAND_KEEP), rng.uniform(*BAND_CUT_DB))
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
