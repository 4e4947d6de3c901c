"""Datasets, collate, bucketing sampler, augmentation and the DataModule."""

from seqae.data.augment import AugmentConfig, augment_log_mel
from seqae.data.collate import pad_batch
from seqae.data.datamodule import SegmentDataset, SequenceDataModule, collate_pairs, split_indices
from seqae.data.sampler import BucketBatchSampler

__all__ = [
    "AugmentConfig",
    "BucketBatchSampler",
    "SegmentDataset",
    "SequenceDataModule",
    "augment_log_mel",
    "collate_pairs",
    "pad_batch",
    "split_indices",
]
