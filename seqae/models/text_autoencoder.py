"""The sentence autoencoder: token ids -> registered encoder -> fixed vector -> token decoder.

The encoder is any encoder of the registry (the same ones that read speech frames), reading one
token embedding per step. The decoder predicts the sentence's tokens one at a time with
cross-entropy, reading the sentence's vector at every step. Optionally the vector is a sample
from a Gaussian whose mean is the embedding (a variational bottleneck, Bowman et al. 2016).

By default the decoder reads nothing else (the unconditioned decoder of Srivastava et al. 2015,
as for speech), or also an embedding of its step's index (``position_dim``). It then decodes
exactly as it was trained: a wrong word cannot lead it astray (no exposure bias), and greedy
decoding is as good as its training accuracy.

With ``feed_tokens`` it also reads the previous token: the true one in training (teacher
forcing), its own guess in decoding. Some of those inputs can be replaced by <unk> (word
dropout), so that the decoder must lean on the vector rather than on the words it has already
read, or by its own guesses (scheduled sampling). Such a decoder can also be told how many
tokens are left to write (Kikuchi et al. 2016's LenEmb): an embedding of that count joins its
input at every step; in training the count comes from the true sentence, in decoding from a
length predicted from the vector. Knowing where it stands, a decoder that got a word wrong goes
on with the right next word instead of drifting out of step with the rest of the sentence.

A decoder that reads no tokens may also run both ways (``decoder_bidirectional``): forwards from
the first token and backwards from the last, over as many steps as the sentence has tokens
(the true count in training, the count a head predicts from the vector in decoding). A
one-way decoder must carry its place through every step it has taken, and its accuracy falls
along the sentence; run both ways, each token is as near one end as the other.

The vector must then hold the sentence's length. Pulled hard towards it, the vector sets apart
sentences that differ by one dropped word, so the length head has a hidden layer (it need not
find the length along a line) and only a share ``length_pull`` of its gradient reaches the
vector.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqae.models.encoders import RNN_CLASSES
from seqae.models.padding import length_mask
from seqae.models.registry import build_encoder
from seqae.models.token_output import TokenOutput
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


def mix_in(inputs: torch.Tensor, own: torch.Tensor, rate: float) -> torch.Tensor:
    """Replace a share ``rate`` of the decoder's true input tokens (never <bos> or padding) by
    those of ``own`` (its own guesses, or <unk>): inputs, own (B, T) -> (B, T)."""
    if rate <= 0.0:
        return inputs
    use = torch.rand(inputs.shape, device=inputs.device) < rate  # (B, T)
    use &= (inputs != BOS) & (inputs != PAD)
    return torch.where(use, own, inputs)


def word_dropout(inputs: torch.Tensor, rate: float) -> torch.Tensor:
    """Replace a share ``rate`` of the decoder's input tokens (never <bos> or padding) by <unk>."""
    return mix_in(inputs, torch.full_like(inputs, UNK), rate)


def kl_divergence(mean: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, var) || N(0, I)) per sentence: (B, E), (B, E) -> (B,)."""
    return -0.5 * (1 + log_variance - mean.pow(2) - log_variance.exp()).sum(dim=-1)


def kl_weight(step: int, anneal_steps: int) -> float:
    """The KL term's weight: rises linearly from 0 to 1 over ``anneal_steps`` optimiser steps."""
    return 1.0 if anneal_steps <= 0 else min(1.0, step / anneal_steps)


def length_head(config: TextModelConfig) -> nn.Module:
    """Sentence vector (B, E) -> scores (B, max_length + 1) of its length in tokens.

    A hidden layer lets the head read the length from a vector that holds it in any form,
    not only along a line: the vector need not be stretched by length to serve it.
    """
    classes = config.max_length + 1
    if not config.length_head_hidden:
        return nn.Linear(config.embedding_dim, classes)
    return nn.Sequential(
        nn.Linear(config.embedding_dim, config.length_head_hidden),
        nn.Tanh(),
        nn.Linear(config.length_head_hidden, classes),
    )


def scale_gradient(x: torch.Tensor, scale: float) -> torch.Tensor:
    """x itself in the forward pass; in the backward pass only a share ``scale`` of the
    gradient flows back through it."""
    return x if scale == 1.0 else x.detach() + scale * (x - x.detach())


def steps_left(lengths: torch.Tensor, steps: int, cap: int) -> torch.Tensor:
    """Tokens still to write before <eos> at each decoder step: lengths (B,) -> (B, steps).

    Step t reads token t - 1 and predicts token t, so L - t are left; 0 where <eos> (and any
    padding after it) is due; counts over ``cap`` read as ``cap``.
    """
    t = torch.arange(steps, device=lengths.device)  # (steps,)
    return (lengths[:, None] - t[None, :]).clamp(0, cap)  # (B, steps)


