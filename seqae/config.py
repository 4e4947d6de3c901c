"""Typed, frozen configuration for features, models and training.

Every config turns into a plain dict (for JSON files and Lightning hparams) and back, so
checkpoints load with ``weights_only=True`` and the feature settings travel with the weights.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar

from seqae.errors import SeqaeError

T = TypeVar("T")


def config_from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build a config dataclass from a dict, rejecting unknown keys with a clear message."""
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known)
    if unknown:
        raise SeqaeError(f"unknown {cls.__name__} settings: {', '.join(unknown)}")
    return cls(**data)


NORMALIZATIONS = ("utterance", "speaker", "none")
FEATURE_KINDS = ("mfcc", "logmel")
CELLS = ("rnn", "irnn", "lstm", "gru", "pyramidal", "clockwork")  # seqae.models.registry's
DECODER_CELLS = ("rnn", "lstm", "gru")


@dataclass(frozen=True)
class FeatureConfig:
    """How audio becomes frames; stored with every model and every embedding directory."""

    kind: str = "mfcc"  # "mfcc" (13 + deltas + delta-deltas) or "logmel"
    sample_rate: int = 16000
    n_mfcc: int = 13
    n_mels: int = 40
    win_ms: float = 25.0
    hop_ms: float = 10.0
    deltas: bool = True
    normalize: str = "utterance"  # mean-variance normalisation per segment, "speaker" (per
    # speaker, or recording, where a job knows them; else per segment) or "none"
    fmax: float = 0.0  # top of the mel filterbank in Hz (0: half the sample rate)
    trim_db: float = 0.0  # trim a segment's edges quieter than this below its speech (0: off)

    def __post_init__(self) -> None:
        if self.kind not in FEATURE_KINDS:
            raise SeqaeError(f"feature kind must be 'mfcc' or 'logmel', not {self.kind!r}")
        if self.normalize not in NORMALIZATIONS:
            raise SeqaeError(
                f"normalize must be one of {', '.join(NORMALIZATIONS)}, not {self.normalize!r}"
            )
        if not 0.0 <= self.fmax <= self.sample_rate / 2:
            raise SeqaeError(f"fmax must be in [0, {self.sample_rate / 2:g}] Hz, not {self.fmax}")
        if self.trim_db < 0:
            raise SeqaeError(f"trim_db must be 0 (off) or more, not {self.trim_db}")

    @property
    def top_frequency(self) -> float:
        """The mel filterbank's top in Hz."""
        return self.fmax or self.sample_rate / 2

    @property
    def dim(self) -> int:
        base = self.n_mfcc if self.kind == "mfcc" else self.n_mels
        return base * 3 if self.deltas else base

    @property
    def win_length(self) -> int:
        return int(round(self.sample_rate * self.win_ms / 1000))

    @property
    def hop_length(self) -> int:
        return int(round(self.sample_rate * self.hop_ms / 1000))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the encoder-decoder autoencoder."""

    input_dim: int = 39
    cell: str = "gru"  # a registered encoder: rnn | irnn | lstm | gru | pyramidal | clockwork
    hidden_size: int = 256
    layers: int = 2
    bidirectional: bool = True
    embedding_dim: int = 256
    decoder_hidden_size: int = 256
    decoder_layers: int = 1
    dropout: float = 0.1
    reverse_target: bool = False
    decoder_position: bool = True
    frame_stack: int = 2  # the encoder reads k neighbouring frames joined as one step
    clockwork_modules: int = 4  # clockwork encoder: modules with periods 1, 2, 4, ...
    decoder_cell: str = ""  # rnn | lstm | gru; "" follows the encoder's cell, or gru
    teacher_forcing: bool = False  # the decoder also reads the previous target frame
    sampling: float = 0.0  # scheduled sampling: chance of reading its own prediction instead,
    # ramped up from 0 over training (with teacher_forcing only)

    def __post_init__(self) -> None:
        if self.decoder_cell not in ("", "rnn", "lstm", "gru"):
            raise SeqaeError(
                f"decoder_cell must be rnn, lstm, gru or empty, not {self.decoder_cell!r}"
            )
        if not 0.0 <= self.sampling <= 1.0:
            raise SeqaeError(f"sampling must be in [0, 1], not {self.sampling}")
        if self.sampling > 0.0 and not self.teacher_forcing:
            raise SeqaeError("sampling replaces teacher-forced frames; it needs teacher_forcing")
        if self.clockwork_modules < 1:
            raise SeqaeError(f"clockwork_modules must be at least 1, not {self.clockwork_modules}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


OBJECTIVES = ("ae", "dae", "cae", "siamese", "contrastive")
PAIR_ACROSS = ("speaker", "any")
PAIR_SOURCES = ("discover", "labels")


ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")  # Lightning's names


def check_accelerator(name: str) -> None:
    if name not in ACCELERATORS:
        raise SeqaeError(f"accelerator must be one of {', '.join(ACCELERATORS)}, not {name!r}")


@dataclass(frozen=True)
class TrainConfig:
    """Objective, optimisation and data-loading settings for ``seqae train``."""

    objective: str = "cae"  # ae | dae | cae | siamese | contrastive (seqae.training, train_job)
    epochs: int = 30  # of the final stage (after pretraining, for cae and siamese)
    batch_size: int = 32
    learning_rate: float = 4e-3
    weight_decay: float = 0.0
    gradient_clip: float = 1.0
    val_fraction: float = 0.1
    patience: int = 8
    seed: int = 0
    max_frames: int = 400
    threads: int = 0  # 0 = torch default (with several processes: the cores shared out)
    loader_workers: int = 0  # processes preparing batches beside training (0: in-process)
    # Data-parallel training: processes per node, nodes, and the Lightning strategy they use
    devices: int = 1
    num_nodes: int = 1
    strategy: str = "ddp"
    accelerator: str = "auto"  # Lightning's: "auto" takes a GPU when there is one, else the CPU
    # Denoising perturbations of the encoder's input (0 switches one off); see seqae.data.augment.
    augment_warp: float = 0.15
    augment_tempo: float = 0.2
    augment_gain_db: float = 6.0
    augment_noise_db: float = 1.0
    augment_reverb: float = 0.0
    augment_band_limit: float = 0.0
    augment_frame_drop: float = 0.0
    augment_dim_drop: float = 0.0
    augment_time_mask: float = 0.0
    augment_dim_mask: int = 0
    # cae and siamese: an autoencoder is pretrained first, then pairs are found or read.
    pretrain_epochs: int = 20
    pairs: str = "discover"  # "discover" (no labels) or "labels" (the manifest's labels)
    pair_neighbours: int = 5  # candidates per segment proposed by the pretrained embeddings
    pair_keep: float = 0.2  # keep this share of candidates, the lowest DTW costs ...
    pair_threshold: float = 0.0  # ... or, when > 0, those with a DTW cost under this
    margin: float = 0.4  # siamese: triplet margin on cosine similarity
    temperature: float = 0.25  # contrastive: softmax temperature over cosine similarities
    pair_unpaired: bool = False  # cae/siamese: segments without a pair train too, as their
    # own (cae: rebuilt from a perturbed copy, as in pretraining)
    pair_across: str = "speaker"  # discovered pairs join different speakers ("speaker"
    # column, else different files), or "any" segments

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise SeqaeError(
                f"objective must be one of {', '.join(OBJECTIVES)}, not {self.objective!r}"
            )
        if self.pairs not in PAIR_SOURCES:
            raise SeqaeError(f"pairs must be 'discover' or 'labels', not {self.pairs!r}")
        if self.pair_across not in PAIR_ACROSS:
            raise SeqaeError(f"pair_across must be 'speaker' or 'any', not {self.pair_across!r}")
        if self.temperature <= 0:
            raise SeqaeError(f"temperature must be positive, not {self.temperature}")
        if not 0.0 < self.pair_keep <= 1.0:
            raise SeqaeError(f"pair_keep must be in (0, 1], not {self.pair_keep}")
        check_accelerator(self.accelerator)
        if self.devices < 1 or self.num_nodes < 1:
            raise SeqaeError(
                f"devices and num_nodes must be >= 1, not {self.devices}, {self.num_nodes}"
            )

    @property
    def paired(self) -> bool:
        """True for the objectives trained on pairs of segments after a pretraining stage."""
        return self.objective in ("cae", "siamese", "contrastive")

    @property
    def processes(self) -> int:
        """How many processes train together (1: no data parallelism)."""
        return self.devices * self.num_nodes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
