"""The sentence decoder's output layer: decoder states -> token log-probabilities."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqae.text.config import TextModelConfig


def adaptive_cutoffs(vocab_size: int) -> list[int]:
    """Where the adaptive softmax's frequency clusters start (ids are ranked by frequency)."""
    return [c for c in (1000, 4000) if c < vocab_size - 1]


class TokenOutput(nn.Module):
    """Decoder states -> token log-probabilities.

    A full softmax; an adaptive one (Grave et al. 2017): the most frequent tokens in a small
    head, rarer ones in tail clusters of smaller width, which costs a fraction of a full
    softmax over a large vocabulary on a CPU (it assumes ids ranked by frequency, as the word
    and character vocabularies are); or a tied one (Press and Wolf 2017): a full softmax whose
    token vectors are the token embeddings the encoder reads. Tied, writing a token means
    pointing the state at the very vector the encoder read for it, which a rare token's
    embedding allows as soon as the copying itself is learnt.

    In training, a tied softmax may score only a shortlist (Jean et al. 2015): the
    ``train_vocab`` most frequent tokens and every token the batch has to write. That is a
    fraction of the cost, but a rare token is pushed down only in the batches that hold it,
    so out of training (where every token is scored) the rare tokens come out too likely:
    for very large vocabularies only.
    """

    def __init__(self, config: TextModelConfig, embedding: nn.Embedding, hidden: int) -> None:
        """``hidden``: the width of the decoder states it reads."""
        super().__init__()
        vocab = config.vocab_size
        cutoffs = adaptive_cutoffs(vocab) if config.softmax == "adaptive" else []
        self.adaptive = (
            nn.AdaptiveLogSoftmaxWithLoss(hidden, vocab, cutoffs, div_value=2.0)
            if cutoffs
            else None
        )
        self.embedding = embedding if config.softmax == "tied" else None
        if self.embedding is not None:
            self.linear = nn.Linear(hidden, config.token_dim)  # into the embeddings' space
            self.bias = nn.Parameter(torch.zeros(vocab))
            self.train_vocab = config.train_vocab
        else:
            self.linear = nn.Linear(hidden, vocab) if self.adaptive is None else None

    def logits(self, states: torch.Tensor) -> torch.Tensor:
        """states (N, H) -> unnormalised scores (N, V) (full and tied softmax)."""
        if self.embedding is None:
            return self.linear(states)
        return F.linear(self.linear(states), self.embedding.weight, self.bias)  # (N, V)

    def log_prob(self, states: torch.Tensor) -> torch.Tensor:
        """states (N, H) -> log-probabilities (N, V)."""
        if self.adaptive is not None:
            return self.adaptive.log_prob(states)
        return self.logits(states).log_softmax(dim=-1)

    def nll(self, states: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """states (N, H), targets (N,) -> summed negative log-likelihood of the targets."""
        if self.adaptive is not None:
            return self.adaptive(states, targets).loss * targets.numel()
        if self.embedding is not None and self.training and self.train_vocab:
            return self._shortlist_nll(states, targets)
        return F.cross_entropy(self.logits(states), targets, reduction="sum")

    def _shortlist_nll(self, states: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The tied softmax over the frequent tokens and the targets only (training)."""
        common = torch.arange(min(self.train_vocab, len(self.bias)), device=targets.device)
        shortlist = torch.unique(torch.cat([common, targets]))  # (S,) sorted
        scores = F.linear(
            self.linear(states), self.embedding.weight[shortlist], self.bias[shortlist]
        )  # (N, S)
        return F.cross_entropy(scores, torch.searchsorted(shortlist, targets), reduction="sum")

    @torch.no_grad()
    def predict(self, states: torch.Tensor) -> torch.Tensor:
        """states (N, H) -> the most likely token of each (N,)."""
        if self.adaptive is not None:
            return self.adaptive.predict(states)
        return self.logits(states).argmax(dim=-1)
