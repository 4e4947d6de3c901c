"""Datasets of log-mel segments: (encoder input, reconstruction target) pairs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from seqae.config import FeatureConfig
from seqae.data.augment import AugmentConfig, augment_log_mel, mask_frames
from seqae.data.collate import pad_batch
from seqae.features import frames_from_log_mel


class SegmentDataset(Dataset):
    """(encoder input, target, word group) items made from log-mel segments.

    The items are ``rows`` of ``log_mels`` (all of them by default). The target is the
    segment itself (autoencoder), or, given ``partners``, another instance of the same word
    (correspondence autoencoder): a random partner per draw while training, the first one when
    ``shuffle_partners`` is off (validation). Rows without partners are then left out. With
    augmentation the input is computed from a perturbed log-mel; the target stays clean. The
    group is a word id: rows joined by partners share one (the siamese objective's negatives
    come from other groups).
    """

    def __init__(
        self,
        log_mels: list[np.ndarray],
        features: FeatureConfig,
        augment: AugmentConfig | None = None,
        max_frames: int = 0,
        seed: int = 0,
        rows: Sequence[int] | None = None,
        partners: Sequence[Sequence[int]] | None = None,
        shuffle_partners: bool = True,
    ):
        self.log_mels = [m[:max_frames] if max_frames else m for m in log_mels]
        self.features = features
        self.augment = augment if augment is not None and augment.active else None
        rows = list(range(len(log_mels))) if rows is None else [int(r) for r in rows]
        if partners is not None:
            rows = [r for r in rows if len(partners[r])]
        self.rows, self.partners, self.shuffle_partners = rows, partners, shuffle_partners
        self.groups = word_groups(partners) if partners is not None else np.arange(len(log_mels))
        self._targets: dict[int, np.ndarray] = {}
        self.rng = np.random.default_rng(seed)

    def _target(self, row: int) -> np.ndarray:
        if row not in self._targets:
            self._targets[row] = frames_from_log_mel(self.log_mels[row], self.features)
        return self._targets[row]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray, int]:
        row = self.rows[index]
        target_row = row
        if self.partners is not None:
            options = self.partners[row]
            pick = self.rng.integers(len(options)) if self.shuffle_partners else 0
            target_row = int(options[pick])
        group = int(self.groups[row])
        if self.augment is None:
            return self._target(row), self._target(target_row), group
        source = self._target(row)
        if self.augment.spectral:
            noisy = augment_log_mel(self.log_mels[row], self.augment, self.rng)
            source = frames_from_log_mel(noisy, self.features)
        if self.augment.masking:
            source = mask_frames(source, self.augment, self.rng)
        return source, self._target(target_row), group

    @property
    def lengths(self) -> list[int]:
        return [len(self.log_mels[r]) for r in self.rows]


def partner_lists(pairs: np.ndarray, count: int) -> list[np.ndarray]:
    """Undirected (P, 2) row pairs -> for each of ``count`` rows, the rows paired with it."""
    partners: list[list[int]] = [[] for _ in range(count)]
    for a, b in np.asarray(pairs, dtype=np.int64).reshape(-1, 2):
        if a != b:
            partners[a].append(int(b))
            partners[b].append(int(a))
    return [np.array(sorted(set(p)), dtype=np.int64) for p in partners]


def word_groups(partners: Sequence[Sequence[int]]) -> np.ndarray:
    """(N,) group id per row: the connected components of the partner graph."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rows = np.repeat(np.arange(len(partners)), [len(p) for p in partners])
    cols = np.concatenate([np.asarray(p, dtype=np.int64) for p in partners] + [np.zeros(0, int)])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(partners),) * 2)
    return connected_components(graph, directed=False)[1]


def collate_pairs(items: list[tuple[np.ndarray, np.ndarray, int]]) -> tuple[torch.Tensor, ...]:
    """-> inputs (B, T, D), input lengths (B,), targets (B, T', D), target lengths (B,),
    groups (B,)."""
    inputs, input_lengths = pad_batch([item[0] for item in items])
    targets, target_lengths = pad_batch([item[1] for item in items])
    groups = torch.tensor([item[2] for item in items], dtype=torch.long)
    return inputs, input_lengths, targets, target_lengths, groups


def split_indices(count: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split into train and validation row numbers (validation may be empty)."""
    order = np.random.default_rng(seed).permutation(count)
    n_val = int(round(count * val_fraction)) if count >= 10 else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])
