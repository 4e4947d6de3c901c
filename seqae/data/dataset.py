"""Datasets of log-mel segments: (encoder input, reconstruction target) pairs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from seqae.audio import Stats, frames_from_log_mel
from seqae.config import FeatureConfig
from seqae.data.augment import AugmentConfig, augment_log_mel, mask_frames
from seqae.data.collate import pad_batch


class SegmentDataset(Dataset):
    """(encoder input, target, word group) items made from log-mel segments.

    The items are ``rows`` of ``log_mels`` (all of them by default). The target is the
    segment itself (autoencoder), or, given ``partners``, another instance of the same word
    (correspondence autoencoder): a random partner per draw while training, the first one when
    ``shuffle_partners`` is off (validation). Rows without partners are then left out. With
    augmentation the input is computed from a perturbed log-mel; the target stays clean. The
    group is a word id: rows joined by partners share one (the siamese objective's negatives
    come from other groups). ``stats`` are the rows' speakers' feature statistics, for
    features normalised per speaker.

    With ``unpaired`` a row without partners is kept, as its own partner. For a contrastive
    objective (``views``) both members of an item are perturbed copies (so an unpaired row
    meets a second perturbed copy of itself).
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
        views: bool = False,
        stats: Sequence[Stats | None] | None = None,
        unpaired: bool = False,
    ):
        self.log_mels = [m[:max_frames] if max_frames else m for m in log_mels]
        self.features = features
        self.augment = augment if augment is not None and augment.active else None
        rows = list(range(len(log_mels))) if rows is None else [int(r) for r in rows]
        if partners is not None and not (views or unpaired):
            rows = [r for r in rows if len(partners[r])]
        self.rows, self.partners, self.shuffle_partners = rows, partners, shuffle_partners
        self.views = views
        self.stats = list(stats) if stats is not None else [None] * len(log_mels)
        self.groups = word_groups(partners) if partners is not None else np.arange(len(log_mels))
        self._targets: dict[int, np.ndarray] = {}
        self.rng = np.random.default_rng(seed)

    def _target(self, row: int) -> np.ndarray:
        if row not in self._targets:
            self._targets[row] = frames_from_log_mel(
                self.log_mels[row], self.features, self.stats[row]
            )
        return self._targets[row]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray, int]:
        row = self.rows[index]
        target_row = row
        if self.partners is not None and len(self.partners[row]):
            options = self.partners[row]
            pick = self.rng.integers(len(options)) if self.shuffle_partners else 0
            target_row = int(options[pick])
        group = int(self.groups[row])
        target = self._perturbed(target_row) if self.views else self._target(target_row)
        return self._perturbed(row), target, group

    def _perturbed(self, row: int) -> np.ndarray:
        """The row's frames through one random draw of the perturbations (clean without)."""
        if self.augment is None:
            return self._target(row)
        frames = self._target(row)
        if self.augment.spectral:
            noisy = augment_log_mel(self.log_mels[row], self.augment, self.rng)
            frames = frames_from_log_mel(noisy, self.features, self.stats[row])
        if self.augment.masking:
            frames = mask_frames(frames, self.augment, self.rng)
        return frames

    def clean_frames(self, rows: Sequence[int]) -> list[np.ndarray]:
        """The unperturbed frames of these rows of ``log_mels`` (any rows, not only this
        dataset's)."""
        return [self._target(int(row)) for row in rows]

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
