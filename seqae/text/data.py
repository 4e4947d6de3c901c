"""Token-id sentences as training items: (encoder input, reconstruction target) pairs.

The input is the sentence itself, or, for a denoising autoencoder (Hill et al. 2016), a copy
with some tokens dropped and some neighbours swapped; the target is always the clean sentence.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from seqae.data.sampler import BucketBatchSampler
from seqae.text.bundle import pad_ids


def add_token_noise(
    ids: np.ndarray, drop: float, swap: float, rng: np.random.Generator
) -> np.ndarray:
    """Drop each token with probability ``drop`` (keeping at least one), then swap each
    neighbouring pair with probability ``swap``."""
    kept = ids[rng.random(len(ids)) >= drop] if drop > 0 else ids.copy()
    if len(kept) == 0:
        kept = ids[[rng.integers(len(ids))]]  # one token, chosen at random
    if swap > 0:
        position = 0
        while position < len(kept) - 1:
            if rng.random() < swap:
                kept[[position, position + 1]] = kept[[position + 1, position]]
                position += 1  # a token moves at most one place
            position += 1
    return kept


class TokenDataset(Dataset):
    """``rows`` of ``sentences`` (token id arrays), each cut to ``max_tokens``."""

    def __init__(
        self,
        sentences: Sequence[np.ndarray],
        rows: Sequence[int],
        max_tokens: int = 0,
        drop: float = 0.0,
        swap: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.sentences = [s[:max_tokens] if max_tokens else s for s in sentences]
        self.rows = [int(r) for r in rows]
        self.drop, self.swap = drop, swap
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        target = self.sentences[self.rows[index]]
        if self.drop == 0 and self.swap == 0:
            return target, target
        return add_token_noise(target, self.drop, self.swap, self.rng), target

    @property
    def lengths(self) -> list[int]:
        return [len(self.sentences[r]) for r in self.rows]


def collate_tokens(items: list[tuple[np.ndarray, np.ndarray]]) -> tuple[torch.Tensor, ...]:
    """-> inputs (B, T), input lengths (B,), targets (B, T'), target lengths (B,)."""
    inputs, input_lengths = pad_ids([item[0].tolist() for item in items])
    targets, target_lengths = pad_ids([item[1].tolist() for item in items])
    return inputs, input_lengths, targets, target_lengths


class TokenDataModule(pl.LightningDataModule):
    """Serves length-bucketed, padded batches of sentences."""

    def __init__(
        self, train: TokenDataset, val: TokenDataset | None, batch_size: int, seed: int
    ) -> None:
        super().__init__()
        self.train_set, self.val_set = train, val
        self.batch_size, self.seed = batch_size, seed

    def _loader(self, dataset: TokenDataset, shuffle: bool) -> DataLoader:
        sampler = BucketBatchSampler(
            dataset.lengths, self.batch_size, shuffle=shuffle, seed=self.seed
        )
        return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate_tokens)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader(self.val_set, shuffle=False) if self.val_set is not None else []
