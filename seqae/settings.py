"""Training settings, in layers: the defaults, a named recipe, a config file, then options.

A config file is TOML (or JSON) with one table per section: ``[features]``, ``[model]`` and
``[train]`` for speech; ``[tokens]``, ``[model]``, ``[train]`` and ``[corpus]`` for text (with
``modality = "text"`` at the top). Keys are the field names of the section's config class.
The ``config.json`` every run directory holds is such a file, so a run is repeated with
``seqae train MANIFEST --config RUN/config.json``. Recipes are config files shipped in
``seqae/recipes``. A later layer overrides an earlier one key by key.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from seqae.config import FeatureConfig, ModelConfig, TrainConfig
from seqae.errors import SeqaeError

MODALITIES = ("audio", "text")
RECIPES = Path(__file__).with_name("recipes")

# Set from other settings when the configs are built, so a file's values are not used.
DERIVED = {"audio": {"model": {"input_dim"}}, "text": {"model": {"vocab_size", "max_length"}}}
# Entries of a run's config.json that are not settings: the input, and how a folder was cut.
NOT_SETTINGS = {"source", "segments"}
# What ``seqae train`` does unless told otherwise, where it differs from a config class's
# default (which must stay what older model files were made with).
TRAINING_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "audio": {"features": {"trim_db": 25.0}},
    "text": {},
}

Layer = dict[str, dict[str, Any]]  # section -> field -> value


def sections(modality: str) -> dict[str, type]:
    """The config class of each section of ``modality``'s settings."""
    if modality == "audio":
        return {"features": FeatureConfig, "model": ModelConfig, "train": TrainConfig}
    if modality == "text":
        from seqae.text.config import (
            CorpusOptions,
            TextModelConfig,
            TextTrainConfig,
            TokenizerConfig,
        )

        return {
            "tokens": TokenizerConfig,
            "model": TextModelConfig,
            "train": TextTrainConfig,
            "corpus": CorpusOptions,
        }
    raise SeqaeError(f"modality must be one of {', '.join(MODALITIES)}, not {modality!r}")


def recipe_names() -> list[str]:
    """The recipes ``--recipe`` accepts."""
    return sorted(path.stem for path in RECIPES.glob("*.toml"))


def recipe_path(name: str) -> Path:
    path = RECIPES / f"{name}.toml"
    if not path.is_file():
        raise SeqaeError(f"no recipe {name!r}; choose one of {', '.join(recipe_names())}")
    return path


def read_file(path: Path) -> dict[str, Any]:
    """A TOML or JSON config file as a dict; one line naming the file if it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise SeqaeError(f"{path}: cannot read the config file ({error})") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = _toml().loads(text)
    except ValueError as error:  # json.JSONDecodeError and tomllib.TOMLDecodeError both are
        raise SeqaeError(f"{path}: not a valid {_format(path)} file ({error})") from None
    if not isinstance(data, dict):
        raise SeqaeError(f"{path}: a config file holds tables of settings, not {type(data)}")
    return data


def _format(path: Path) -> str:
    return "JSON" if path.suffix.lower() == ".json" else "TOML"


def _toml():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib


def file_layer(data: dict[str, Any], modality: str, origin: str) -> Layer:
    """The settings of a config file, checked against ``modality``'s sections."""
    declared = data.get("modality", "audio")
    if declared != modality:
        raise SeqaeError(f"{origin}: settings for --modality {declared}, not {modality}")
    known = sections(modality)
    layer: Layer = {}
    for name, values in data.items():
        if name == "modality" or name in NOT_SETTINGS:
            continue
        if name not in known or not isinstance(values, dict):
            raise SeqaeError(f"{origin}: no settings section {name!r}; it has {', '.join(known)}")
        derived = DERIVED[modality].get(name, set())
        layer[name] = {k: v for k, v in values.items() if k not in derived}
        _check_values(known[name], layer[name], f"{origin}: [{name}]")
    return layer


def _check_values(cls: type, values: dict[str, Any], origin: str) -> None:
    defaults = {f.name: f.default for f in fields(cls) if f.default is not MISSING}
    for key, value in values.items():
        if key not in defaults:
            raise SeqaeError(f"{origin}: unknown setting {key!r}; it has {', '.join(defaults)}")
        expected = defaults[key]
        if expected is None or _same_kind(expected, value):
            continue
        raise SeqaeError(
            f"{origin}: {key} must be {type(expected).__name__} (like {expected!r}), not {value!r}"
        )


def _same_kind(expected: Any, value: Any) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return isinstance(expected, bool) and isinstance(value, bool)
    if isinstance(expected, float):
        return isinstance(value, int | float)
    return isinstance(value, type(expected))


def resolve(
    modality: str,
    recipe: str | None = None,
    config: Path | None = None,
    options: Layer | None = None,
) -> dict[str, Any]:
    """The configs of every section: defaults < ``recipe`` < ``config`` file < ``options``."""
    known = sections(modality)
    merged: Layer = {name: {} for name in known}
    layers = [TRAINING_DEFAULTS[modality]]
    if recipe:
        path = recipe_path(recipe)
        layers.append(file_layer(read_file(path), modality, f"recipe {recipe} ({path})"))
    if config is not None:
        layers.append(file_layer(read_file(config), modality, str(config)))
    layers.append(options or {})
    for layer in layers:
        for name, values in layer.items():
            merged[name].update(values)
    return _build(modality, known, merged)


def _build(modality: str, known: dict[str, type], merged: Layer) -> dict[str, Any]:
    if modality == "text":
        built = {name: known[name](**merged[name]) for name in ("tokens", "train", "corpus")}
        # the decoder counts lengths up to the longest sentence training shows it
        model = {**merged["model"], "max_length": built["train"].max_tokens}
        return {**built, "model": known["model"](**model)}
    features = FeatureConfig(**merged["features"])
    model = ModelConfig(**{**merged["model"], "input_dim": features.dim})
    train = dict(merged["train"])
    if "learning_rate" not in train:  # each encoder has the peak rate it stands
        from seqae.models import default_learning_rate

        train["learning_rate"] = default_learning_rate(model.cell)
    return {"features": features, "model": model, "train": TrainConfig(**train)}
