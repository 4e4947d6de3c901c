"""Recurrent decoders: one fixed vector in, a sequence of frames of a given length out."""

from __future__ import annotations

import torch
from torch import nn

from seqae.config import ModelConfig
from seqae.models.encoders import RNN_CLASSES


class RecurrentDecoder(nn.Module):
    """Unrolls a GRU (or LSTM/RNN, following the encoder's cell) for T steps.

    The embedding is fed at every step and also sets the initial state, so the decoder can
    never forget what it is rebuilding. With ``decoder_position`` each step also gets its
    relative position in the segment (0 at the first frame, 1 at the last), so the embedding
    need not spend capacity on counting frames and can describe the sound's trajectory instead.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.initial = nn.Linear(
            config.embedding_dim, config.decoder_layers * config.decoder_hidden_size
        )
        self.rnn = RNN_CLASSES[config.cell](
            input_size=config.embedding_dim + (1 if config.decoder_position else 0),
            hidden_size=config.decoder_hidden_size,
            num_layers=config.decoder_layers,
            batch_first=True,
        )
        self.output = nn.Linear(config.decoder_hidden_size, config.input_dim)

    def forward(self, z: torch.Tensor, lengths: torch.Tensor, steps: int) -> torch.Tensor:
        """z: (B, E), lengths: (B,) -> frames (B, steps, input_dim)."""
        batch = z.size(0)
        h0 = torch.tanh(self.initial(z))  # (B, layers * H)
        h0 = (
            h0.view(batch, self.config.decoder_layers, -1).transpose(0, 1).contiguous()
        )  # (L, B, H)
        state = (h0, torch.zeros_like(h0)) if self.config.cell == "lstm" else h0
        inputs = z.unsqueeze(1).expand(batch, steps, z.size(1))  # (B, T, E)
        if self.config.decoder_position:
            steps_done = torch.arange(steps, device=z.device, dtype=z.dtype)[None, :]  # (1, T)
            span = (lengths.to(z.dtype) - 1).clamp(min=1)[:, None]  # (B, 1)
            position = (steps_done / span).clamp(max=1.0).unsqueeze(-1)  # (B, T, 1)
            inputs = torch.cat([inputs, position], dim=-1)  # (B, T, E + 1)
        out, _ = self.rnn(inputs, state)  # (B, T, H); padded steps come last and never leak back
        return self.output(out)  # (B, T, input_dim)
