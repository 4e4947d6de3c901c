from __future__ import annotations

import librosa
import numpy as np
import pytest

from seqae.audio import compute_features, compute_features_many
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
    import seqae.audio as features

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


def _word_in_noise(seed: int = 0) -> tuple[np.ndarray, tuple[float, float]]:
    """A 0.3 s two-tone 'word' at 0.4 s into 1.2 s of noise 30 dB under it, and its span."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(0.3 * 16000)) / 16000
    word = 0.5 * np.sin(2 * np.pi * 300 * t) + 0.2 * np.sin(2 * np.pi * 1200 * t)
    word *= np.hanning(len(word)) ** 0.2  # soft edges, as a spoken word has
    clip = rng.standard_normal(int(1.2 * 16000)) * 0.5 * 10 ** (-30 / 20) / 3
    start = int(0.4 * 16000)
    clip[start : start + len(word)] += word
    return clip.astype(np.float32), (0.4, 0.7)


def test_trimming_finds_the_word_inside_a_loose_clip():
    clip, (start, end) = _word_in_noise()
    whole = compute_features(clip, FeatureConfig())
    trimmed = compute_features(clip, FeatureConfig(trim_db=25))
    assert len(whole) == 121
    assert abs(len(trimmed) - (end - start) * 100) <= 10  # the word and a little padding
    from seqae.audio import _full_log_mel, speech_span

    first, last = speech_span(_full_log_mel(clip, FeatureConfig()), 25)
    assert abs(first - 40) <= 6 and abs(last - 70) <= 6  # frames are 10 ms


def test_trimming_keeps_a_tight_clip_and_both_syllables():
    clip, _ = _word_in_noise()
    tight = clip[int(0.4 * 16000) : int(0.7 * 16000)]
    assert abs(len(compute_features(tight, FeatureConfig(trim_db=25))) - 31) <= 3
    # two syllables 0.25 s apart, the second 15 dB quieter: one word, kept whole
    gap = clip[:4000]  # the room's noise between the syllables
    second = clip[6400:11200] * 10 ** (-15 / 20) + clip[:4800]
    word = np.concatenate([clip[:9600], gap, second, clip[:3200]])
    trimmed = compute_features(word, FeatureConfig(trim_db=25))
    assert abs(len(trimmed) - (30 + 25 + 15 + 6)) <= 8


def test_trimming_and_fmax_in_the_many_segments_path():
    config = FeatureConfig(trim_db=25, fmax=4000)
    clips = [_word_in_noise(seed)[0] for seed in range(3)]
    alone_each = [compute_features(c, config) for c in clips]
    for alone, together in zip(alone_each, compute_features_many(clips, config), strict=True):
        np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-4)


def test_fmax_limits_the_filterbank():
    config = FeatureConfig(kind="logmel", deltas=False, normalize="none", fmax=4000)
    t = np.arange(8000) / 16000
    high = (0.5 * np.sin(2 * np.pi * 6000 * t)).astype(np.float32)  # above 4 kHz
    low = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    assert compute_features(high, config).max() < compute_features(low, config).max() - 40
    with pytest.raises(Exception, match="fmax"):
        FeatureConfig(fmax=9000)


def test_speaker_normalisation_uses_the_groups_statistics():
    from seqae.audio import frames_from_log_mels, group_statistics

    rng = np.random.default_rng(0)
    log_mels = [rng.normal(-30 + 10 * (i % 2), 5, size=(20 + i, 40)) for i in range(4)]
    config = FeatureConfig(normalize="speaker")
    stats = group_statistics(log_mels, ["a", "b", "a", ""], config)
    assert stats[3] is None and stats[0] is stats[2]
    frames = frames_from_log_mels(log_mels, config, stats)
    joined = np.concatenate([frames[0], frames[2]])  # speaker a, normalised as one
    np.testing.assert_allclose(joined.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(joined.std(axis=0), 1, atol=1e-3)
    assert abs(frames[0].mean(axis=0)).max() > 1e-3  # not each on its own
    alone = frames_from_log_mels([log_mels[3]], FeatureConfig())[0]
    np.testing.assert_allclose(frames[3], alone, atol=1e-5)  # no speaker: per segment


def test_extraction_normalises_per_speaker(corpus):
    from pipelines.io.extract import extract_features
    from pipelines.io.manifest import read_manifest

    segments = read_manifest(corpus / "archive.csv")
    extraction = extract_features(segments, FeatureConfig(normalize="speaker"))
    speakers = [s.metadata["speaker"] for s in extraction.segments]
    first = [f for f, s in zip(extraction.features, speakers, strict=True) if s == speakers[0]]
    joined = np.concatenate(first)
    np.testing.assert_allclose(joined.mean(axis=0), 0, atol=1e-3)
    spectra = extract_features(segments, FeatureConfig(normalize="speaker"), log_mel=True)
    assert spectra.stats is not None and spectra.features[0].shape[1] == 40
