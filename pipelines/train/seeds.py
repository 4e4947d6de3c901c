"""Retrain a run's recipe with other seeds, to see how much a result owes to chance."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from pipelines.segment.longform import SegmentSettings
from pipelines.train.job import TrainJob
from pipelines.train.speech import CONFIG_FILE, load_training_data, run_training
from seqae.config import FeatureConfig, ModelConfig, TrainConfig, config_from_dict
from seqae.errors import SeqaeError
from seqae.runs import METRICS_FILE, MODEL_FILE, SEEDS_DIR


def job_of(run: Path) -> TrainJob:
    """The TrainJob recorded in ``RUN/config.json``."""
    path = run / CONFIG_FILE
    if not path.is_file():
        raise SeqaeError(f"{run}: no {CONFIG_FILE}; --seeds needs a run directory of 'seqae train'")
    config = json.loads(path.read_text())
    settings = {
        "features": config_from_dict(FeatureConfig, config["features"]),
        "model": config_from_dict(ModelConfig, config["model"]),
        "train": config_from_dict(TrainConfig, config["train"]),
    }
    segments = SegmentSettings.from_dict(config["segments"]) if "segments" in config else None
    return TrainJob(Path(config["source"]), run, settings, segments=segments)


def seed_runs(run: Path, count: int, bars: bool = True) -> list[Path]:
    """``run`` and ``count - 1`` runs of the same recipe with the next seeds.

    They live in ``RUN/seeds/seed-S``; a finished one is reused, an interrupted one resumes.
    """
    if count <= 1:
        return [run]
    job = job_of(run)
    runs = [run]
    for seed in range(job.train.seed + 1, job.train.seed + count):
        out = run / SEEDS_DIR / f"seed-{seed}"
        runs.append(out)
        if (out / MODEL_FILE).is_file() and (out / METRICS_FILE).is_file():
            continue
        other = job.with_section("train", replace(job.train, seed=seed), out=out, resume=True)
        run_training(other, load_training_data(other), bars=bars)
    return runs
