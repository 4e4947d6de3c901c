"""The sentence autoencoder: token ids -> registered encoder -> fixed vector -> token decoder.

The encoder is any encoder of the registry (the same ones that read speech frames), reading one
token embedding per step. The decoder predicts the sentence's tokens one at a time with
cross-entropy, reading the previous true token (teacher forcing) and the sentence's vector at
every step. Optionally the vector is a sample from a Gaussian whose mean is the embedding
(a variational bottleneck, Bowman et al. 2016), and some of the decoder's input tokens are
replaced by <unk> (word dropout), so that the decoder must lean on the vector rather than on
the words it has already read.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqae.models.encoders import RNN_CLASSES
from seqae.models.padding import length_mask
from seqae.models.registry import build_encoder
from seqae.text.config import TextModelConfig
from seqae.text.tokenizers import BOS, EOS, PAD, UNK

RecurrentState = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


def decoder_targets(ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Token ids (B, T) -> decoder inputs (B, T + 1) starting with <bos>, targets (B, T + 1)
    ending with <eos>, and their lengths (B,)."""
    batch = ids.size(0)
    bos = ids.new_full((batch, 1), BOS)
    inputs = torch.cat([bos, ids], dim=1)  # (B, T + 1)
    targets = torch.cat([ids, ids.new_full((batch, 1), PAD)], dim=1)  # (B, T + 1)
    targets[torch.arange(batch), lengths] = EOS  # right after each sentence's last token
    return inputs, targets, lengths + 1


def word_dropout(inputs: torch.Tensor, rate: float) -> torch.Tensor:
    """Replace a share ``rate`` of the decoder's input tokens (never <bos> or padding) by <unk>."""
    if rate <= 0.0:
        return inputs
    drop = torch.rand(inputs.shape, device=inputs.device) < rate  # (B, T)
    drop &= (inputs != BOS) & (inputs != PAD)
    return inputs.masked_fill(drop, UNK)


def kl_divergence(mean: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, var) || N(0, I)) per sentence: (B, E), (B, E) -> (B,)."""
    return -0.5 * (1 + log_variance - mean.pow(2) - log_variance.exp()).sum(dim=-1)


def kl_weight(step: int, anneal_steps: int) -> float:
    """The KL term's weight: rises linearly from 0 to 1 over ``anneal_steps`` optimiser steps."""
    return 1.0 if anneal_steps <= 0 else min(1.0, step / anneal_steps)


def adaptive_cutoffs(vocab_size: int) -> list[int]:
    """Where the adaptive softmax's frequency clusters start (ids are ranked by frequency)."""
    return [c for c in (1000, 4000) if c < vocab_size - 1]


