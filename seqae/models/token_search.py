"""Decoding a sentence vector back into tokens: greedy (batched) and beam search.

Both run the decoder one token at a time, each step reading the token chosen before it (if the
decoder reads tokens) and its own index, under a cap on the number of steps. A decoder that
counts the tokens left to write is told the length it predicts from the sentence vector, and
counts down from there.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from seqae.models.text_autoencoder import RecurrentState, TokenDecoder
from seqae.text.tokenizers import BOS, EOS


def _lengths(decoder: TokenDecoder, z: torch.Tensor) -> torch.Tensor | None:
    """z: (B, E) -> the predicted length of each sentence (B,), if the decoder counts."""
    return decoder.predict_length(z) if decoder.counts_length else None


def _left(lengths: torch.Tensor | None, step: int) -> torch.Tensor | None:
    """Tokens left to write at ``step``: (B,), or None for a decoder that does not count."""
    return None if lengths is None else (lengths - step).clamp(min=0)


@torch.no_grad()
def greedy_decode(decoder: TokenDecoder, z: torch.Tensor, max_steps: int) -> list[list[int]]:
    """z: (B, E) -> each sentence's most likely token at every step, up to <eos> (not kept)."""
    batch = z.size(0)
    token = torch.full((batch,), BOS, dtype=torch.long, device=z.device)  # (B,)
    state: RecurrentState | None = None
    lengths = _lengths(decoder, z)  # (B,) or None
    chosen, done = [], torch.zeros(batch, dtype=torch.bool, device=z.device)
    for step in range(max_steps):
        log_probs, state = decoder.step(z, token, state, _left(lengths, step), step)  # (B, V)
        token = log_probs.argmax(dim=-1)  # (B,)
        chosen.append(token)
        done |= token == EOS
        if bool(done.all()):
            break
    steps = torch.stack(chosen, dim=1).tolist()  # (B, steps)
    return [row[: row.index(EOS)] if EOS in row else row for row in steps]


@dataclass
class _Beams:
    """The live hypotheses of one sentence: tokens so far, summed log-probabilities, state."""

    tokens: list[list[int]]
    scores: torch.Tensor  # (K,)
    state: RecurrentState | None


def _select(state: RecurrentState, rows: torch.Tensor) -> RecurrentState:
    """Keep the given beams' rows of an RNN state (L, K, H) (or of both parts of an LSTM's)."""
    if isinstance(state, tuple):
        return tuple(part[:, rows] for part in state)  # type: ignore[return-value]
    return state[:, rows]


@torch.no_grad()
def beam_search(
    decoder: TokenDecoder, z: torch.Tensor, width: int, max_steps: int
) -> list[list[int]]:
    """z: (B, E) -> for each sentence the hypothesis with the best mean log-probability per
    token (its <eos> included) among ``width`` beams; ``width`` 1 is greedy decoding."""
    return [_beam_search_one(decoder, z[row : row + 1], width, max_steps) for row in range(len(z))]


def _beam_search_one(
    decoder: TokenDecoder, z: torch.Tensor, width: int, max_steps: int
) -> list[int]:
    """z: (1, E) -> the best hypothesis' tokens."""
    beams = _Beams([[]], z.new_zeros(1), None)
    lengths = _lengths(decoder, z)  # (1,) or None
    finished: list[tuple[float, list[int]]] = []
    for step in range(max_steps):
        last = [tokens[-1] if tokens else BOS for tokens in beams.tokens]
        inputs = torch.tensor(last, dtype=torch.long, device=z.device)  # (K,)
        left = _left(lengths, step)
        left = None if left is None else left.expand(len(last))  # (K,)
        log_probs, state = decoder.step(z.expand(len(last), -1), inputs, beams.state, left, step)
        totals = beams.scores[:, None] + log_probs  # (K, V)
        best, index = totals.flatten().topk(min(width, totals.numel()))  # (width,)
        rows, tokens = index // totals.size(1), index % totals.size(1)
        keep = []
        for score, row, token in zip(best.tolist(), rows.tolist(), tokens.tolist(), strict=True):
            if token == EOS:
                finished.append((score / (step + 1), beams.tokens[row]))
            else:
                keep.append((score, row, token))
        if len(finished) >= width or not keep:
            break
        rows_kept = torch.tensor([row for _, row, _ in keep], device=z.device)
        beams = _Beams(
            [beams.tokens[row] + [token] for _, row, token in keep],
            torch.tensor([score for score, _, _ in keep], device=z.device),
            _select(state, rows_kept),
        )
    if not finished:  # no hypothesis ended within max_steps: take the best unfinished one
        finished = [
            (float(s) / max_steps, t) for s, t in zip(beams.scores, beams.tokens, strict=True)
        ]
    return max(finished, key=lambda item: item[0])[1]
