"""One registry and one factory for encoders, so cell types are not if/else chains."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from seqae.config import ModelConfig
from seqae.errors import SeqaeError

_ENCODERS: dict[str, Callable[[ModelConfig], nn.Module]] = {}


def register_encoder(name: str) -> Callable:
    """Class decorator: make an encoder buildable as ``--cell name``."""

    def wrap(builder: Callable[[ModelConfig], nn.Module]) -> Callable[[ModelConfig], nn.Module]:
        _ENCODERS[name] = builder
        return builder

    return wrap


def encoder_names() -> list[str]:
    """Names of all registered encoders."""
    return sorted(_ENCODERS)


def build_encoder(config: ModelConfig) -> nn.Module:
    """Build the encoder that ``config.cell`` names."""
    if config.cell not in _ENCODERS:
        raise SeqaeError(
            f"unknown cell {config.cell!r}; choose one of {', '.join(encoder_names())}"
        )
    return _ENCODERS[config.cell](config)
