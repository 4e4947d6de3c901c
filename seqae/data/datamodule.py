"""The LightningDataModule that serves length-bucketed batches of segment pairs."""

from __future__ import annotations

import pytorch_lightning as pl
from torch.utils.data import DataLoader

from seqae.data.dataset import SegmentDataset, collate_pairs
from seqae.data.sampler import BucketBatchSampler


class SequenceDataModule(pl.LightningDataModule):
    """Serves length-bucketed, padded batches of (input, target) segments."""

    def __init__(
        self, train: SegmentDataset, val: SegmentDataset | None, batch_size: int, seed: int
    ):
        super().__init__()
        self.train_set, self.val_set = train, val
        self.batch_size, self.seed = batch_size, seed

    def _loader(self, dataset: SegmentDataset, shuffle: bool) -> DataLoader:
        sampler = BucketBatchSampler(
            dataset.lengths, self.batch_size, shuffle=shuffle, seed=self.seed
        )
        return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate_pairs)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader(self.val_set, shuffle=False) if self.val_set is not None else []
