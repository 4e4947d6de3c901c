"""``seqae train`` as one function: manifest -> features -> fitted model in a run directory."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipelines.extract import Extraction, extract_features
from pipelines.manifest import read_manifest
from pipelines.shards import write_json_atomic
from seqae.config import FeatureConfig, ModelConfig, TrainConfig
from seqae.errors import SeqaeError

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class TrainJob:
    """Everything ``seqae train`` needs."""

    source: Path
    out: Path
    features: FeatureConfig
    model: ModelConfig
    train: TrainConfig
    resume: bool = True


def _resolved_config(job: TrainJob) -> dict:
    return {
        "source": str(job.source.resolve()),
        "features": job.features.to_dict(),
        "model": job.model.to_dict(),
        "train": job.train.to_dict(),
    }


def _check_resume(job: TrainJob, config: dict) -> bool:
    """True if the run directory holds a compatible run to continue; clears it if told to."""
    last = job.out / "checkpoints" / "last.ckpt"
    previous = job.out / CONFIG_FILE
    if not job.resume:
        for name in ("checkpoints", "logs"):
            shutil.rmtree(job.out / name, ignore_errors=True)
        return False
    if not last.is_file():
        return False
    old = json.loads(previous.read_text()) if previous.is_file() else {}
    for part in ("features", "model"):
        if old.get(part) != config[part]:
            raise SeqaeError(
                f"{job.out}: holds a run with other {part} settings; pass "
                "--no-resume to start over or choose another --out"
            )
    logger.info("resuming from %s", last)
    return True


@dataclass
class TrainingData:
    """Log-mel spectra of the readable segments, and what was skipped."""

    extraction: Extraction
    resume: bool

    @property
    def skipped(self) -> list[str]:
        return [reason for _, reason in self.extraction.skipped]


def load_training_data(
    job: TrainJob, progress: Callable[[int], None] | None = None
) -> TrainingData:
    """Check the run directory, then extract features of every readable segment."""
    segments = read_manifest(job.source)
    resume = _check_resume(job, _resolved_config(job))
    extraction = extract_features(segments, job.features, progress=progress, log_mel=True)
    if len(extraction.features) < 2:
        raise SeqaeError(
            f"{job.source}: fewer than 2 readable segments ({len(extraction.skipped)} skipped)"
        )
    return TrainingData(extraction, resume)


def run_training(job: TrainJob, data: TrainingData, bars: bool = True):
    """Fit the model on prepared data and write the run directory; returns the TrainResult."""
    from seqae.training import fit  # imports Lightning: only when training really starts

    job.out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(job.out / CONFIG_FILE, _resolved_config(job))
    return fit(
        data.extraction.features,
        job.features,
        job.model,
        job.train,
        job.out,
        resume=data.resume,
        progress=bars,
    )
