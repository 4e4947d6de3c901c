from __future__ import annotations

import pytest
import torch

from seqae.config import ModelConfig
from seqae.data import pad_batch
from seqae.models import SequenceAutoencoder, encoder_names, masked_mse, reverse_padded


def _batch(seed: int = 0, lengths=(7, 3, 5), dim: int = 6):
    generator = torch.Generator().manual_seed(seed)
    return pad_batch([torch.randn(n, dim, generator=generator) for n in lengths])


@pytest.mark.parametrize("cell", encoder_names())
@pytest.mark.parametrize("bidirectional,stack", [(False, 1), (True, 1), (True, 3)])
def test_shapes_and_padding_invariance(cell, bidirectional, stack):
    torch.manual_seed(0)
    config = ModelConfig(
        input_dim=6,
        cell=cell,
        hidden_size=8,
        layers=2,
        embedding_dim=4,
        decoder_hidden_size=8,
        bidirectional=bidirectional,
        dropout=0.0,
        frame_stack=stack,
    )
    model = SequenceAutoencoder(config).eval()
    frames, lengths = _batch()
    reconstruction, z = model(frames, lengths)
    assert reconstruction.shape == frames.shape and z.shape == (3, 4)
    assert torch.isfinite(reconstruction).all()
    # extra padding must not change any embedding
    padded = torch.cat([frames, torch.full((3, 4, 6), 9.0)], dim=1)
    torch.testing.assert_close(model.embed(padded, lengths), z)


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


@pytest.mark.parametrize("reverse", [False, True])
def test_overfits_one_batch(reverse):
    torch.manual_seed(0)
    config = ModelConfig(
        input_dim=6,
        hidden_size=32,
        layers=1,
        embedding_dim=16,
        decoder_hidden_size=32,
        dropout=0.0,
        reverse_target=reverse,
    )
    model = SequenceAutoencoder(config)
    frames, lengths = _batch(lengths=(9, 6, 4, 8))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = model.loss(frames, lengths).item()
    for _ in range(300):
        optimizer.zero_grad()
        loss = model.loss(frames, lengths)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05 * first
