"""Recurrent decoders: one fixed vector in, a sequence of frames of a given length out."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqae.config import ModelConfig
from seqae.models.encoders import RNN_CLASSES


def decoder_cell(config: ModelConfig) -> str:
    """``config.decoder_cell``, else the encoder's cell if it is rnn/lstm/gru, else gru."""
    if config.decoder_cell:
        return config.decoder_cell
    return config.cell if config.cell in RNN_CLASSES else "gru"


class RecurrentDecoder(nn.Module):
    """Unrolls a GRU (or LSTM/RNN, see ``decoder_cell``) for T steps.

    The embedding is fed at every step and also sets the initial state, so the decoder can
    never forget what it is rebuilding. With ``decoder_position`` each step also gets its
    relative position in the segment (0 at the first frame, 1 at the last), so the embedding
    need not spend capacity on counting frames and can describe the sound's trajectory instead.

    With ``teacher_forcing`` each step also reads the previous frame (zeros at the first):
    the true one while training, so every step learns from a correct history; its own
    prediction when no target is given. Scheduled sampling (Bengio et al. 2015) feeds its own
    prediction instead of the true frame with probability ``sampling`` while training, so the
    decoder also learns to recover from its own mistakes, as it must at inference.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.cell = decoder_cell(config)
        inputs = config.embedding_dim + (1 if config.decoder_position else 0)
        inputs += config.input_dim if config.teacher_forcing else 0
        self.initial = nn.Linear(
            config.embedding_dim, config.decoder_layers * config.decoder_hidden_size
        )
        self.rnn = RNN_CLASSES[self.cell](
            input_size=inputs,
            hidden_size=config.decoder_hidden_size,
            num_layers=config.decoder_layers,
            batch_first=True,
        )
        self.output = nn.Linear(config.decoder_hidden_size, config.input_dim)

    def forward(
        self,
        z: torch.Tensor,
        lengths: torch.Tensor,
        steps: int,
        target: torch.Tensor | None = None,
        sampling: float = 0.0,
    ) -> torch.Tensor:
        """z: (B, E), lengths: (B,) -> frames (B, steps, input_dim).

        ``target`` (B, steps, input_dim) holds the frames to force with; it is only read
        with ``teacher_forcing``.
        """
        state = self.initial_state(z)
        inputs = self.conditioning(z, lengths, steps)  # (B, T, E [+ 1])
        if not self.config.teacher_forcing:
            out, _ = self.rnn(inputs, state)  # (B, T, H); padded steps come last, never leak back
            return self.output(out)  # (B, T, input_dim)
        if target is not None and (sampling == 0.0 or not self.training):
            # every previous frame is known in advance: one pass over the whole sequence
            previous = F.pad(target[:, :-1], (0, 0, 1, 0))  # (B, T, input_dim), zeros first
            out, _ = self.rnn(torch.cat([inputs, previous], dim=-1), state)  # (B, T, H)
            return self.output(out)  # (B, T, input_dim)
        return self.unroll(inputs, state, target, 1.0 if target is None else sampling)

    def initial_state(self, z: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """z: (B, E) -> the RNN's initial state, (L, B, H) (a pair of them for an LSTM)."""
        h0 = torch.tanh(self.initial(z))  # (B, L * H)
        h0 = h0.view(z.size(0), self.config.decoder_layers, -1).transpose(0, 1).contiguous()
        return (h0, torch.zeros_like(h0)) if self.cell == "lstm" else h0  # (L, B, H)

    def conditioning(self, z: torch.Tensor, lengths: torch.Tensor, steps: int) -> torch.Tensor:
        """What every step reads besides the previous frame: (B, steps, E [+ 1])."""
        inputs = z.unsqueeze(1).expand(z.size(0), steps, z.size(1))  # (B, T, E)
        if not self.config.decoder_position:
            return inputs
        steps_done = torch.arange(steps, device=z.device, dtype=z.dtype)[None, :]  # (1, T)
        span = (lengths.to(z.device, z.dtype) - 1).clamp(min=1)[:, None]  # (B, 1)
        position = (steps_done / span).clamp(max=1.0).unsqueeze(-1)  # (B, T, 1)
        return torch.cat([inputs, position], dim=-1)  # (B, T, E + 1)

    def unroll(
        self,
        inputs: torch.Tensor,
        state: torch.Tensor | tuple[torch.Tensor, torch.Tensor],
        target: torch.Tensor | None,
        sampling: float,
    ) -> torch.Tensor:
        """One step at a time, each reading the previous frame: the decoder's own prediction
        with probability ``sampling`` (always, without ``target``), else the true frame.

        inputs: (B, T, E [+ 1]) -> frames (B, T, input_dim).
        """
        batch, steps, _ = inputs.shape
        frame = inputs.new_zeros(batch, 1, self.config.input_dim)  # (B, 1, D)
        frames = []
        for t in range(steps):
            out, state = self.rnn(torch.cat([inputs[:, t : t + 1], frame], dim=-1), state)
            prediction = self.output(out)  # (B, 1, D)
            frames.append(prediction)
            # a fed-back prediction is an input like a sampled token, not a path for gradients
            frame = prediction.detach()
            if target is not None:
                own = torch.rand(batch, 1, 1, device=inputs.device) < sampling  # per sequence
                frame = torch.where(own, frame, target[:, t : t + 1])
        return torch.cat(frames, dim=1)  # (B, T, D)
