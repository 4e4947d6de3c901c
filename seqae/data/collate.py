"""Pad a list of (T_i, D) frame arrays into one batch with lengths."""

from __future__ import annotations

import numpy as np
import torch


def pad_batch(sequences: list[np.ndarray | torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Return padded frames (B, T_max, D) float32 and lengths (B,) int64."""
    tensors = [torch.as_tensor(s, dtype=torch.float32) for s in sequences]
    lengths = torch.tensor([t.size(0) for t in tensors], dtype=torch.int64)
    batch = torch.zeros(len(tensors), int(lengths.max()), tensors[0].size(1))  # (B, T, D)
    for row, tensor in enumerate(tensors):
        batch[row, : tensor.size(0)] = tensor
    return batch, lengths