class TokenDecoder(nn.Module):
    """A GRU (or LSTM, RNN) that reads [previous token's embedding, sentence vector] per step
    (only the latter if not ``feed_tokens``); with ``position_dim`` > 0 also an embedding of
    the step's index, with ``length_dim`` > 0 one of the number of tokens left to write.
    With ``decoder_bidirectional`` it runs both ways over the sentence's steps at once.

    The sentence vector also sets the initial state, so the first token is already informed
    (and, run both ways, the last one too).
    """

    def __init__(self, config: TextModelConfig, embedding: nn.Embedding) -> None:
        super().__init__()
        self.config = config
        self.embedding = embedding  # shared with the encoder
        self.directions = 2 if config.decoder_bidirectional else 1
        self.initial = nn.Linear(
            config.embedding_dim,
            config.decoder_layers * self.directions * config.decoder_hidden_size,
        )
        self.max_length = config.max_length
        if config.length_dim:
            self.left = nn.Embedding(config.max_length + 1, config.length_dim)
        if self.predicts_length:
            self.length_head = length_head(config)
        if config.position_dim:
            self.position = nn.Embedding(config.max_length + 1, config.position_dim)
        self.rnn = RNN_CLASSES[config.decoder_cell](
            input_size=config.token_dim * config.feed_tokens
            + config.embedding_dim
            + config.position_dim
            + config.length_dim,
            hidden_size=config.decoder_hidden_size,
            num_layers=config.decoder_layers,
            bidirectional=config.decoder_bidirectional,
            batch_first=True,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.output = TokenOutput(config, embedding, self.directions * config.decoder_hidden_size)

    def initial_state(self, z: torch.Tensor) -> RecurrentState:
        """z: (B, E) -> the RNN's initial state (L * D, B, H) for L layers of D directions
        (a pair of them for an LSTM)."""
        h0 = torch.tanh(self.initial(z))  # (B, L * D * H)
        h0 = h0.view(z.size(0), self.config.decoder_layers * self.directions, -1)
        h0 = h0.transpose(0, 1).contiguous()  # (L * D, B, H)
        return (h0, torch.zeros_like(h0)) if self.config.decoder_cell == "lstm" else h0

    @property
    def counts_length(self) -> bool:
        """Whether the decoder reads how many tokens are left at each step."""
        return self.config.length_dim > 0

    @property
    def bidirectional(self) -> bool:
        """Whether the decoder writes the whole sentence at once, run both ways over it."""
        return self.config.decoder_bidirectional

    @property
    def predicts_length(self) -> bool:
        """Whether decoding starts from a length predicted from the vector."""
        return self.counts_length or self.bidirectional

    def length_logits(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, E) -> scores (B, max_length + 1) of the sentence's length in tokens."""
        return self.length_head(z)

    @torch.no_grad()
    def predict_length(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, E) -> the most likely length of each sentence, at least one token (B,)."""
        return self.length_logits(z)[:, 1:].argmax(dim=-1) + 1

    def forward(
        self,
        z: torch.Tensor,
        inputs: torch.Tensor,
        state: RecurrentState | None = None,
        left: torch.Tensor | None = None,
        start: int = 0,
        lengths: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, RecurrentState]:
        """z: (B, E), input tokens (B, T), tokens left to write (B, T) (a length-counting
        decoder only), the index of the first of these steps, each sentence's steps (B,) (a
        bidirectional decoder only) -> output states (B, T, D * H) and the final state;
        ``output.log_prob`` turns the former into token log-probabilities."""
        if self.bidirectional and (lengths is None or state is not None or start):
            raise ValueError("a bidirectional decoder runs over whole sentences: give lengths")
        state = self.initial_state(z) if state is None else state
        parts = [z.unsqueeze(1).expand(-1, inputs.size(1), -1)]  # (B, T, E)
        if self.config.feed_tokens:
            parts.insert(0, self.dropout(self.embedding(inputs)))  # (B, T, token_dim)
        if self.counts_length:
            if left is None:
                raise ValueError("this decoder counts tokens: give it the tokens left per step")
            parts.append(self.left(left.clamp(0, self.max_length)))  # (B, T, length_dim)
        if self.config.position_dim:
            steps = torch.arange(start, start + inputs.size(1), device=z.device)  # (T,)
            where = self.position(steps.clamp(max=self.max_length))  # (T, position_dim)
            parts.append(where.expand(inputs.size(0), -1, -1))  # (B, T, position_dim)
        steps = torch.cat(parts, dim=-1)  # (B, T, input)
        if not self.bidirectional:
            out, state = self.rnn(steps, state)  # (B, T, H)
            return self.dropout(out), state
        # packed, so that the backward direction starts at each sentence's own last step
        packed = pack_padded_sequence(steps, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, state = self.rnn(packed, state)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=steps.size(1))
        return self.dropout(out), state  # (B, T, 2H)

    def step(
        self,
        z: torch.Tensor,
        tokens: torch.Tensor,
        state: RecurrentState | None,
        left: torch.Tensor | None = None,
        start: int = 0,
    ) -> tuple[torch.Tensor, RecurrentState]:
        """Step ``start``: z (B, E), previous tokens (B,), tokens left (B,) ->
        log-probabilities (B, V), new state."""
        if self.bidirectional:
            raise ValueError("a bidirectional decoder writes whole sentences, not single steps")
        left = None if left is None else left[:, None]  # (B, 1)
        out, state = self(z, tokens[:, None], state, left, start)  # (B, 1, H)
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

    @torch.no_grad()
    def _own_inputs(
        self, z: torch.Tensor, previous: torch.Tensor, left: torch.Tensor | None
    ) -> torch.Tensor:
        """What the decoder would read if it had read its own teacher-forced predictions:
        z (B, E), true inputs (B, T) -> <bos> and the predictions of the first T - 1 tokens."""
        states, _ = self.decoder(z, previous, left=left)  # (B, T, H)
        predicted = self.decoder.output.predict(states.flatten(0, 1)).view_as(previous)
        return torch.cat([previous[:, :1], predicted[:, :-1]], dim=1)  # (B, T)

    def loss(
        self,
        inputs: torch.Tensor,
        input_lengths: torch.Tensor,
        targets: torch.Tensor,
        target_lengths: torch.Tensor,
        kl_scale: float = 1.0,
        sampling: float = 0.0,
    ) -> dict[str, torch.Tensor]:
        """Rebuild ``targets`` (B, T') from ``inputs`` (B, T) (the same, or a noisy copy).

        In training, a share ``sampling`` of the decoder's input tokens are its own guesses
        instead of the true ones (parallel scheduled sampling, Duckworth et al. 2019): a first,
        teacher-forced pass without gradients predicts every token, and the second pass, which
        learns, reads a mix of true and predicted ones, as decoding will have to.

        Returns the loss (cross-entropy per token, plus the scaled KL spread over the tokens),
        its parts, and, out of training (it costs a full softmax), the share of tokens the
        teacher-forced decoder gets right.
        """
        mean, log_variance = self.posterior(inputs, input_lengths)  # (B, E)
        z = mean
        if log_variance is not None and self.training:
            z = mean + torch.randn_like(mean) * (0.5 * log_variance).exp()  # reparameterised
        previous, expected, lengths = decoder_targets(targets, target_lengths)  # (B, T' + 1)
        left = (  # (B, T' + 1), only for a decoder that counts
            steps_left(target_lengths, previous.size(1), self.config.max_length)
            if self.decoder.counts_length
            else None
        )
        if self.training and sampling > 0 and self.config.feed_tokens:
            previous = mix_in(previous, self._own_inputs(z, previous, left), sampling)
        if self.training:
            previous = word_dropout(previous, self.config.word_dropout)
        steps = lengths if self.decoder.bidirectional else None
        states, _ = self.decoder(z, previous, left=left, lengths=steps)  # (B, T' + 1, D * H)
        real = length_mask(lengths, expected.size(1))  # (B, T' + 1)
        count = real.sum().clamp(min=1)
        nll = self.decoder.output.nll(states[real], expected[real])  # over real tokens only
        kl = kl_divergence(mean, log_variance).sum() if log_variance is not None else nll * 0
        parts = {
            "loss": (nll + kl_scale * kl) / count,
            "cross_entropy": nll / count,
            "kl": kl / inputs.size(0),
        }
        if self.decoder.predicts_length:
            # predicted from the mean, so decoding (which has only the mean) can trust it
            # the head learns at the full rate, the vector only a share length_pull of it
            pulled = scale_gradient(mean, self.config.length_pull)  # (B, E)
            scores = self.decoder.length_logits(pulled)  # (B, max_length + 1)
            truth = target_lengths.clamp(max=self.config.max_length)  # (B,)
            parts["length_loss"] = F.cross_entropy(scores, truth)
            parts["loss"] = parts["loss"] + parts["length_loss"]
            if not self.training:
                parts["length_accuracy"] = (scores.argmax(-1) == truth).float().mean()
        if not self.training:
            right = self.decoder.output.predict(states[real]) == expected[real]
            parts["accuracy"] = right.float().mean()
        return parts
