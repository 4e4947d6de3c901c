"""The one training loop of both modalities: a LightningModule and its DataModule, fitted.

Checkpoints (the best epoch and the last, written whole), early stopping, the CSV logger,
the progress bar, the warnings Lightning need not show, resuming from ``last.ckpt``, stopping
cleanly on SIGTERM or Ctrl-C, and ``metrics.json``: the speech and the sentence
autoencoders differ only in the module and the data they hand in.
"""

from __future__ import annotations

import functools
import time
import warnings
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint, RichProgressBar
from pytorch_lightning.loggers import CSVLogger

from seqae.bundle import read_torch_file
from seqae.errors import SeqaeError
from seqae.interrupts import AtomicCheckpointIO, StopOnSignal, fit_until_stopped
from seqae.runs import CHECKPOINTS_DIR, LOGS_DIR, METRICS_FILE, last_checkpoint, write_json_atomic

QUIET = (  # Lightning's advice that does not apply to these small CPU runs
    ".*does not have many workers.*",
    ".*bottleneck.*",
    ".*smaller than the logging interval.*",
    ".*exists and is not empty.*",
    ".*LeafSpec.*is deprecated.*",
    ".*Total length of .* across ranks is zero.*",
)


@dataclass(frozen=True)
class FitSettings:
    """How long and where a module trains."""

    epochs: int
    patience: int
    gradient_clip: float
    accelerator: str = "auto"
    max_minutes: float = 0.0  # 0: no time limit
    log_every_n_steps: int = 10
    layout: dict[str, Any] = field(default_factory=lambda: {"devices": 1})  # processes


class _ProgressBar(RichProgressBar):
    """Rich progress with the epoch losses only (no version number, no per-step noise)."""

    def get_metrics(self, trainer, pl_module) -> dict:
        metrics = super().get_metrics(trainer, pl_module)
        metrics.pop("v_num", None)
        metrics.pop("train_loss_step", None)
        return metrics


def _callbacks(out: Path, settings: FitSettings, has_val: bool, progress: bool) -> list:
    monitor = "val_loss" if has_val else "train_loss_epoch"
    callbacks = [
        ModelCheckpoint(
            dirpath=out / CHECKPOINTS_DIR, filename="best", monitor=monitor, mode="min",
            save_last=True,
        ),
        EarlyStopping(monitor=monitor, mode="min", patience=settings.patience),
    ]  # fmt: skip
    return callbacks + ([_ProgressBar(leave=True)] if progress else [])


def make_trainer(accelerator: str, **settings) -> pl.Trainer:
    """A Lightning Trainer on ``accelerator``; one this machine lacks is refused in one line."""
    from pytorch_lightning.utilities.exceptions import MisconfigurationException

    try:
        return pl.Trainer(accelerator=accelerator, **settings)
    except MisconfigurationException as error:
        raise SeqaeError(f"--accelerator {accelerator}: {str(error).splitlines()[0]}") from None


def resume_from(last: Path, resume: bool) -> str | None:
    """The checkpoint a run continues from, if any; a damaged one stops with one line."""
    if not (resume and last.is_file()):
        return None
    try:
        read_torch_file(last, "checkpoint")
    except SeqaeError as error:
        raise SeqaeError(f"{error}; or start over with --no-resume") from None
    return str(last)


def fit_module(
    module: pl.LightningModule,
    data: pl.LightningDataModule,
    out: Path,
    settings: FitSettings,
    has_val: bool,
    resume: bool = True,
    progress: bool = True,
) -> tuple[pl.Trainer, float]:
    """Fit ``module`` on ``data``, checkpointing into ``out``; (the trainer, seconds taken)."""
    last = last_checkpoint(out)
    stopper = StopOnSignal(last)
    minutes = settings.max_minutes
    trainer = make_trainer(
        settings.accelerator,
        max_epochs=settings.epochs,
        max_time=timedelta(minutes=minutes) if minutes > 0 else None,
        **settings.layout,
        gradient_clip_val=settings.gradient_clip,
        callbacks=[*_callbacks(out, settings, has_val, progress), stopper],
        plugins=[AtomicCheckpointIO()],
        # version_N per (re)start: nothing is overwritten
        logger=CSVLogger(str(out), name=LOGS_DIR),
        enable_progress_bar=progress,
        enable_model_summary=False,
        log_every_n_steps=settings.log_every_n_steps,
        num_sanity_val_steps=0,
    )
    started = time.perf_counter()
    with warnings.catch_warnings():
        for message in QUIET:
            warnings.filterwarnings("ignore", message=message)
        checkpoint = resume_from(last, resume)
        fit = functools.partial(trainer.fit, module, datamodule=data, ckpt_path=checkpoint)
        fit_until_stopped(fit, stopper, trainer)
    return trainer, time.perf_counter() - started


def load_best(trainer: pl.Trainer, module: pl.LightningModule, out: Path) -> float | None:
    """Put the best epoch's weights (else the last's) into ``module``, on the CPU, where the
    bundle and its id are made; returns the best monitored loss."""
    best = trainer.checkpoint_callback
    path = best.best_model_path or str(last_checkpoint(out))
    state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    module.cpu()
    module.load_state_dict(state)
    return float(best.best_model_score) if best.best_model_score is not None else None


def write_metrics(out: Path, metrics: dict[str, Any]) -> None:
    """``metrics.json``, written whole."""
    write_json_atomic(out / METRICS_FILE, metrics)
