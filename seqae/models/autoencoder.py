"""The sequence autoencoder: encoder -> fixed embedding -> decoder -> rebuilt frames."""

from __future__ import annotations

import torch
from torch import nn

from seqae.config import ModelConfig
from seqae.models.decoders import RecurrentDecoder
from seqae.models.padding import length_mask, reverse_padded
from seqae.models.registry import build_encoder

__all__ = ["SequenceAutoencoder", "length_mask", "masked_mse", "reverse_padded"]


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
        # scheduled sampling's current probability (0 up to config.sampling); the training
        # loop ramps it up over the epochs. A plain attribute, so not part of the weights.
        self.sampling_probability = 0.0
        # Each embedding dimension's mean and deviation over the training segments, set once
        # training ends: embeddings are standardised with them, so no dimension dominates
        # the cosine similarity by its spread alone. Identity while training.
        self.register_buffer("embedding_mean", torch.zeros(config.embedding_dim))
        self.register_buffer("embedding_scale", torch.ones(config.embedding_dim))

    def embed(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x: (B, T, D) -> (B, E), standardised with the training segments' statistics."""
        return (self.encoder(x, lengths) - self.embedding_mean) / self.embedding_scale

    def set_embedding_statistics(self, mean: torch.Tensor, scale: torch.Tensor) -> None:
        """Standardise embeddings with this (E,) mean and (E,) deviation from now on."""
        self.embedding_mean.copy_(mean)
        self.embedding_scale.copy_(scale.clamp(min=1e-6))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, T, D) -> (reconstruction (B, T, D), embedding (B, E)).

        A teacher-forced decoder has no true frames here and reads its own predictions.
        """
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
        to unroll. A teacher-forced decoder is forced with the target's frames, in the order
        it rebuilds them.
        """
        if target is None:
            target, target_lengths = x, lengths
        if self.config.reverse_target:
            target = reverse_padded(target, target_lengths)  # (B, T', D)
        z = self.encoder(x, lengths)  # (B, E)
        reconstruction = self.decoder(
            z, target_lengths, target.size(1), target, self.sampling_probability
        )  # (B, T', D)
        return masked_mse(reconstruction, target, target_lengths)
