"""The LightningDataModule that serves length-bucketed batches of segment pairs."""

from __future__ import annotations

import logging

import pytorch_lightning as pl
from torch.utils.data import DataLoader

from seqae.data.dataset import SegmentDataset, collate_pairs
from seqae.data.sampler import BucketBatchSampler

logger = logging.getLogger(__name__)


class SequenceDataModule(pl.LightningDataModule):
    """Serves length-bucketed, padded batches of (input, target) segments.

    Under data-parallel training each process gets its own share of the batches (the trainer
    must not replace the sampler: ``use_distributed_sampler=False``).
    """

    def __init__(
        self,
        train: SegmentDataset,
        val: SegmentDataset | None,
        batch_size: int,
        seed: int,
        workers: int = 0,
    ):
        super().__init__()
        self.train_set, self.val_set = train, val
        self.batch_size, self.seed, self.workers = batch_size, seed, workers

    def _loader(self, dataset: SegmentDataset, shuffle: bool) -> DataLoader:
        trainer = self.trainer
        rank, replicas = (trainer.global_rank, trainer.world_size) if trainer else (0, 1)
        sampler = BucketBatchSampler(
            dataset.lengths, self.batch_size, shuffle, self.seed, rank=rank, replicas=replicas
        )
        # Workers perturb and featurise the next batches while the model trains on this one;
        # they live for the whole fit, so each keeps its own stream of random draws.
        workers = self.workers if shuffle else 0
        return DataLoader(
            dataset,
            batch_sampler=sampler,
            collate_fn=collate_pairs,
            num_workers=workers,
            persistent_workers=workers > 0,
            worker_init_fn=_seed_worker if workers else None,
        )

    def train_dataloader(self) -> DataLoader:
        loader = self._loader(self.train_set, shuffle=True)
        sampler = loader.batch_sampler
        if sampler.replicas > 1:
            logger.info(
                "process %d of %d: %d batches per epoch",
                sampler.rank,
                sampler.replicas,
                len(sampler),
            )
        return loader

    def val_dataloader(self) -> DataLoader | list:
        return self._loader(self.val_set, shuffle=False) if self.val_set is not None else []


def _seed_worker(worker: int) -> None:
    """Give each loader worker its own random stream (a copy of the dataset's would repeat)."""
    import numpy as np
    from torch.utils.data import get_worker_info

    info = get_worker_info()
    info.dataset.rng = np.random.default_rng([info.seed % (2**32), worker])
