"""Recurrent encoders: a variable-length sequence of frames in, one fixed vector out."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from seqae.config import ModelConfig
from seqae.models.registry import register_encoder

RNN_CLASSES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def stack_frames(
    x: torch.Tensor, lengths: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Join each run of ``k`` neighbouring frames into one: (B, T, D) -> (B, ceil(T/k), k*D).

    Fewer, wider steps make the recurrence shorter (faster, and easier to carry information
    across); a segment's last partial run is zero-padded.
    """
    if k == 1:
        return x, lengths
    batch, steps, dim = x.shape
    real = torch.arange(steps, device=x.device)[None, :] < lengths[:, None]  # (B, T)
    x = x * real.unsqueeze(-1)  # whatever stands in the padding must not leak into a step
    pad = (-steps) % k
    x = torch.nn.functional.pad(x, (0, 0, 0, pad))  # (B, T + pad, D)
    return x.reshape(batch, (steps + pad) // k, k * dim), (lengths + k - 1) // k


class RecurrentEncoder(nn.Module):
    """A stacked (optionally bidirectional) Elman RNN, LSTM or GRU.

    The embedding is a projection of the top layer's final states (both directions), as in
    Audio Word2Vec: the last state has read the whole segment. ``rnn_class`` and
    ``rnn_options`` let a variant keep this wiring with another core (see the IRNN below).
    """

    def __init__(
        self,
        config: ModelConfig,
        rnn_class: type[nn.RNNBase] | None = None,
        **rnn_options: Any,
    ) -> None:
        super().__init__()
        self.config = config
        self.rnn = (rnn_class or RNN_CLASSES[config.cell])(
            input_size=config.input_dim * config.frame_stack,
            hidden_size=config.hidden_size,
            num_layers=config.layers,
            bidirectional=config.bidirectional,
            dropout=config.dropout if config.layers > 1 else 0.0,
            batch_first=True,
            **rnn_options,
        )
        directions = 2 if config.bidirectional else 1
        self.project = nn.Linear(directions * config.hidden_size, config.embedding_dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x: (B, T, input_dim), lengths: (B,) -> embedding (B, embedding_dim)."""
        x, lengths = stack_frames(x, lengths, self.config.frame_stack)  # (B, T / k, k * D)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, state = self.rnn(packed)
        h_n = state[0] if isinstance(state, tuple) else state  # (layers * dirs, B, H)
        directions = 2 if self.config.bidirectional else 1
        top = h_n.view(self.config.layers, directions, x.size(0), -1)[-1]  # (dirs, B, H)
        top = top.transpose(0, 1).reshape(x.size(0), -1)  # (B, dirs * H)
        return self.project(top)  # (B, E)


# the tanh RNN does not learn at the gated cells' rate of 4e-3 (bench/objectives.py)
LEARNING_RATES = {"rnn": 1e-3, "lstm": 4e-3, "gru": 4e-3}
for _cell in RNN_CLASSES:
    register_encoder(_cell, learning_rate=LEARNING_RATES[_cell])(RecurrentEncoder)


IRNN_INPUT_STD = 0.001


@register_encoder("irnn", learning_rate=5e-4)  # diverges at 4e-3
class IdentityRNNEncoder(RecurrentEncoder):
    """Le, Jaitly and Hinton's IRNN (2015): a ReLU Elman RNN whose recurrence starts as identity.

    At initialisation each step copies the state and adds a tiny input term, so neither the
    state nor its gradient shrinks or grows over time; a plain tanh RNN forgets within a
    few steps instead.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config, nn.RNN, nonlinearity="relu")
        with torch.no_grad():
            for name, weight in self.rnn.named_parameters():
                if name.startswith("weight_hh"):
                    weight.copy_(torch.eye(config.hidden_size))
                elif name.startswith("weight_ih"):
                    weight.normal_(0.0, IRNN_INPUT_STD)
                else:  # bias_ih and bias_hh
                    weight.zero_()
