"""Registries instead of if/else chains: of encoders (one factory builds any ``--cell``), and
of whole models (what each kind of model file is, and how it is loaded)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from seqae.config import ModelConfig
from seqae.errors import SeqaeError

DEFAULT_LEARNING_RATE = 4e-3

_ENCODERS: dict[str, Callable[[ModelConfig], nn.Module]] = {}
_LEARNING_RATES: dict[str, float] = {}


def register_encoder(name: str, learning_rate: float = DEFAULT_LEARNING_RATE) -> Callable:
    """Class decorator: make an encoder buildable as ``--cell name``.

    ``learning_rate`` is the peak rate ``seqae train`` uses with this encoder unless told
    otherwise: cells differ in how large a step they stand (a ReLU recurrence diverges where a
    GRU learns fastest).
    """

    def wrap(builder: Callable[[ModelConfig], nn.Module]) -> Callable[[ModelConfig], nn.Module]:
        _ENCODERS[name] = builder
        _LEARNING_RATES[name] = learning_rate
        return builder

    return wrap


def encoder_names() -> list[str]:
    """Names of all registered encoders."""
    return sorted(_ENCODERS)


def _check_name(cell: str) -> None:
    if cell not in _ENCODERS:
        raise SeqaeError(f"unknown cell {cell!r}; choose one of {', '.join(encoder_names())}")


def default_learning_rate(cell: str) -> float:
    """The peak learning rate registered for ``cell``."""
    _check_name(cell)
    return _LEARNING_RATES[cell]


def build_encoder(config: ModelConfig) -> nn.Module:
    """Build the encoder that ``config.cell`` names."""
    _check_name(config.cell)
    return _ENCODERS[config.cell](config)


@dataclass(frozen=True)
class ModelKind:
    """A whole model seqae can load: the ``kind`` its files carry, what it reads, and how a
    loaded file becomes a bundle."""

    name: str  # "speech", "text"
    kind: str  # the "kind" field of its model.pt
    modality: str  # what it reads: "audio" or "text"
    from_payload: Callable[[dict, Path], Any]


MODEL_KINDS: dict[str, ModelKind] = {}  # by the kind field of the file


def register_model(kind: ModelKind) -> None:
    MODEL_KINDS[kind.kind] = kind
