from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from seqae.config import FeatureConfig, ModelConfig, TrainConfig
from seqae.data import pad_batch
from seqae.errors import SeqaeError
from seqae.lit_module import AutoencoderModule
from seqae.models import SequenceAutoencoder, encoder_names, masked_mse, reverse_padded
from seqae.models.clockwork import ClockworkCore, clock_periods
from seqae.models.encoders import stack_frames

# The default model's weights as bundles trained before the clockwork, pyramidal and IRNN
# encoders and the decoder options existed hold them; these must keep loading.
DEFAULT_STATE_DICT = {
    **{
        f"encoder.rnn.{kind}_l{layer}{direction}": shape
        for layer, width in ((0, 78), (1, 512))
        for direction in ("", "_reverse")
        for kind, shape in (
            ("weight_ih", [768, width]),
            ("weight_hh", [768, 256]),
            ("bias_ih", [768]),
            ("bias_hh", [768]),
        )
    },
    "encoder.project.weight": [256, 512],
    "encoder.project.bias": [256],
    "decoder.initial.weight": [256, 256],
    "decoder.initial.bias": [256],
    "decoder.rnn.weight_ih_l0": [768, 257],
    "decoder.rnn.weight_hh_l0": [768, 256],
    "decoder.rnn.bias_ih_l0": [768],
    "decoder.rnn.bias_hh_l0": [768],
    "decoder.output.weight": [39, 256],
    "decoder.output.bias": [39],
    "embedding_mean": [256],
    "embedding_scale": [256],
}


def _batch(seed: int = 0, lengths=(7, 3, 5), dim: int = 6):
    generator = torch.Generator().manual_seed(seed)
    return pad_batch([torch.randn(n, dim, generator=generator) for n in lengths])


def _tiny(cell: str = "gru", **settings) -> ModelConfig:
    defaults = dict(
        input_dim=6,
        cell=cell,
        hidden_size=8,
        layers=2,
        embedding_dim=4,
        decoder_hidden_size=8,
        dropout=0.0,
    )
    return ModelConfig(**{**defaults, **settings})


@pytest.mark.parametrize("cell", encoder_names())
@pytest.mark.parametrize("bidirectional,stack", [(False, 1), (True, 1), (True, 3)])
def test_shapes_and_padding_invariance(cell, bidirectional, stack):
    torch.manual_seed(0)
    config = _tiny(cell, bidirectional=bidirectional, frame_stack=stack)
    model = SequenceAutoencoder(config).eval()
    frames, lengths = _batch()
    reconstruction, z = model(frames, lengths)
    assert reconstruction.shape == frames.shape and z.shape == (3, 4)
    assert torch.isfinite(reconstruction).all()
    # extra padding must not change any embedding
    padded = torch.cat([frames, torch.full((3, 4, 6), 9.0)], dim=1)
    torch.testing.assert_close(model.embed(padded, lengths), z)
    # nor must the company of longer sequences
    for row, n in enumerate(lengths.tolist()):
        alone = model.embed(frames[row : row + 1, :n], lengths[row : row + 1])  # (1, E)
        torch.testing.assert_close(alone, z[row : row + 1], atol=1e-5, rtol=0.0)


@pytest.mark.parametrize("cell", encoder_names())
@pytest.mark.parametrize("bidirectional", [False, True])
def test_every_encoder_trains_and_embeds(cell, bidirectional):
    torch.manual_seed(0)
    config = _tiny(cell, hidden_size=12, embedding_dim=6, bidirectional=bidirectional, dropout=0.1)
    model = SequenceAutoencoder(config)
    frames, lengths = _batch(lengths=(9, 1, 4, 6))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(4):
        optimizer.zero_grad()
        loss = model.loss(frames, lengths)
        loss.backward()
        assert torch.isfinite(loss)
        assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
        optimizer.step()
    z = model.eval().embed(frames, lengths)
    assert z.shape == (4, 6) and torch.isfinite(z).all()


def test_reverse_padded():
    x = torch.arange(8.0).view(2, 4, 1)
    lengths = torch.tensor([4, 2])
    out = reverse_padded(x, lengths).squeeze(-1)
    assert out.tolist() == [[3, 2, 1, 0], [5, 4, 6, 7]]


