from __future__ import annotations

import numpy as np
import pytest
import torch

from seqae.errors import SeqaeError
from seqae.models import encoder_names
from seqae.models.text_autoencoder import (
    TextAutoencoder,
    decoder_targets,
    kl_weight,
    mix_in,
    steps_left,
    word_dropout,
)
from seqae.models.token_search import beam_search, greedy_decode
from seqae.text.bundle import pad_ids
from seqae.text.config import TextModelConfig
from seqae.text.data import add_token_noise
from seqae.text.tokenizers import BOS, EOS, PAD, UNK

TINY = dict(token_dim=8, hidden_size=16, embedding_dim=12, decoder_hidden_size=16)
TINY |= dict(dropout=0.0, word_dropout=0.0)  # the overfitting checks read every true token
ONE_WAY = dict(decoder_bidirectional=False)  # a decoder that writes one token per step


def batch(seed: int = 0, size: int = 6, vocab: int = 30) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    return pad_ids([rng.integers(4, vocab, rng.integers(2, 8)).tolist() for _ in range(size)])


def test_decoder_targets():
    ids, lengths = pad_ids([[5, 6, 7], [8]])
    inputs, targets, target_lengths = decoder_targets(ids, lengths)
    assert inputs.tolist() == [[BOS, 5, 6, 7], [BOS, 8, PAD, PAD]]
    assert targets.tolist() == [[5, 6, 7, EOS], [8, EOS, PAD, PAD]]
    assert target_lengths.tolist() == [4, 2]


