from __future__ import annotations

import numpy as np
import pytest
import torch

from seqae.config import FeatureConfig, ModelConfig
from seqae.data import AugmentConfig, SegmentDataset, augment_log_mel, collate_pairs
from seqae.data.augment import stretch_time, warp_frequency
from seqae.models import SequenceAutoencoder


def test_warp_moves_a_peak_up_the_mel_axis():
    log_mel = np.zeros((3, 40))
    log_mel[:, 10] = 1.0
    warped = warp_frequency(log_mel, 1.2)
    assert warped[0].argmax() == 12  # bin 12 reads from 12 / 1.2 = 10
    np.testing.assert_allclose(warp_frequency(log_mel, 1.0), log_mel)


def test_stretch_changes_length_and_keeps_ends():
    log_mel = np.arange(20, dtype=np.float64).reshape(10, 2)
    faster = stretch_time(log_mel, 2.0)
    assert faster.shape == (5, 2)
    np.testing.assert_allclose(faster[[0, -1]], log_mel[[0, -1]])


def test_dataset_pairs_noisy_input_with_clean_target():
    rng = np.random.default_rng(0)
    log_mels = [rng.normal(-40, 10, size=(n, 40)).astype(np.float32) for n in (30, 50)]
    dataset = SegmentDataset(log_mels, FeatureConfig(), AugmentConfig(), seed=0)
    noisy, clean, group = dataset[1]
    assert group == 1
    assert clean.shape == (50, 39) and noisy.shape[1] == 39
    assert not np.allclose(noisy[: min(len(noisy), 50)], clean[: len(noisy)])
    plain = SegmentDataset(log_mels, FeatureConfig(), AugmentConfig(0, 0, 0, 0))
    assert plain[0][0] is plain[0][1]
    x, lx, y, ly, groups = collate_pairs([dataset[0], dataset[1]])
    assert groups.tolist() == [0, 1]
    assert ly.tolist() == [30, 50] and x.size(0) == 2
    model = SequenceAutoencoder(ModelConfig(hidden_size=8, embedding_dim=4, decoder_hidden_size=8))
    loss = model.loss(x, lx, y, ly)
    assert torch.isfinite(loss) and loss.item() > 0


def test_augmentation_is_seeded():
    log_mel = np.random.default_rng(1).normal(size=(20, 40))
    a = augment_log_mel(log_mel, AugmentConfig(), np.random.default_rng(5))
    b = augment_log_mel(log_mel, AugmentConfig(), np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)


def test_masking_zeroes_frames_dimensions_and_bands():
    from seqae.data.augment import mask_frames

    frames = np.ones((200, 39), dtype=np.float32)
    rng = np.random.default_rng(0)
    dropped = mask_frames(frames, AugmentConfig(0, 0, 0, 0, frame_drop=0.3), rng)
    zero_rows = (dropped == 0).all(axis=1).mean()
    assert 0.2 < zero_rows < 0.4 and frames.min() == 1.0  # the input is not changed in place
    dims = mask_frames(frames, AugmentConfig(0, 0, 0, 0, dim_drop=0.5), rng)
    zero_cols = (dims == 0).all(axis=0)
    assert 0 < zero_cols.sum() < 39 and ((dims == 0) == zero_cols[None, :]).all()
    band = mask_frames(frames, AugmentConfig(0, 0, 0, 0, time_mask=0.5, dim_mask=10), rng)
    assert (band == 0).any() and AugmentConfig(0, 0, 0, 0, dim_mask=3).masking


def test_reverberation_lengthens_the_decay_and_keeps_the_onset():
    from seqae.data.augment import reverberate

    log_mel = np.full((50, 4), -300.0)  # (next to) nothing
    log_mel[10:15] = 0.0  # a burst of sound
    wet = reverberate(log_mel, rt60_frames=30.0, wet_db=0.0)
    assert wet.shape == log_mel.shape
    assert np.all(wet[:10] < -90.0)  # nothing before the sound (the floor of the dB scale)
    np.testing.assert_allclose(wet[10, 0], 0.0, atol=0.5)  # the onset stays as it was
    after = wet[20:, 0]
    assert (after > -60.0).sum() > 5 and np.all(np.diff(after) <= 1e-9)  # a falling tail
    # 60 dB below the end of the burst after 30 frames, as RT60 says (the burst adds up)
    assert wet[15 + 30, 0] == pytest.approx(wet[15, 0] - 60.0, abs=3.0)


def test_band_limit_cuts_only_the_top_bands():
    from seqae.data.augment import limit_band

    log_mel = np.random.default_rng(0).normal(-30, 5, size=(10, 40))
    cut = limit_band(log_mel, keep=0.75, cut_db=40.0)
    np.testing.assert_array_equal(cut[:, :30], log_mel[:, :30])
    assert np.all(cut[:, 30:] < log_mel[:, 30:]) and cut.min() >= log_mel.min()


def test_every_spectral_perturbation_counts_as_active():
    off = dict(warp=0, tempo=0, gain_db=0, noise_db=0)
    assert not AugmentConfig(**off).active
    assert AugmentConfig(**off, reverb=0.5).spectral and AugmentConfig(**off, band_limit=1).spectral
