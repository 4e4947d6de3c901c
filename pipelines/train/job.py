"""A training job of either modality: the input, the run directory and the resolved settings."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipelines.segment.longform import SegmentSettings


@dataclass(frozen=True)
class TrainJob:
    """Everything ``seqae train`` needs: ``settings`` holds one config per section, as
    ``seqae.settings.resolve`` builds them (speech: features, model, train; text: tokens,
    model, train, corpus)."""

    source: Path
    out: Path
    settings: dict[str, Any]
    modality: str = "audio"
    resume: bool = True
    segments: SegmentSettings | None = None  # speech: cut a folder's long recordings

    @property
    def model(self) -> Any:
        return self.settings["model"]

    @property
    def train(self) -> Any:
        return self.settings["train"]

    @property
    def features(self) -> Any:  # speech
        return self.settings["features"]

    @property
    def tokens(self) -> Any:  # text
        return self.settings["tokens"]

    @property
    def corpus(self) -> Any:  # text
        return self.settings["corpus"]

    def with_section(self, name: str, config: Any, **changes: Any) -> TrainJob:
        """This job with one section's config replaced (and other fields changed)."""
        return replace(self, settings={**self.settings, name: config}, **changes)

    def resolved_config(self) -> dict[str, Any]:
        """What ``RUN/config.json`` records (itself a config file for ``--config``)."""
        config = {"source": str(self.source.resolve())}
        config |= {name: section.to_dict() for name, section in self.settings.items()}
        if self.segments:
            config["segments"] = self.segments.to_dict()
        return {"modality": "text", **config} if self.modality == "text" else config