@pytest.mark.parametrize("cell", encoder_names())
@pytest.mark.parametrize("variational", [False, True])
def test_every_encoder_reads_tokens(cell, variational):
    torch.manual_seed(0)
    config = TextModelConfig(vocab_size=30, cell=cell, variational=variational, **TINY)
    model = TextAutoencoder(config)
    ids, lengths = batch()
    parts = model.loss(ids, lengths, ids, lengths)
    assert torch.isfinite(parts["loss"]) and parts["loss"] > 0
    parts["loss"].backward()
    model.eval()
    z = model.embed(ids, lengths)
    assert z.shape == (6, 12) and torch.isfinite(z).all()
    assert torch.equal(z, model.embed(ids, lengths))  # the mean, not a sample, at inference
    # a sentence's vector does not depend on the padding next to it
    alone = model.embed(ids[:1, : lengths[0]], lengths[:1])
    torch.testing.assert_close(alone, z[:1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("softmax", ["full", "adaptive", "tied"])
def test_output_layers_give_distributions(softmax):
    config = TextModelConfig(vocab_size=1500, softmax=softmax, length_dim=8, **ONE_WAY, **TINY)
    model = TextAutoencoder(config).eval()
    assert (model.decoder.output.adaptive is not None) == (softmax == "adaptive")
    # tied: the token vectors scored are the embeddings the encoder reads
    assert (model.decoder.output.embedding is model.embedding) == (softmax == "tied")
    ids, lengths = batch(vocab=1500)
    left = torch.full((6,), 3)
    log_probs, _ = model.decoder.step(model.embed(ids, lengths), ids[:, 0], None, left)  # (B, V)
    assert log_probs.shape == (6, 1500)
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(6), rtol=1e-4, atol=1e-4)
    parts = model.loss(ids, lengths, ids, lengths)
    assert 0.0 <= parts["accuracy"] <= 1.0
    # run both ways, the decoder's states are twice as wide, and the output layer reads them
    both = TextAutoencoder(TextModelConfig(vocab_size=1500, softmax=softmax, **TINY)).eval()
    inputs, _, steps = decoder_targets(ids, lengths)
    states, _ = both.decoder(both.embed(ids, lengths), inputs, lengths=steps)  # (B, T, 2H)
    assert states.shape == (*inputs.shape, 32)
    probs = both.decoder.output.log_prob(states.flatten(0, 1)).exp()  # (B * T, V)
    torch.testing.assert_close(probs.sum(-1), torch.ones(len(probs)), rtol=1e-4, atol=1e-4)


def test_steps_left_count_down_to_the_end_of_sentence():
    left = steps_left(torch.tensor([3, 1, 70]), 5, cap=64)
    assert left.tolist() == [[3, 2, 1, 0, 0], [1, 0, 0, 0, 0], [64, 64, 64, 64, 64]]


def test_a_counting_decoder_needs_the_count():
    model = TextAutoencoder(TextModelConfig(vocab_size=30, length_dim=8, **ONE_WAY, **TINY))
    with pytest.raises(ValueError, match="tokens left"):
        model.decoder.step(torch.zeros(2, 12), torch.tensor([BOS, BOS]), None)


def test_step_by_step_decoding_matches_the_whole_pass():
    """Decoding runs one step at a time; it must see what training saw in one pass: the same
    positions, the same state."""
    torch.manual_seed(0)
    config = TextModelConfig(vocab_size=30, feed_tokens=True, position_dim=4, **TINY)
    model = TextAutoencoder(config).eval()
    ids, lengths = batch()
    z = model.embed(ids, lengths)
    inputs = decoder_targets(ids, lengths)[0]  # (B, T + 1)
    whole = model.decoder.output.log_prob(model.decoder(z, inputs)[0].flatten(0, 1))
    state, steps = None, []
    for t in range(inputs.size(1)):
        log_probs, state = model.decoder.step(z, inputs[:, t], state, start=t)  # (B, V)
        steps.append(log_probs)
    torch.testing.assert_close(torch.stack(steps, 1).flatten(0, 1), whole, rtol=1e-4, atol=1e-5)


def test_a_decoder_that_does_not_read_tokens_ignores_them():
    torch.manual_seed(0)
    model = TextAutoencoder(TextModelConfig(vocab_size=30, **ONE_WAY, **TINY)).eval()
    z = torch.randn(2, 12)
    one, _ = model.decoder.step(z, torch.tensor([5, 6]), None)
    other, _ = model.decoder.step(z, torch.tensor([7, 8]), None)
    torch.testing.assert_close(one, other)


@pytest.mark.parametrize(
    "shape",
    [
        {},  # the default: run both ways
        {"decoder_bidirectional": False},
        {"decoder_bidirectional": False, "position_dim": 8},
        {"feed_tokens": True},
        {"feed_tokens": True, "length_dim": 8},
    ],
)
def test_overfits_a_batch_and_decodes_it(shape):
    torch.manual_seed(0)
    config = TextModelConfig(vocab_size=30, softmax="full", **shape, **TINY)
    predicts_length = config.length_dim > 0 or config.decoder_bidirectional
    model = TextAutoencoder(config)
    ids, lengths = batch()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    for _ in range(150):
        optimizer.zero_grad()
        model.loss(ids, lengths, ids, lengths)["loss"].backward()
        optimizer.step()
    model.eval()
    parts = model.loss(ids, lengths, ids, lengths)
    assert parts["accuracy"] == 1.0
    assert ("length_accuracy" in parts) == predicts_length
    truth = [ids[i, : lengths[i]].tolist() for i in range(len(ids))]
    z = model.embed(ids, lengths)
    if predicts_length:
        assert model.decoder.predict_length(z).tolist() == lengths.tolist()
    assert greedy_decode(model.decoder, z, 20) == truth
    assert beam_search(model.decoder, z, 1, 20) == truth  # width 1 is greedy
    assert beam_search(model.decoder, z, 4, 20) == truth


def test_a_bidirectional_decoder_writes_what_training_scores():
    """Decoding at once must run the decoder as training did: over the sentence's own steps,
    packed, so that the backward direction starts from each sentence's own end."""
    torch.manual_seed(0)
    config = TextModelConfig(vocab_size=30, softmax="full", decoder_bidirectional=True, **TINY)
    model = TextAutoencoder(config).eval()
    ids, lengths = batch()
    z = model.embed(ids, lengths)
    inputs, _, steps = decoder_targets(ids, lengths)  # (B, T + 1), steps with the <eos>
    states, _ = model.decoder(z, inputs, lengths=steps)  # (B, T + 1, 2H)
    # padding after a sentence's steps changes none of them
    padded = torch.cat([inputs, inputs.new_full((len(ids), 3), PAD)], dim=1)
    torch.testing.assert_close(
        model.decoder(z, padded, lengths=steps)[0][:, : inputs.size(1)], states
    )
    # told each sentence's true length, decoding writes the tokens training scores there
    head = model.decoder.length_head[-1]  # its last layer: the scores
    head.weight.data.zero_()
    for row, length in enumerate(lengths.tolist()):
        head.bias.data.zero_()
        head.bias.data[length] = 1.0
        scored = model.decoder.output.predict(states[row, :length]).tolist()
        scored = scored[: scored.index(EOS)] if EOS in scored else scored
        assert greedy_decode(model.decoder, z[row : row + 1], 20) == [scored]
        assert beam_search(model.decoder, z[row : row + 1], 1, 20) == [scored]


def test_a_bidirectional_beam_keeps_the_likeliest_length_and_tokens():
    torch.manual_seed(1)
    config = TextModelConfig(vocab_size=12, softmax="full", decoder_bidirectional=True, **TINY)
    model = TextAutoencoder(config).eval()
    z = torch.randn(3, 12)

    def written(row: int, length: int) -> tuple[float, list[int]]:
        """Log-probability of the length and of the sentence written at it, and its tokens."""
        inputs = torch.full((1, length + 1), BOS)
        states, _ = model.decoder(z[row : row + 1], inputs, lengths=torch.tensor([length + 1]))
        log_probs = model.decoder.output.log_prob(states[0])  # (length + 1, V)
        best, tokens = log_probs[:length].max(dim=-1)
        prior = model.decoder.length_logits(z[row]).log_softmax(dim=-1)[length]
        return float((prior + best.sum() + log_probs[length, EOS]).detach()), tokens.tolist()

    beams = beam_search(model.decoder, z, 3, 30)
    for row in range(3):
        candidates = (model.decoder.length_logits(z[row])[1:30].topk(3).indices + 1).tolist()
        _, tokens = max(written(row, length) for length in candidates)
        assert beams[row] == (tokens[: tokens.index(EOS)] if EOS in tokens else tokens)


def test_the_length_pull_scales_only_the_vectors_share():
    """The length head learns at the full rate whatever the pull; the encoder gets the pull's
    share of the length loss's gradient."""
    ids, lengths = batch()

    def gradients(pull: float) -> tuple[torch.Tensor, torch.Tensor]:
        torch.manual_seed(0)
        config = TextModelConfig(
            vocab_size=30, decoder_bidirectional=True, length_pull=pull, **TINY
        )
        model = TextAutoencoder(config)
        model.loss(ids, lengths, ids, lengths)["length_loss"].backward()
        head = model.decoder.length_head[0].weight.grad
        return head, model.encoder.project.weight.grad

    head, encoder = gradients(0.25)
    full_head, full_encoder = gradients(1.0)
    torch.testing.assert_close(head, full_head)
    torch.testing.assert_close(encoder, 0.25 * full_encoder)
    assert full_encoder.abs().sum() > 0


def test_a_bidirectional_decoder_refuses_tokens_and_single_steps():
    # unless told, a decoder runs both ways if it reads no tokens, one way if it does
    assert TextModelConfig(vocab_size=30).decoder_bidirectional
    assert not TextModelConfig(vocab_size=30, feed_tokens=True).decoder_bidirectional
    with pytest.raises(SeqaeError, match="cannot read the previous token"):
        TextModelConfig(vocab_size=30, decoder_bidirectional=True, feed_tokens=True)
    model = TextAutoencoder(TextModelConfig(vocab_size=30, decoder_bidirectional=True, **TINY))
    with pytest.raises(ValueError, match="whole sentences"):
        model.decoder.step(torch.zeros(2, 12), torch.tensor([BOS, BOS]), None)


def test_beam_search_keeps_the_best_mean_log_probability():
    torch.manual_seed(1)
    config = TextModelConfig(vocab_size=12, softmax="full", length_dim=8, **ONE_WAY, **TINY)
    model = TextAutoencoder(config).eval()
    z = torch.randn(3, 12)

    def mean_log_prob(row: int, tokens: list[int]) -> float:
        inputs = torch.tensor([[BOS, *tokens]])
        length = model.decoder.predict_length(z[row : row + 1])  # what decoding counts from
        left = steps_left(length, inputs.size(1), cap=64)  # (1, T + 1)
        states, _ = model.decoder(z[row : row + 1], inputs, left=left)
        log_probs = model.decoder.output.log_prob(states[0])  # (T + 1, V)
        picked = log_probs[torch.arange(len(tokens) + 1), torch.tensor([*tokens, EOS])]
        return float(picked.mean().detach())

    greedy, beams = greedy_decode(model.decoder, z, 15), beam_search(model.decoder, z, 5, 15)
    for row in range(3):
        if len(greedy[row]) < 15:  # greedy ended: beam search may only do as well or better
            assert mean_log_prob(row, beams[row]) >= mean_log_prob(row, greedy[row]) - 1e-5


def test_word_dropout_and_kl_schedule():
    torch.manual_seed(0)
    inputs = torch.cat([torch.full((200, 1), BOS), torch.randint(4, 30, (200, 20))], dim=1)
    inputs[:, -3:] = PAD
    dropped = word_dropout(inputs, 0.3)
    assert (dropped[:, 0] == BOS).all() and (dropped[:, -3:] == PAD).all()
    share = (dropped[:, 1:-3] == UNK).float().mean()
    assert 0.25 < share < 0.35
    assert torch.equal(word_dropout(inputs, 0.0), inputs)
    assert [kl_weight(s, 100) for s in (0, 50, 100, 500)] == [0.0, 0.5, 1.0, 1.0]
    assert kl_weight(0, 0) == 1.0


def test_token_noise():
    rng = np.random.default_rng(0)
    ids = np.arange(10, 30)
    assert np.array_equal(add_token_noise(ids, 0.0, 0.0, rng), ids)
    dropped = add_token_noise(ids, 0.5, 0.0, rng)
    assert 0 < len(dropped) < 20 and np.all(np.diff(dropped) > 0)  # order kept
    swapped = add_token_noise(ids, 0.0, 0.5, rng)
    assert sorted(swapped) == list(ids) and not np.array_equal(swapped, ids)
    assert np.abs(swapped - ids).max() == 1  # a token moves one place at most
    assert len(add_token_noise(np.array([7]), 0.99, 0.0, rng)) == 1


def test_tied_shortlist_scores_the_common_tokens_and_the_targets():
    torch.manual_seed(0)
    config = TextModelConfig(vocab_size=40, softmax="tied", train_vocab=10, **ONE_WAY, **TINY)
    output = TextAutoencoder(config).decoder.output.train()
    states, targets = torch.randn(5, 16), torch.tensor([3, 25, 25, 9, 31])
    shortlist = torch.tensor([*range(10), 25, 31])
    scores = output.logits(states)[:, shortlist]  # the full scores, restricted
    expected = torch.nn.functional.cross_entropy(
        scores, torch.tensor([3, 10, 10, 9, 11]), reduction="sum"
    )
    torch.testing.assert_close(output.nll(states, targets), expected)
    output.eval()  # every token competes out of training
    full = torch.nn.functional.cross_entropy(output.logits(states), targets, reduction="sum")
    torch.testing.assert_close(output.nll(states, targets), full)
    assert output.nll(states, targets) > expected


def test_scheduled_sampling_feeds_the_decoders_own_guesses():
    torch.manual_seed(0)
    model = TextAutoencoder(TextModelConfig(vocab_size=30, feed_tokens=True, **TINY)).train()
    ids, lengths = batch()
    previous, _, _ = decoder_targets(ids, lengths)
    own = torch.full_like(previous, 29)
    mixed = mix_in(previous, own, 1.0)
    keep = (previous == BOS) | (previous == PAD)
    assert torch.equal(mixed[keep], previous[keep]) and (mixed[~keep] == 29).all()
    assert torch.equal(mix_in(previous, own, 0.0), previous)
    z = model.embed(ids, lengths)
    left = steps_left(lengths, previous.size(1), cap=64)
    guesses = model._own_inputs(z, previous, left)
    assert guesses.shape == previous.shape and (guesses[:, 0] == BOS).all()
    parts = model.loss(ids, lengths, ids, lengths, sampling=0.5)
    assert torch.isfinite(parts["loss"])
