from __future__ import annotations

import re
from collections import Counter

import pytest

from seqae.errors import SeqaeError
from seqae.text.config import TokenizerConfig
from seqae.text.tokenizers import (
    BOS,
    EOS,
    SPECIALS,
    UNK,
    fit_tokenizer,
    tokenizer_from_state,
    unknown_share,
)

SENTENCES = [
    "In the beginning God created the heaven and the earth.",
    "And the earth was without form, and void; and darkness was upon the face of the deep.",
    "And God said, Let there be light: and there was light.",
    "And God saw the light, that it was good (very good).",
    "And the evening and the morning were the first day.",
    "The LORD's word came unto Jonah, saying,",
]


@pytest.mark.parametrize("kind", ["char", "word", "bpe"])
def test_round_trip_is_exact(kind):
    tokenizer = fit_tokenizer(TokenizerConfig(kind=kind, vocab_size=200), SENTENCES)
    for sentence in SENTENCES:
        ids = tokenizer.encode(sentence)
        assert UNK not in ids and min(ids) >= len(SPECIALS)
        assert tokenizer.decode(ids) == sentence
        assert tokenizer.decode([BOS, *ids, EOS, 7, 8]) == sentence  # stops at <eos>
    rebuilt = tokenizer_from_state(tokenizer.state())
    assert rebuilt.encode(SENTENCES[1]) == tokenizer.encode(SENTENCES[1])
    assert rebuilt.vocab_size == tokenizer.vocab_size


def test_word_pieces_carry_their_space():
    tokenizer = fit_tokenizer(TokenizerConfig(kind="word"), SENTENCES)
    pieces = [tokenizer.pieces[i] for i in tokenizer.encode("And God said, Let")]
    assert pieces == ["And", " God", " said", ",", " Let"]


def test_unknown_tokens_and_vocabulary_limit():
    tokenizer = fit_tokenizer(TokenizerConfig(kind="word", vocab_size=10), SENTENCES)
    assert tokenizer.vocab_size == 10
    counts = Counter(p for s in SENTENCES for p in re.findall(r" ?\w+| ?[^\w\s]", s))
    top = sorted(counts, key=lambda piece: (-counts[piece], piece))[:6]
    assert tokenizer.pieces == [*SPECIALS, *top]
    ids = tokenizer.encode("And the zebra.")
    assert UNK in ids and tokenizer.decode(ids) == "And the <unk>."
    assert 0.0 < unknown_share(tokenizer, SENTENCES) < 1.0
    chars = fit_tokenizer(TokenizerConfig(kind="char", min_count=2), SENTENCES)
    assert chars.encode("q") == [UNK]  # 'q' does not occur twice


def test_lowercase_and_bpe_unknown_characters():
    lower = fit_tokenizer(TokenizerConfig(kind="word", lowercase=True), SENTENCES)
    assert lower.encode("AND GOD") == lower.encode("and god")
    bpe = fit_tokenizer(TokenizerConfig(kind="bpe", vocab_size=120), SENTENCES)
    assert bpe.vocab_size <= 120
    assert UNK in bpe.encode("Zürich ☃")  # characters never seen in training


def test_bad_settings_are_refused():
    with pytest.raises(SeqaeError, match="tokens must be one of"):
        TokenizerConfig(kind="morpheme")
    with pytest.raises(SeqaeError, match="no sentences"):
        fit_tokenizer(TokenizerConfig(), [])
