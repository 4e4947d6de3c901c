"""Decoding a sentence vector back into tokens: greedy (batched) and beam search.

Both run the decoder one token at a time, each step reading the token chosen before it (if the
decoder reads tokens) and its own index, under a cap on the number of steps. A decoder that
counts the tokens left to write is told the length it predicts from the sentence vector, and
counts down from there.

A bidirectional decoder writes a whole sentence in one pass instead, over as many places as the
length it predicts, each place's most likely token: that is greedy decoding, and no choice of
a token changes the others. Beam search then searches over lengths: the decoder writes the
sentence at each of its ``width`` most likely lengths, and keeps the version the model finds
most likely as a whole (the length's log-probability plus those of its tokens and <eos>).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from seqae.models.text_autoencoder import RecurrentState, TokenDecoder, steps_left
from seqae.text.tokenizers import BOS, EOS


def _lengths(decoder: TokenDecoder, z: torch.Tensor) -> torch.Tensor | None:
    """z: (B, E) -> the predicted length of each sentence (B,), if the decoder counts."""
    return decoder.predict_length(z) if decoder.counts_length else None


def _until_eos(rows: list[list[int]]) -> list[list[int]]:
    return [row[: row.index(EOS)] if EOS in row else row for row in rows]


@torch.no_grad()
def _write_at_once(
    decoder: TokenDecoder, z: torch.Tensor, lengths: torch.Tensor
) -> tuple[list[list[int]], torch.Tensor]:
    """A bidirectional decoder run over given lengths: z (B, E), lengths (B,) -> the most
    likely token at each place (up to an <eos> written earlier, not kept) and the summed
    log-probability of those tokens and of the <eos> after them (B,)."""
    steps = lengths + 1  # the tokens and the <eos> after them, as in training
    batch, longest = z.size(0), int(steps.max())
    inputs = torch.full((batch, longest), BOS, dtype=torch.long, device=z.device)  # (B, T)
    left = steps_left(lengths, longest, decoder.max_length) if decoder.counts_length else None
    states, _ = decoder(z, inputs, left=left, lengths=steps)  # (B, T, 2H)
    log_probs = decoder.output.log_prob(states.flatten(0, 1)).view(batch, longest, -1)  # (B, T, V)
    best, tokens = log_probs.max(dim=-1)  # (B, T)
    places = torch.arange(longest, device=z.device)[None, :] < lengths[:, None]  # (B, T)
    eos = log_probs[torch.arange(batch), lengths, EOS]  # (B,)
    scores = (best * places).sum(dim=1) + eos  # (B,)
    rows = [row[:n] for row, n in zip(tokens.tolist(), lengths.tolist(), strict=True)]
    return _until_eos(rows), scores


def _candidate_lengths(
    decoder: TokenDecoder, z: torch.Tensor, width: int, max_steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """z: (B, E) -> the ``width`` most likely lengths of each sentence under the cap, best
    first, and their log-probabilities (B, K) each."""
    log_probs = decoder.length_logits(z).log_softmax(dim=-1)[:, 1:max_steps]  # lengths 1 ...
    best, index = log_probs.topk(min(width, log_probs.size(1)), dim=-1)  # (B, K)
    return index + 1, best


@torch.no_grad()
def decode_at_once(
    decoder: TokenDecoder, z: torch.Tensor, max_steps: int, width: int = 1
) -> list[list[int]]:
    """z: (B, E) -> for a bidirectional decoder, the most likely token at each place of the
    most likely length; with ``width`` > 1, of whichever of the ``width`` most likely lengths
    makes the likeliest sentence with its tokens."""
    lengths, length_scores = _candidate_lengths(decoder, z, width, max_steps)  # (B, K)
    batch, candidates = lengths.shape
    rows, scores = _write_at_once(decoder, z.repeat_interleave(candidates, 0), lengths.flatten())
    best = (scores.view(batch, candidates) + length_scores).argmax(dim=-1).tolist()  # (B,)
    return [rows[row * candidates + best[row]] for row in range(batch)]


def _left(lengths: torch.Tensor | None, step: int) -> torch.Tensor | None:
    """Tokens left to write at ``step``: (B,), or None for a decoder that does not count."""
    return None if lengths is None else (lengths - step).clamp(min=0)


@torch.no_grad()
def greedy_decode(decoder: TokenDecoder, z: torch.Tensor, max_steps: int) -> list[list[int]]:
    """z: (B, E) -> each sentence's most likely token at every step, up to <eos> (not kept)."""
    if decoder.bidirectional:
        return decode_at_once(decoder, z, max_steps)
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
    return _until_eos(torch.stack(chosen, dim=1).tolist())  # (B, steps)


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
    token (its <eos> included) among ``width`` beams (a bidirectional decoder: the likeliest
    of the sentences written at its ``width`` most likely lengths); ``width`` 1 is greedy."""
    if decoder.bidirectional:
        return decode_at_once(decoder, z, max_steps, width)
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
