"""Typed, frozen configuration for sentence autoencoders: tokens, model and training.

Like the audio configs, each turns into a plain dict and back, so checkpoints load with
``weights_only=True`` and the tokenizer settings travel with the weights.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from seqae.config import DECODER_CELLS, ModelConfig, check_accelerator
from seqae.errors import SeqaeError

TOKEN_KINDS = ("char", "word", "bpe")
SOFTMAXES = ("full", "adaptive", "tied")


@dataclass(frozen=True)
class TokenizerConfig:
    """How sentences become token ids; the fitted vocabulary is stored with the model."""

    kind: str = "word"  # char | word | bpe (sentencepiece, trained on the user's corpus)
    vocab_size: int = 8000  # word, char: the most frequent tokens kept; bpe: sentencepiece's size
    min_count: int = 1  # word, char: rarer tokens read as <unk>
    lowercase: bool = False

    def __post_init__(self) -> None:
        if self.kind not in TOKEN_KINDS:
            raise SeqaeError(f"tokens must be one of {', '.join(TOKEN_KINDS)}, not {self.kind!r}")
        if self.vocab_size < 8:
            raise SeqaeError(f"vocab_size must be at least 8, not {self.vocab_size}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TextModelConfig:
    """Shape of the sentence autoencoder: token embeddings -> registered encoder -> decoder."""

    vocab_size: int = 0  # set from the fitted tokenizer
    token_dim: int = 128
    cell: str = "gru"  # any registered encoder (see seqae.models.registry)
    hidden_size: int = 256
    layers: int = 1
    bidirectional: bool = True
    embedding_dim: int = 512
    decoder_hidden_size: int = 256
    decoder_layers: int = 1
    decoder_cell: str = "gru"  # rnn | lstm | gru
    softmax: str = "tied"  # tied (token vectors = embeddings), adaptive (frequency clusters), full
    train_vocab: int = 0  # tied, in training: score only these most frequent tokens and the
    # batch's own targets (0: every token); cheaper, but the rare tokens come out too likely
    dropout: float = 0.0  # on token embeddings and between encoder layers
    # True: the decoder also reads the previous token (the true one in training, its own in
    # decoding); False: only the vector (and its step's index with position_dim), so it decodes
    # exactly as it was trained
    feed_tokens: bool = False
    word_dropout: float = 0.0  # feed_tokens: decoder inputs replaced by <unk> (Bowman et al.)
    variational: bool = False  # a Gaussian bottleneck with a KL term (annealed in training)
    clockwork_modules: int = 4
    position_dim: int = 0  # > 0: the decoder reads its step's index (from the first token)
    # True: the decoder runs both ways over the sentence's length (which a head predicts from
    # the vector in decoding), so its last tokens are as near a start as its first; it cannot
    # read tokens. None: both ways unless feed_tokens
    decoder_bidirectional: bool | None = None
    length_dim: int = 0  # > 0: the decoder reads how many tokens are left (Kikuchi et al.)
    max_length: int = 64  # lengths the decoder counts; longer sentences count as this long
    # the head that predicts a sentence's length from its vector (bidirectional or counting
    # decoders): its hidden layer (0: linear), and the share of its loss's gradient that
    # reaches the vector; the head itself learns at the full rate. A vector pulled hard
    # towards its length sets apart sentences that differ by one dropped word
    length_head_hidden: int = 256
    length_pull: float = 0.03

    def __post_init__(self) -> None:
        if self.decoder_bidirectional is None:  # frozen: set the resolved value once, here
            object.__setattr__(self, "decoder_bidirectional", not self.feed_tokens)
        if self.decoder_cell not in DECODER_CELLS:
            raise SeqaeError(f"decoder_cell must be rnn, lstm or gru, not {self.decoder_cell!r}")
        if self.softmax not in SOFTMAXES:
            raise SeqaeError(f"softmax must be full, adaptive or tied, not {self.softmax!r}")
        if not 0.0 <= self.word_dropout < 1.0:
            raise SeqaeError(f"word_dropout must be in [0, 1), not {self.word_dropout}")
        if self.decoder_bidirectional and self.feed_tokens:
            raise SeqaeError(
                "a bidirectional decoder cannot read the previous token: it writes every token "
                "at once (drop --feed-tokens or --decoder-bidirectional)"
            )
        if not 0.0 <= self.length_pull <= 1.0:
            raise SeqaeError(f"length_pull must be in [0, 1], not {self.length_pull}")
        if self.length_dim < 0 or self.max_length < 1:
            raise SeqaeError(
                f"length_dim must be >= 0 and max_length >= 1, not {self.length_dim}, "
                f"{self.max_length}"
            )

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> TextModelConfig:
        """The config of a saved model. Those saved before ``feed_tokens`` existed fed their
        decoder the previous token; those saved before ``length_pull`` had a one-way decoder
        and predicted lengths with a linear head whose whole gradient reached the vector."""
        older = {"feed_tokens": True, "decoder_bidirectional": False}
        older |= {"length_head_hidden": 0, "length_pull": 1.0}
        return cls(**{**(older if "length_pull" not in stored else {}), **stored})

    def encoder_config(self) -> ModelConfig:
        """The registry's config for an encoder reading token embeddings one per step.

        A variational model's encoder emits twice the embedding size: a mean and a log-variance.
        """
        return ModelConfig(
            input_dim=self.token_dim,
            cell=self.cell,
            hidden_size=self.hidden_size,
            layers=self.layers,
            bidirectional=self.bidirectional,
            embedding_dim=self.embedding_dim * (2 if self.variational else 1),
            dropout=self.dropout,
            frame_stack=1,
            clockwork_modules=self.clockwork_modules,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CorpusOptions:
    """How a corpus is read."""

    text_column: str = "text"  # CSV column or JSONL field holding the sentence
    max_words: int = 60  # longer lines are split into pieces of at most this many words

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TextTrainConfig:
    """Optimisation and data settings for ``seqae train --modality text``."""

    epochs: int = 30
    max_minutes: float = 0.0  # stop training after this long (0: no limit)
    batch_size: int = 64
    learning_rate: float = 3e-3
    gradient_clip: float = 1.0
    val_fraction: float = 0.05
    patience: int = 5
    seed: int = 0
    max_tokens: int = 64  # longer sentences are cut to this many tokens for training
    kl_anneal_steps: int = 2000  # variational: the KL weight rises from 0 to 1 over these steps
    sampling: float = 0.0  # share of decoder inputs that are its own guesses, reached at the end
    noise_drop: float = 0.0  # denoising (Hill et al. 2016): share of input tokens dropped ...
    noise_swap: float = 0.0  # ... and share of neighbouring input tokens swapped
    threads: int = 0  # 0 = torch default
    accelerator: str = "auto"  # Lightning's: "auto" takes a GPU when there is one, else the CPU

    def __post_init__(self) -> None:
        check_accelerator(self.accelerator)
        for name in ("noise_drop", "noise_swap", "val_fraction", "sampling"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise SeqaeError(f"{name} must be in [0, 1), not {getattr(self, name)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
