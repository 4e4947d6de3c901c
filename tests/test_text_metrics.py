from __future__ import annotations

import math

import numpy as np
import pytest

from pipelines.evaluate.perturb import Perturber
from pipelines.evaluate.text import model_search, tfidf_search
from seqae.text.metrics import corpus_bleu, exact_match, recall_at, token_accuracy

ARCHIVE = [
    "In the beginning God created the heaven and the earth.",
    "And God said, Let there be light: and there was light.",
    "And the evening and the morning were the first day.",
    "The LORD is my shepherd; I shall not want.",
    "Jesus wept.",
]


def test_token_accuracy_counts_every_position():
    assert token_accuracy([[1, 2, 3]], [[1, 2, 3]]) == 1.0
    assert token_accuracy([[1, 2, 3, 4]], [[1, 9, 3, 4]]) == 0.75
    assert token_accuracy([[1, 2, 3, 4]], [[2, 3, 4]]) == 0.0  # shifted by one: all wrong
    assert token_accuracy([[1, 2]], [[1, 2, 5, 6]]) == 0.5  # extra tokens count as wrong
    assert token_accuracy([[1, 2], [3, 4, 5, 6]], [[1, 2], [3]]) == 3 / 6  # pooled


def test_exact_match_and_recall():
    assert exact_match(["a b", "c d"], ["a b", "c e"]) == 0.5
    ranked = np.array([[0, 5, 6], [7, 1, 8], [9, 9, 9]])
    truth = np.array([0, 1, 2])
    assert recall_at(ranked, truth, 1) == pytest.approx(1 / 3)
    assert recall_at(ranked, truth, 2) == pytest.approx(2 / 3)


def test_bleu_against_the_formula():
    reference = "the cat sat on the mat today"
    output = "the cat sat on a mat today"
    # n-gram precisions by hand: 6/7, 4/6, 2/5, 1/4; same length, so no brevity penalty
    expected = math.exp(sum(math.log(p) for p in (6 / 7, 4 / 6, 2 / 5, 1 / 4)) / 4)
    assert corpus_bleu([reference], [output]) == pytest.approx(expected, abs=1e-4)
    assert corpus_bleu(ARCHIVE, ARCHIVE) == pytest.approx(1.0)


def test_perturbations_are_seeded_and_edit_each_sentence():
    first = [Perturber(ARCHIVE, 0.2, seed=3)(s) for s in ARCHIVE]
    again = [Perturber(ARCHIVE, 0.2, seed=3)(s) for s in ARCHIVE]
    assert first == again
    perturber = Perturber(ARCHIVE, 0.2, seed=3)
    words = "a b c d e".split()
    assert perturber.edit(words, "drop") != words and len(perturber.edit(words, "drop")) == 4
    swapped = perturber.edit(words, "swap")
    assert sorted(swapped) == words and swapped != words
    substituted = perturber.edit(words, "substitute")
    changed = sum(a != b for a, b in zip(words, substituted, strict=True))
    assert len(substituted) == 5 and changed == 1
    assert sum(a != b for a, b in zip(ARCHIVE, first, strict=True)) >= 4


def test_tfidf_search_matches_brute_force():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    queries = ["God created the earth", "my shepherd", "the first day and evening"]
    ranked = tfidf_search(ARCHIVE)(queries)
    vectorizer = TfidfVectorizer().fit(ARCHIVE)
    scores = cosine_similarity(vectorizer.transform(queries), vectorizer.transform(ARCHIVE))
    assert ranked.shape == (3, 5)
    assert ranked[:, 0].tolist() == scores.argmax(axis=1).tolist() == [0, 3, 2]


@pytest.fixture
def text_bundle(tmp_path):
    """An untrained word-level model with its tokenizer, saved and loaded as a bundle."""
    import torch

    from seqae.models.text_autoencoder import TextAutoencoder
    from seqae.text.bundle import load_text_bundle, save_text_bundle
    from seqae.text.config import TextModelConfig, TokenizerConfig
    from seqae.text.tokenizers import fit_tokenizer

    torch.manual_seed(0)
    tokenizer = fit_tokenizer(TokenizerConfig(kind="word"), ARCHIVE)
    config = TextModelConfig(vocab_size=tokenizer.vocab_size, token_dim=8, hidden_size=16,
                             embedding_dim=12, decoder_hidden_size=16)  # fmt: skip
    save_text_bundle(tmp_path / "model.pt", TextAutoencoder(config), tokenizer)
    return load_text_bundle(tmp_path)


def test_model_search_matches_numpy_cosine(text_bundle):
    queries = ["God created the heaven", "Jesus wept greatly."]
    ranked = model_search(text_bundle, ARCHIVE)(queries)
    a, q = text_bundle.embed(ARCHIVE), text_bundle.embed(queries)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    np.testing.assert_array_equal(ranked, np.argsort(-(q @ a.T), axis=1, kind="stable"))
