"""A clockwork RNN encoder (Koutník, Greff, Gomez and Schmidhuber 2014).

The hidden units are split into modules that tick at periods 1, 2, 4, ...: a slow module
updates only every few steps and keeps its state in between, so it holds on to context over
long spans without the fast modules' step-by-step noise. Slow modules feed the fast ones
(context flows down), never the other way.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from seqae.config import ModelConfig
from seqae.errors import SeqaeError
from seqae.models.encoders import stack_frames
from seqae.models.padding import length_mask, reverse_padded
from seqae.models.registry import register_encoder


def clock_periods(hidden_size: int, modules: int) -> torch.Tensor:
    """(hidden_size,) period of each unit: module i, of near-equal size, ticks every 2**i steps."""
    sizes = [hidden_size // modules + int(i < hidden_size % modules) for i in range(modules)]
    return torch.cat([torch.full((size,), 2**i) for i, size in enumerate(sizes)])


class ClockworkCore(nn.Module):
    """One direction of one clockwork layer: a tanh RNN whose modules tick at their own rates."""

    def __init__(self, input_size: int, hidden_size: int, modules: int) -> None:
        super().__init__()
        if not 1 <= modules <= hidden_size:
            raise SeqaeError(
                f"clockwork needs 1 to hidden_size ({hidden_size}) modules, got {modules}"
            )
        self.input = nn.Linear(input_size, hidden_size)
        self.recurrent = nn.Parameter(torch.empty(hidden_size, hidden_size))
        bound = 1.0 / math.sqrt(hidden_size)  # nn.RNN's initialisation
        nn.init.uniform_(self.recurrent, -bound, bound)
        periods = clock_periods(hidden_size, modules)
        # unit u reads unit v only if v ticks no faster than u: a block-triangular recurrence.
        # Both are derived from the config, so they stay out of the state dict.
        self.register_buffer("periods", periods, persistent=False)
        self.register_buffer("connections", periods[None, :] >= periods[:, None], persistent=False)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, T, D_in), lengths: (B,) -> (states (B, T, H), final states (B, H)).

        Step t counts from each sequence's first frame; past a sequence's length its state is
        frozen, so the final state is the one at its own last real step.
        """
        batch, steps, _ = x.shape
        drive = self.input(x)  # (B, T, H)
        recurrent = self.recurrent * self.connections  # (H, H)
        steps_done = torch.arange(steps, device=x.device)[:, None]  # (T, 1)
        clock = steps_done % self.periods[None, :] == 0  # (T, H): True where a unit ticks
        active = length_mask(lengths.to(x.device), steps)[:, :, None] & clock[None]  # (B, T, H)
        h = drive.new_zeros(batch, recurrent.size(0))  # (B, H)
        states = []
        for t in range(steps):
            # every unit is computed and the idle ones keep their old state: one matmul per
            # step instead of one per active module
            candidate = torch.tanh(drive[:, t] + h @ recurrent.T)  # (B, H)
            h = torch.where(active[:, t], candidate, h)
            states.append(h)
        return torch.stack(states, dim=1), h  # (B, T, H), (B, H)


class ClockworkLayer(nn.Module):
    """A clockwork layer read left to right and, if bidirectional, also right to left."""

    def __init__(self, input_size: int, config: ModelConfig) -> None:
        super().__init__()
        size, modules = config.hidden_size, config.clockwork_modules
        self.left_to_right = ClockworkCore(input_size, size, modules)
        self.right_to_left = (
            ClockworkCore(input_size, size, modules) if config.bidirectional else None
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, T, D_in) -> (states (B, T, dirs * H), final states (B, dirs * H))."""
        states, final = self.left_to_right(x, lengths)
        if self.right_to_left is None:
            return states, final
        # reversed within each length, padding stays last and the backward clock starts at
        # each sequence's own last frame
        back_states, back_final = self.right_to_left(reverse_padded(x, lengths), lengths)
        back_states = reverse_padded(back_states, lengths)  # (B, T, H), in input order
        return torch.cat([states, back_states], dim=-1), torch.cat([final, back_final], dim=-1)


@register_encoder("clockwork", learning_rate=1e-3)  # tanh units, as the plain RNN
class ClockworkEncoder(nn.Module):
    """Stacked clockwork layers; each reads all the states of the layer below.

    The embedding is a projection of the top layer's final states (both directions).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        directions = 2 if config.bidirectional else 1
        widths = [config.input_dim * config.frame_stack]
        widths += [directions * config.hidden_size] * (config.layers - 1)
        self.layers = nn.ModuleList(ClockworkLayer(width, config) for width in widths)
        self.dropout = nn.Dropout(config.dropout)
        self.project = nn.Linear(directions * config.hidden_size, config.embedding_dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x: (B, T, input_dim), lengths: (B,) -> embedding (B, embedding_dim)."""
        x, lengths = stack_frames(x, lengths, self.config.frame_stack)  # (B, T / k, k * D)
        for depth, layer in enumerate(self.layers):
            if depth > 0:
                x = self.dropout(x)
            x, final = layer(x, lengths)  # (B, T / k, dirs * H), (B, dirs * H)
        return self.project(final)  # (B, E)
