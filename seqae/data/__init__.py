"""Datasets, collate, bucketing sampler and augmentation.

The LightningDataModule lives in ``seqae.data.datamodule`` and is not imported here, so that
inference (which needs ``pad_batch``) does not pay for importing Lightning.
"""

from seqae.data.augment import AugmentConfig, augment_log_mel
from seqae.data.collate import pad_batch
from seqae.data.dataset import SegmentDataset, collate_pairs, partner_lists, split_indices
from seqae.data.sampler import BucketBatchSampler

__all__ = [
    "AugmentConfig",
    "BucketBatchSampler",
    "SegmentDataset",
    "augment_log_mel",
    "collate_pairs",
    "pad_batch",
    "partner_lists",
    "split_indices",
]