def test_masked_mse_ignores_padding():
    target = torch.zeros(2, 3, 2)
    prediction = torch.zeros(2, 3, 2)
    prediction[1, 2] = 100.0  # a padded frame of the second sequence
    prediction[0, 0] = 1.0
    loss = masked_mse(prediction, target, torch.tensor([3, 2]))
    assert loss.item() == pytest.approx(2.0 / (5 * 2))


OVERFIT_CASES = [pytest.param(cell, False, {}, id=cell) for cell in encoder_names()] + [
    pytest.param("gru", True, {}, id="gru-reversed"),
    pytest.param("gru", True, dict(teacher_forcing=True, sampling=0.5), id="gru-reversed-sampled"),
]


@pytest.mark.parametrize("cell,reverse,decoder", OVERFIT_CASES)
def test_overfits_one_batch(cell, reverse, decoder):
    torch.manual_seed(0)
    config = _tiny(
        cell,
        hidden_size=32,
        embedding_dim=16,
        decoder_hidden_size=32,
        reverse_target=reverse,
        **decoder,
    )
    model = SequenceAutoencoder(config)
    model.sampling_probability = config.sampling
    frames, lengths = _batch(lengths=(9, 6, 4, 8))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = model.loss(frames, lengths).item()
    for _ in range(120):
        optimizer.zero_grad()
        loss = model.loss(frames, lengths)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.01 * first


def test_irnn_starts_with_identity_recurrence():
    torch.manual_seed(0)
    encoder = SequenceAutoencoder(_tiny("irnn", bidirectional=True)).encoder
    assert encoder.rnn.nonlinearity == "relu"
    weights = dict(encoder.rnn.named_parameters())
    assert sum(name.startswith("weight_hh") for name in weights) == 4  # 2 layers x 2 directions
    for name, weight in weights.items():
        if name.startswith("weight_hh"):
            assert torch.equal(weight, torch.eye(8))
        elif name.startswith("bias"):
            assert not weight.any()
        else:
            assert 0.0 < weight.std() < 0.003


def test_joining_pairs_halves_time_with_odd_lengths():
    x = torch.arange(1.0, 11.0).view(2, 5, 1)
    x[1, 2:] = 99.0  # padding of the second sequence
    joined, lengths = stack_frames(x, torch.tensor([5, 2]), 2)  # (2, 3, 2)
    assert lengths.tolist() == [3, 1]
    assert joined.tolist() == [[[1, 2], [3, 4], [5, 0]], [[6, 7], [0, 0], [0, 0]]]


def test_pyramidal_layers_halve_time_resolution():
    encoder = SequenceAutoencoder(_tiny("pyramidal", layers=3, frame_stack=1)).encoder
    seen = []  # (steps, real frames in the batch) read by each layer
    for layer in encoder.layers:
        layer.register_forward_hook(
            lambda module, inputs, output: seen.append(
                (len(inputs[0].batch_sizes), int(inputs[0].batch_sizes.sum()))
            )
        )
    frames, lengths = _batch(lengths=(7, 3, 5))
    encoder(frames, lengths)
    # lengths (7, 3, 5) -> (4, 2, 3) -> (2, 1, 2)
    assert seen == [(7, 15), (4, 9), (2, 5)]


def test_clock_periods_split_units_into_modules():
    assert clock_periods(5, 3).tolist() == [1, 1, 2, 2, 4]


def test_clockwork_slow_module_keeps_state_on_odd_steps():
    torch.manual_seed(0)
    core = ClockworkCore(input_size=3, hidden_size=4, modules=2)  # units 2, 3 tick every 2 steps
    x = torch.randn(2, 7, 3)
    lengths = torch.tensor([7, 4])
    states, final = core(x, lengths)  # (2, 7, 4), (2, 4)
    fast, slow = states[..., :2], states[..., 2:]
    for t in range(1, 7):
        assert not torch.equal(fast[0, t], fast[0, t - 1])
        assert torch.equal(slow[0, t], slow[0, t - 1]) == (t % 2 == 1)
    # past its length a sequence's state is frozen: the final state is its own last real one
    assert torch.equal(final[1], states[1, 3]) and torch.equal(states[1, 6], states[1, 3])
    torch.testing.assert_close(final[0], states[0, 6], atol=0.0, rtol=0.0)
    # the fast module never feeds the slow one, the slow one does feed the fast one
    with torch.no_grad():
        core.recurrent[2:, :2] += 1.0
    assert torch.equal(core(x, lengths)[0], states)
    with torch.no_grad():
        core.recurrent[:2, 2:] += 1.0
    changed, _ = core(x, lengths)
    assert torch.equal(changed[..., 2:], slow) and not torch.equal(changed[..., :2], fast)


