"""Datasets of log-mel segments: (encoder input, reconstruction target) pairs."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from seqae.config import FeatureConfig
from seqae.data.augment import AugmentConfig, augment_log_mel
from seqae.data.collate import pad_batch
from seqae.features import frames_from_log_mel


class SegmentDataset(Dataset):
    """Pairs of (encoder input, reconstruction target) frames made from log-mel segments.

    Without augmentation both are the segment's frames; with it, the input is computed from a
    perturbed log-mel and the target stays clean.
    """

    def __init__(
        self,
        log_mels: list[np.ndarray],
        features: FeatureConfig,
        augment: AugmentConfig | None = None,
        max_frames: int = 0,
        seed: int = 0,
    ):
        self.log_mels = [m[:max_frames] if max_frames else m for m in log_mels]
        self.features = features
        self.augment = augment if augment is not None and augment.active else None
        self.targets = [frames_from_log_mel(m, features) for m in self.log_mels]
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.log_mels)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        target = self.targets[index]
        if self.augment is None:
            return target, target
        noisy = augment_log_mel(self.log_mels[index], self.augment, self.rng)
        return frames_from_log_mel(noisy, self.features), target

    @property
    def lengths(self) -> list[int]:
        return [len(m) for m in self.log_mels]


def collate_pairs(items: list[tuple[np.ndarray, np.ndarray]]) -> tuple[torch.Tensor, ...]:
    """-> inputs (B, T, D), input lengths (B,), targets (B, T', D), target lengths (B,)."""
    inputs, input_lengths = pad_batch([item[0] for item in items])
    targets, target_lengths = pad_batch([item[1] for item in items])
    return inputs, input_lengths, targets, target_lengths


def split_indices(count: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split into train and validation row numbers (validation may be empty)."""
    order = np.random.default_rng(seed).permutation(count)
    n_val = int(round(count * val_fraction)) if count >= 10 else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])
