from __future__ import annotations

import librosa
import numpy as np
import pytest

from pipelines.features import compute_features, compute_features_many
from seqae.config import FeatureConfig


def _noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (
        np.random.default_rng(seed).standard_normal(int(16000 * seconds)).astype(np.float32) * 0.1
    )


def test_mfcc_shape_and_normalisation():
    frames = compute_features(_noise(1.0), FeatureConfig())
    assert frames.shape == (101, 39)  # 10 ms hop, centred frames
    assert np.allclose(frames.mean(axis=0), 0, atol=1e-4)
    assert np.allclose(frames.std(axis=0), 1, atol=1e-3)


def test_static_part_matches_librosa():
    config = FeatureConfig(normalize="none")
    audio = _noise(0.5, seed=1)
    ours = compute_features(audio, config)[:, :13]
    reference = librosa.feature.mfcc(
        y=audio,
        sr=16000,
        n_mfcc=13,
        n_fft=512,
        win_length=400,
        hop_length=160,
        n_mels=40,
        htk=False,
    ).T
    np.testing.assert_allclose(ours, reference, rtol=1e-3, atol=1e-2)


@pytest.mark.parametrize("seconds", [0.005, 0.02, 0.04, 0.07])
def test_segments_shorter_than_delta_window(seconds):
    frames = compute_features(_noise(seconds), FeatureConfig())
    assert frames.shape[1] == 39 and len(frames) >= 1
    assert np.all(np.isfinite(frames))


def test_logmel_option():
    frames = compute_features(_noise(0.3), FeatureConfig(kind="logmel", deltas=False))
    assert frames.shape[1] == 40 == FeatureConfig(kind="logmel", deltas=False).dim


@pytest.mark.parametrize(
    "config",
    [FeatureConfig(), FeatureConfig(normalize="none"), FeatureConfig(kind="logmel", deltas=False)],
)
def test_many_segments_at_once_equal_each_alone(config, monkeypatch):
    import pipelines.features as features

    monkeypatch.setattr(features, "MANY_SECONDS", 2.0)  # several spectrograms, not one
    lengths = [80, 400, 1600, 1601, 4000, 4000, 12345, 16000, 1600, 30, 9000]
    segments = [_noise(n / 16000, seed=i) * (1 + i) for i, n in enumerate(lengths)]
    together = compute_features_many(segments, config)
    assert len(together) == len(segments)
    for audio, frames in zip(segments, together, strict=True):
        alone = compute_features(audio, config)
        assert frames.shape == alone.shape and frames.dtype == np.float32
        if config.normalize == "utterance" and len(alone) <= 3:
            continue  # delta-deltas are rounding noise there, and normalising magnifies it
        np.testing.assert_allclose(frames, alone, rtol=1e-4, atol=1e-4)