def test_decoder_cell_follows_plain_encoder_cells_else_gru():
    assert SequenceAutoencoder(_tiny("lstm")).decoder.cell == "lstm"
    assert SequenceAutoencoder(_tiny("clockwork")).decoder.cell == "gru"
    decoder = SequenceAutoencoder(_tiny("pyramidal", decoder_cell="rnn")).decoder
    assert isinstance(decoder.rnn, torch.nn.RNN)
    with pytest.raises(SeqaeError):
        _tiny(decoder_cell="transformer")
    with pytest.raises(SeqaeError):
        _tiny(sampling=0.5)  # sampling replaces forced frames: meaningless without them


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_teacher_forcing_reads_the_previous_target_frame(cell):
    torch.manual_seed(0)
    model = SequenceAutoencoder(_tiny(cell, teacher_forcing=True)).eval()
    frames, lengths = _batch()
    z = model.embed(frames, lengths)
    decoder = model.decoder
    forced = decoder(z, lengths, 7, frames)  # (3, 7, 6)
    changed = frames.clone()
    changed[:, 2] += 1.0
    moved = decoder(z, lengths, 7, changed)
    assert torch.equal(moved[:, :3], forced[:, :3]) and not torch.equal(moved[:, 3], forced[:, 3])
    # the one-pass forced path equals stepping through it, always reading the true frame
    stepped = decoder.unroll(
        decoder.conditioning(z, lengths, 7), decoder.initial_state(z), frames, 0.0
    )
    torch.testing.assert_close(stepped, forced)
    # and forcing changes the loss: without targets the decoder reads its own predictions
    free, _ = model(frames, lengths)
    assert model.loss(frames, lengths).item() != pytest.approx(
        masked_mse(free, frames, lengths).item()
    )


@pytest.mark.parametrize("reverse", [False, True])
def test_sampling_at_one_feeds_the_decoders_own_predictions(reverse):
    torch.manual_seed(0)
    config = _tiny(teacher_forcing=True, sampling=1.0, reverse_target=reverse)
    model = SequenceAutoencoder(config)
    frames, lengths = _batch()
    model.sampling_probability = 1.0
    sampled = model.train().loss(frames, lengths)
    free, _ = model.eval()(frames, lengths)
    target = reverse_padded(frames, lengths) if reverse else frames
    torch.testing.assert_close(sampled, masked_mse(free, target, lengths))
    model.sampling_probability = 0.0  # the teacher-forced loss differs
    assert model.train().loss(frames, lengths).item() != pytest.approx(sampled.item())


def test_sampling_ramps_from_zero_to_its_setting_over_the_epochs():
    config = _tiny(teacher_forcing=True, sampling=0.4)
    module = AutoencoderModule(
        config.to_dict(), TrainConfig(epochs=5).to_dict(), FeatureConfig().to_dict()
    )
    ramp = []
    for epoch in range(5):
        module.trainer = SimpleNamespace(max_epochs=5, current_epoch=epoch)  # a stand-in
        module.on_train_epoch_start()
        ramp.append(module.model.sampling_probability)
    assert ramp == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


def test_default_config_keeps_its_state_dict():
    state = SequenceAutoencoder(ModelConfig()).state_dict()
    assert {name: list(value.shape) for name, value in state.items()} == DEFAULT_STATE_DICT


def test_a_bundle_saved_before_standardisation_still_loads(tmp_path):
    from seqae.bundle import load_bundle, save_bundle
    from seqae.config import FeatureConfig

    model = SequenceAutoencoder(_tiny())
    model.set_embedding_statistics(torch.full((4,), 2.0), torch.full((4,), 3.0))
    save_bundle(tmp_path / "model.pt", model, FeatureConfig())
    payload = torch.load(tmp_path / "model.pt", weights_only=True)
    for name in ("embedding_mean", "embedding_scale"):
        del payload["state_dict"][name]  # as bundles were written before
    torch.save(payload, tmp_path / "old.pt")
    old = load_bundle(tmp_path / "old.pt").model
    assert old.embedding_mean.abs().sum() == 0 and (old.embedding_scale == 1).all()
    x, lengths = _batch(dim=model.config.input_dim)
    new = load_bundle(tmp_path / "model.pt").model
    torch.testing.assert_close(new.embed(x, lengths), (old.embed(x, lengths) - 2.0) / 3.0)