class TokenOutput(nn.Module):
    """Decoder states -> token log-probabilities.

    A full softmax, or an adaptive one (Grave et al. 2017): the most frequent tokens in a
    small head, rarer ones in tail clusters of smaller width, which costs a fraction of a full
    softmax over a large vocabulary on a CPU. It assumes ids ranked by frequency, as the word
    and character vocabularies are.
    """

    def __init__(self, config: TextModelConfig) -> None:
        super().__init__()
        hidden, vocab = config.decoder_hidden_size, config.vocab_size
        cutoffs = adaptive_cutoffs(vocab) if config.softmax == "adaptive" else []
        self.adaptive = (
            nn.AdaptiveLogSoftmaxWithLoss(hidden, vocab, cutoffs, div_value=2.0)
            if cutoffs
            else None
        )
        self.linear = nn.Linear(hidden, vocab) if self.adaptive is None else None

    def log_prob(self, states: torch.Tensor) -> torch.Tensor:
        """states (N, H) -> log-probabilities (N, V)."""
        if self.adaptive is not None:
            return self.adaptive.log_prob(states)
        return self.linear(states).log_softmax(dim=-1)

    def nll(self, states: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """states (N, H), targets (N,) -> summed negative log-likelihood of the targets."""
        if self.adaptive is not None:
            return self.adaptive(states, targets).loss * targets.numel()
        return F.cross_entropy(self.linear(states), targets, reduction="sum")

    @torch.no_grad()
    def predict(self, states: torch.Tensor) -> torch.Tensor:
        """states (N, H) -> the most likely token of each (N,)."""
        if self.adaptive is not None:
            return self.adaptive.predict(states)
        return self.linear(states).argmax(dim=-1)


class TokenDecoder(nn.Module):
    """A GRU (or LSTM, RNN) that reads [previous token's embedding, sentence vector] per step.

    The sentence vector also sets the initial state, so the first token is already informed.
    """

    def __init__(self, config: TextModelConfig, embedding: nn.Embedding) -> None:
        super().__init__()
        self.config = config
        self.embedding = embedding  # shared with the encoder
        self.initial = nn.Linear(
            config.embedding_dim, config.decoder_layers * config.decoder_hidden_size
        )
        self.rnn = RNN_CLASSES[config.decoder_cell](
            input_size=config.token_dim + config.embedding_dim,
            hidden_size=config.decoder_hidden_size,
            num_layers=config.decoder_layers,
            batch_first=True,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.output = TokenOutput(config)

    def initial_state(self, z: torch.Tensor) -> RecurrentState:
        """z: (B, E) -> the RNN's initial state (L, B, H) (a pair of them for an LSTM)."""
        h0 = torch.tanh(self.initial(z))  # (B, L * H)
        h0 = h0.view(z.size(0), self.config.decoder_layers, -1).transpose(0, 1).contiguous()
        return (h0, torch.zeros_like(h0)) if self.config.decoder_cell == "lstm" else h0

    def forward(
        self, z: torch.Tensor, inputs: torch.Tensor, state: RecurrentState | None = None
    ) -> tuple[torch.Tensor, RecurrentState]:
        """z: (B, E), input tokens (B, T) -> output states (B, T, H) and the final state;
        ``output.log_prob`` turns the former into token log-probabilities."""
        state = self.initial_state(z) if state is None else state
        tokens = self.dropout(self.embedding(inputs))  # (B, T, token_dim)
        condition = z.unsqueeze(1).expand(-1, inputs.size(1), -1)  # (B, T, E)
        out, state = self.rnn(torch.cat([tokens, condition], dim=-1), state)  # (B, T, H)
        return self.dropout(out), state

    def step(
        self, z: torch.Tensor, tokens: torch.Tensor, state: RecurrentState | None
    ) -> tuple[torch.Tensor, RecurrentState]:
        """One step: z (B, E), previous tokens (B,) -> log-probabilities (B, V), new state."""
        out, state = self(z, tokens[:, None], state)  # (B, 1, H)
        return self.output.log_prob(out[:, 0]), state


class TextAutoencoder(nn.Module):
    """Token ids in, a fixed-size sentence vector in the middle, token logits out."""

    def __init__(self, config: TextModelConfig) -> None:
        super().__init__()
        if config.vocab_size < 5:
            raise ValueError(f"vocab_size must cover the 4 special tokens and more, not {config}")
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.token_dim, padding_idx=PAD)
        self.dropout = nn.Dropout(config.dropout)
        self.encoder = build_encoder(config.encoder_config())
        self.decoder = TokenDecoder(config, self.embedding)

    def posterior(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """ids: (B, T) -> mean (B, E) and log-variance (B, E); the latter is None unless the
        model is variational."""
        tokens = self.dropout(self.embedding(ids))  # (B, T, token_dim)
        out = self.encoder(tokens, lengths)  # (B, E) or (B, 2E)
        if not self.config.variational:
            return out, None
        mean, log_variance = out.chunk(2, dim=-1)  # (B, E) each
        return mean, log_variance.clamp(-10.0, 10.0)

    def embed(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """ids: (B, T) -> sentence vectors (B, E): the posterior mean if variational."""
        return self.posterior(ids, lengths)[0]

    def loss(
        self,
        inputs: torch.Tensor,
        input_lengths: torch.Tensor,
        targets: torch.Tensor,
        target_lengths: torch.Tensor,
        kl_scale: float = 1.0,
    ) -> dict[str, torch.Tensor]:
        """Rebuild ``targets`` (B, T') from ``inputs`` (B, T) (the same, or a noisy copy).

        Returns the loss (cross-entropy per token, plus the scaled KL spread over the tokens),
        its parts, and, out of training (it costs a full softmax), the share of tokens the
        teacher-forced decoder gets right.
        """
        mean, log_variance = self.posterior(inputs, input_lengths)  # (B, E)
        z = mean
        if log_variance is not None and self.training:
            z = mean + torch.randn_like(mean) * (0.5 * log_variance).exp()  # reparameterised
        previous, expected, lengths = decoder_targets(targets, target_lengths)  # (B, T' + 1)
        if self.training:
            previous = word_dropout(previous, self.config.word_dropout)
        states, _ = self.decoder(z, previous)  # (B, T' + 1, H)
        real = length_mask(lengths, expected.size(1))  # (B, T' + 1)
        count = real.sum().clamp(min=1)
        nll = self.decoder.output.nll(states[real], expected[real])  # over real tokens only
        kl = kl_divergence(mean, log_variance).sum() if log_variance is not None else nll * 0
        parts = {
            "loss": (nll + kl_scale * kl) / count,
            "cross_entropy": nll / count,
            "kl": kl / inputs.size(0),
        }
        if not self.training:
            right = self.decoder.output.predict(states[real]) == expected[real]
            parts["accuracy"] = right.float().mean()
        return parts
