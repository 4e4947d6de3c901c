"""Tokenizers: characters, words, or subword units learnt from the user's corpus (sentencepiece).

Every tokenizer reserves the same four ids (padding, unknown, start and end of sentence), is
fitted on the training sentences, and turns into a plain dict (``state``) that is stored in
the model bundle, so a model always reads text exactly as it was trained to.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from seqae.errors import SeqaeError
from seqae.text.config import TokenizerConfig

SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")
PAD, UNK, BOS, EOS = range(4)
UNKNOWN_TEXT = "<unk>"

# a word or a punctuation mark, with the space before it if there is one: joining the pieces
# gives the sentence back exactly (whitespace runs read as one space)
_WORD = re.compile(r" ?\w+| ?[^\w\s]")


class Tokenizer(Protocol):
    """What the model and the pipelines need from any tokenizer."""

    config: TokenizerConfig

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def state(self) -> dict[str, Any]: ...


class VocabularyTokenizer:
    """Characters or words, with a vocabulary of the most frequent ones in the corpus."""

    def __init__(self, config: TokenizerConfig, pieces: Sequence[str]) -> None:
        self.config = config
        self.pieces = list(pieces)  # the specials first
        self.ids = {piece: i for i, piece in enumerate(self.pieces)}

    @property
    def vocab_size(self) -> int:
        return len(self.pieces)

    def split(self, text: str) -> list[str]:
        text = text.lower() if self.config.lowercase else text
        return list(text) if self.config.kind == "char" else _WORD.findall(text)

    def encode(self, text: str) -> list[int]:
        return [self.ids.get(piece, UNK) for piece in self.split(text)]

    def decode(self, ids: Sequence[int]) -> str:
        unknown = UNKNOWN_TEXT if self.config.kind == "char" else f" {UNKNOWN_TEXT}"
        pieces = [self.pieces[i] if i >= len(SPECIALS) else unknown for i in _content(ids)]
        return "".join(pieces).strip()

    def state(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "pieces": self.pieces}

    @classmethod
    def fit(cls, config: TokenizerConfig, sentences: Iterable[str]) -> VocabularyTokenizer:
        """Keep the ``vocab_size - 4`` most frequent pieces seen ``min_count`` times or more."""
        probe = cls(config, SPECIALS)
        counts = Counter(piece for sentence in sentences for piece in probe.split(sentence))
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))  # deterministic
        kept = [p for p, n in ranked if n >= config.min_count][: config.vocab_size - len(SPECIALS)]
        return cls(config, [*SPECIALS, *kept])


class SentencePieceTokenizer:
    """Byte-pair-encoding subword units trained with sentencepiece on the corpus."""

    def __init__(self, config: TokenizerConfig, model_proto: bytes) -> None:
        import sentencepiece

        self.config = config
        self.model_proto = bytes(model_proto)
        self.processor = sentencepiece.SentencePieceProcessor(model_proto=self.model_proto)

    @property
    def vocab_size(self) -> int:
        return self.processor.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return self.processor.encode(text.lower() if self.config.lowercase else text)

    def decode(self, ids: Sequence[int]) -> str:
        return self.processor.decode([int(i) for i in _content(ids)])

    def state(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "model_proto": self.model_proto}

    @classmethod
    def fit(cls, config: TokenizerConfig, sentences: Iterable[str]) -> SentencePieceTokenizer:
        """Train a BPE model of at most ``vocab_size`` pieces (fewer if the corpus is small)."""
        import sentencepiece

        lines = [s.lower() if config.lowercase else s for s in sentences]
        buffer = io.BytesIO()
        try:
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=iter(lines),
                model_writer=buffer,
                model_type="bpe",
                vocab_size=config.vocab_size,
                hard_vocab_limit=False,  # a small corpus gets a smaller vocabulary, not an error
                character_coverage=1.0,
                normalization_rule_name="identity",  # the text comes back as it went in
                pad_id=PAD,
                unk_id=UNK,
                bos_id=BOS,
                eos_id=EOS,
                num_threads=1,
                minloglevel=2,
            )
        except RuntimeError as error:
            raise SeqaeError(f"sentencepiece could not learn subword units ({error})") from None
        return cls(config, buffer.getvalue())


def _content(ids: Sequence[int]) -> list[int]:
    """The ids up to the first end-of-sentence, without padding or start markers."""
    out = []
    for i in ids:
        if int(i) == EOS:
            break
        if int(i) not in (PAD, BOS):
            out.append(int(i))
    return out


def fit_tokenizer(config: TokenizerConfig, sentences: Sequence[str]) -> Tokenizer:
    """Fit the tokenizer that ``config.kind`` names on ``sentences``."""
    if not sentences:
        raise SeqaeError("no sentences to fit a tokenizer on")
    if config.kind == "bpe":
        return SentencePieceTokenizer.fit(config, sentences)
    return VocabularyTokenizer.fit(config, sentences)


def tokenizer_from_state(state: dict[str, Any]) -> Tokenizer:
    """Rebuild a tokenizer from its ``state()``."""
    config = TokenizerConfig(**state["config"])
    if config.kind == "bpe":
        return SentencePieceTokenizer(config, state["model_proto"])
    return VocabularyTokenizer(config, state["pieces"])


def unknown_share(tokenizer: Tokenizer, sentences: Sequence[str]) -> float:
    """Share of the tokens of ``sentences`` that the tokenizer reads as unknown."""
    ids = [i for sentence in sentences for i in tokenizer.encode(sentence)]
    return sum(i == UNK for i in ids) / max(1, len(ids))
