"""A pyramidal GRU encoder (Listen, Attend and Spell; Chan et al. 2016).

Each layer after the first reads pairs of neighbouring outputs of the layer below joined
into one step, so the time resolution halves per layer: the top layer summarises a long
segment in few steps, and its final state has a short path back to every frame.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqae.config import ModelConfig
from seqae.models.encoders import stack_frames
from seqae.models.registry import register_encoder


@register_encoder("pyramidal")
class PyramidalEncoder(nn.Module):
    """Stacked (optionally bidirectional) GRU layers, each at half the rate of the one below.

    The embedding is a projection of the top layer's final states (both directions).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        directions = 2 if config.bidirectional else 1
        widths = [config.input_dim * config.frame_stack]
        widths += [2 * directions * config.hidden_size] * (config.layers - 1)  # joined pairs
        self.layers = nn.ModuleList(
            nn.GRU(
                input_size=width,
                hidden_size=config.hidden_size,
                bidirectional=config.bidirectional,
                batch_first=True,
            )
            for width in widths
        )
        self.dropout = nn.Dropout(config.dropout)
        self.project = nn.Linear(directions * config.hidden_size, config.embedding_dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x: (B, T, input_dim), lengths: (B,) -> embedding (B, embedding_dim)."""
        batch = x.size(0)
        x, lengths = stack_frames(x, lengths, self.config.frame_stack)  # (B, T / k, k * D)
        for depth, layer in enumerate(self.layers):
            if depth > 0:
                x = self.dropout(x)
                # stack_frames zeroes each sequence's padding first, so an odd length's last
                # frame is joined with zeros rather than with whatever the padding holds
                x, lengths = stack_frames(x, lengths, 2)  # (B, ceil(T' / 2), 2 * dirs * H)
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, h_n = layer(packed)  # h_n: (dirs, B, H)
            x, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
            # x: (B, T', dirs * H)
        top = h_n.transpose(0, 1).reshape(batch, -1)  # (B, dirs * H)
        return self.project(top)  # (B, E)
