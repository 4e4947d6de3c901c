from __future__ import annotations

import torch

from seqae.models.text_autoencoder import TextAutoencoder
from seqae.models.token_search import greedy_decode
from seqae.text.bundle import load_text_bundle, save_text_bundle
from seqae.text.config import TextModelConfig, TokenizerConfig
from seqae.text.tokenizers import fit_tokenizer

SENTENCES = ["In the beginning God created the heaven and the earth.", "Jesus wept."]
TINY = dict(token_dim=8, hidden_size=16, embedding_dim=12, decoder_hidden_size=16)
NEWER = ("decoder_bidirectional", "length_head_hidden", "length_pull")  # keys added since


def test_a_bundle_rebuilds_the_same_model(tmp_path):
    torch.manual_seed(0)
    tokenizer = fit_tokenizer(TokenizerConfig(kind="word"), SENTENCES)
    config = TextModelConfig(vocab_size=tokenizer.vocab_size, length_dim=8, **TINY)
    model = TextAutoencoder(config).eval()
    save_text_bundle(tmp_path / "model.pt", model, tokenizer)
    bundle = load_text_bundle(tmp_path)
    assert bundle.model.decoder.counts_length
    ids = torch.tensor([tokenizer.encode(SENTENCES[0])])
    lengths = torch.tensor([ids.size(1)])
    torch.testing.assert_close(bundle.model.embed(ids, lengths), model.embed(ids, lengths))
    z = model.embed(ids, lengths)
    steps = 2 * ids.size(1) + 10  # the bundle's cap on decoding steps
    assert bundle.reconstruct_ids(SENTENCES[:1]) == greedy_decode(model.decoder, z, steps)


def test_a_bundle_from_before_length_counting_still_loads(tmp_path):
    """Bundles written before ``length_dim``, ``position_dim`` and ``feed_tokens`` existed hold
    no such keys: their decoder read the previous token and did not count, and must be
    rebuilt so (although a decoder now reads no tokens by default)."""
    torch.manual_seed(0)
    tokenizer = fit_tokenizer(TokenizerConfig(kind="word"), SENTENCES)
    config = TextModelConfig(vocab_size=tokenizer.vocab_size, feed_tokens=True, **TINY)
    save_text_bundle(tmp_path / "model.pt", TextAutoencoder(config), tokenizer)
    payload = torch.load(tmp_path / "model.pt", weights_only=True)
    for key in ("length_dim", "max_length", "position_dim", "feed_tokens", *NEWER):
        del payload["model_config"][key]
    torch.save(payload, tmp_path / "model.pt")
    bundle = load_text_bundle(tmp_path)
    assert not bundle.model.decoder.counts_length and bundle.model.config.feed_tokens
    assert len(bundle.reconstruct(SENTENCES)) == 2


def test_a_counting_bundle_from_before_the_length_pull_still_loads(tmp_path):
    """Bundles written before ``length_pull`` predicted lengths with a linear head; they must
    load into one, with the weights they were saved with."""
    torch.manual_seed(0)
    tokenizer = fit_tokenizer(TokenizerConfig(kind="word"), SENTENCES)
    old = dict(feed_tokens=True, length_dim=8, length_head_hidden=0, length_pull=1.0)
    model = TextAutoencoder(TextModelConfig(vocab_size=tokenizer.vocab_size, **old, **TINY))
    save_text_bundle(tmp_path / "model.pt", model.eval(), tokenizer)
    payload = torch.load(tmp_path / "model.pt", weights_only=True)
    for key in NEWER:
        del payload["model_config"][key]
    torch.save(payload, tmp_path / "model.pt")
    bundle = load_text_bundle(tmp_path)
    assert isinstance(bundle.model.decoder.length_head, torch.nn.Linear)
    assert bundle.model.config.length_pull == 1.0
    z = torch.randn(3, 12)
    torch.testing.assert_close(
        bundle.model.decoder.predict_length(z), model.decoder.predict_length(z)
    )


def test_every_registered_model_loads_through_one_loader(tmp_path):
    import numpy as np

    from seqae.bundle import MODEL_KINDS, load_bundle, save_bundle
    from seqae.config import FeatureConfig, ModelConfig
    from seqae.models import SequenceAutoencoder

    torch.manual_seed(0)
    tokenizer = fit_tokenizer(TokenizerConfig(kind="word"), SENTENCES)
    text = TextAutoencoder(TextModelConfig(vocab_size=tokenizer.vocab_size, **TINY))
    save_text_bundle(tmp_path / "text.pt", text, tokenizer)
    features = FeatureConfig()
    speech = SequenceAutoencoder(
        ModelConfig(
            input_dim=features.dim, hidden_size=8, layers=1, embedding_dim=4, decoder_hidden_size=8
        )  # fmt: skip
    )
    save_bundle(tmp_path / "speech.pt", speech, features)
    inputs = {"speech": [np.zeros((7, features.dim), np.float32)], "text": SENTENCES}
    assert {kind.name for kind in MODEL_KINDS.values()} == set(inputs)
    for kind in MODEL_KINDS.values():
        bundle = load_bundle(tmp_path / f"{kind.name}.pt")
        assert bundle.modality == kind.modality
        vectors = bundle.embed(inputs[kind.name])
        assert vectors.shape[0] == len(inputs[kind.name]) and np.isfinite(vectors).all()
