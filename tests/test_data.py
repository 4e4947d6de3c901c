from __future__ import annotations

import numpy as np

from seqae.data import BucketBatchSampler, pad_batch, split_indices


def test_bucketing_covers_everything_once_with_compact_batches():
    lengths = np.random.default_rng(0).integers(5, 200, size=103)
    sampler = BucketBatchSampler(lengths, batch_size=10, seed=1)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 11
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(103))
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    assert spread < 0.25 * np.ptp(lengths)  # random batches would spread over ~the whole range
    assert [b for b in sampler] != batches  # a new order each epoch


def test_a_resumed_run_gets_its_epochs_batch_order_from_lightning():
    from lightning_fabric.utilities.data import _set_sampler_epoch  # what the fit loop calls
    from torch.utils.data import DataLoader

    lengths = np.random.default_rng(0).integers(5, 200, size=50)
    uninterrupted = BucketBatchSampler(lengths, batch_size=8, seed=3)
    orders = [list(uninterrupted) for _ in range(4)]  # epochs 0..3
    resumed = BucketBatchSampler(lengths, batch_size=8, seed=3)  # a new process, at epoch 2
    loader = DataLoader(range(50), batch_sampler=resumed)
    _set_sampler_epoch(loader, 2)
    assert list(resumed) == orders[2]
    _set_sampler_epoch(loader, 3)
    assert list(resumed) == orders[3] != orders[0]


def test_pad_batch():
    batch, lengths = pad_batch([np.ones((3, 2)), np.ones((5, 2))])
    assert batch.shape == (2, 5, 2) and lengths.tolist() == [3, 5]
    assert batch[0, 3:].abs().sum() == 0


def test_split_is_seeded_and_disjoint():
    train, val = split_indices(50, 0.2, seed=4)
    assert len(val) == 10 and not set(train) & set(val)
    assert (split_indices(50, 0.2, seed=4)[1] == val).all()
