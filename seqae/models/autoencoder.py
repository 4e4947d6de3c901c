"""The sequence autoencoder: encoder -> fixed embedding -> decoder -> rebuilt frames."""

from __future__ import annotations

import torch
from torch import nn

from seqae.config import ModelConfig
from seqae.models.decoders import RecurrentDecoder
from seqae.models.registry import build_encoder


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


def masked_mse(
    prediction: torch.Tensor, target: torch.Tensor, lengths: torch.Tensor
) -> torch.Tensor:
    """Mean squared error over real frames only (padding contributes nothing)."""
    mask = length_mask(lengths, target.size(1)).unsqueeze(-1).to(target.dtype)  # (B, T, 1)
    squared = (prediction - target) ** 2 * mask
    return squared.sum() / (mask.sum() * target.size(-1)).clamp(min=1.0)


class SequenceAutoencoder(nn.Module):
    """Audio Word2Vec's sequence autoencoder; the encoder's output is the embedding."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = build_encoder(config)
        self.decoder = RecurrentDecoder(config)

    def embed(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x: (B, T, D) -> (B, E)."""
        return self.encoder(x, lengths)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, T, D) -> (reconstruction (B, T, D), embedding (B, E))."""
        z = self.encoder(x, lengths)
        return self.decoder(z, lengths, x.size(1)), z

    def loss(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor,
        target: torch.Tensor | None = None,
        target_lengths: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Masked reconstruction loss of ``target`` (default: the input itself) from ``x``.

        A target other than the input gives the denoising objective (a clean copy of a
        perturbed input); it may differ in length, since the decoder is told how many steps
        to unroll.
        """
        if target is None:
            target, target_lengths = x, lengths
        z = self.encoder(x, lengths)  # (B, E)
        reconstruction = self.decoder(z, target_lengths, target.size(1))  # (B, T', D)
        if self.config.reverse_target:
            target = reverse_padded(target, target_lengths)
        return masked_mse(reconstruction, target, target_lengths)
