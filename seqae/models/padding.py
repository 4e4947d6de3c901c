"""Helpers for padded batches: each sequence's real frames come first, padding after."""

from __future__ import annotations

import torch


def length_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """(B,) lengths -> (B, steps) bool mask, True on real frames."""
    return torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence within its own length; padding stays at the end."""
    steps = x.size(1)
    positions = torch.arange(steps, device=x.device)[None, :]  # (1, T)
    index = (lengths[:, None] - 1 - positions).clamp(min=0)  # (B, T)
    index = torch.where(positions < lengths[:, None], index, positions)
    return x.gather(1, index.unsqueeze(-1).expand_as(x))
