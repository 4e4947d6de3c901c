"""Length-bucketed batches: little padding, and a fresh order every epoch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler


class BucketBatchSampler(Sampler[list[int]]):
    """Groups items of similar length into batches; shuffles within buckets and across batches.

    Items are sorted by length with a little random jitter, cut into batches, and the batch
    order is shuffled, so each batch is compact but the sequence of batches is not sorted.

    Under data-parallel training each of ``replicas`` processes builds the same batches (same
    seed and epoch) and takes every ``replicas``-th one from ``rank`` on; the list is padded
    with its first batches so every process runs the same number of steps.

    Each pass advances the epoch; ``set_epoch`` sets it, so a resumed run sees the batch
    order its epoch would have had, not the first epoch's again.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        rank: int = 0,
        replicas: int = 1,
    ):
        if not 0 <= rank < replicas:
            raise ValueError(f"rank {rank} is not in [0, {replicas})")
        self.lengths = np.asarray(lengths, dtype=np.float64)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.rank, self.replicas = rank, replicas
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass the order of ``epoch`` (Lightning calls it before each epoch,
        with the epoch a resumed run continues from)."""
        self.epoch = epoch

    @property
    def sampler(self) -> BucketBatchSampler:
        # Lightning sets the epoch of ``dataloader.batch_sampler.sampler``, not of a batch
        # sampler itself; answering for it routes that call here.
        return self

    def _batch_count(self) -> int:
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size

    def __len__(self) -> int:
        return (self._batch_count() + self.replicas - 1) // self.replicas

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng(self.seed + self.epoch)
        self.epoch += 1
        keys = self.lengths
        if self.shuffle:
            keys = keys * rng.uniform(0.9, 1.1, size=len(keys))  # jitter: new neighbours each epoch
        order = np.argsort(keys, kind="stable")
        batches = [
            order[i : i + self.batch_size].tolist() for i in range(0, len(order), self.batch_size)
        ]
        if self.shuffle:
            rng.shuffle(batches)
        if self.replicas > 1 and batches:
            padded = len(self) * self.replicas
            batches = [batches[i % len(batches)] for i in range(self.rank, padded, self.replicas)]
        return iter(batches)
