"""Fit a sentence autoencoder on token-id sentences with Lightning and export ``RUN/model.pt``."""

from __future__ import annotations

import functools
import json
import time
import warnings
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger

from seqae.data import split_indices
from seqae.errors import SeqaeError
from seqae.interrupts import AtomicCheckpointIO, StopOnSignal, fit_until_stopped
from seqae.text.bundle import save_text_bundle
from seqae.text.config import TextModelConfig, TextTrainConfig
from seqae.text.data import TokenDataModule, TokenDataset
from seqae.text.lit_module import TextAutoencoderModule
from seqae.text.tokenizers import Tokenizer
from seqae.training import _ProgressBar, make_trainer, resume_from

BUNDLE_NAME = "model.pt"


@dataclass(frozen=True)
class TextTrainResult:
    """What a text training run produced."""

    model_id: str
    bundle: Path
    epochs: int
    best_val_loss: float | None
    seconds: float
    train_sentences: int
    val_sentences: int


def _callbacks(out: Path, config: TextTrainConfig, has_val: bool, progress: bool) -> list:
    monitor = "val_loss" if has_val else "train_loss_epoch"
    callbacks = [
        ModelCheckpoint(
            dirpath=out / "checkpoints", filename="best", monitor=monitor, save_last=True
        ),
        EarlyStopping(monitor=monitor, mode="min", patience=config.patience),
    ]
    return callbacks + ([_ProgressBar(leave=True)] if progress else [])


def _trainer(
    out: Path, config: TextTrainConfig, has_val: bool, progress: bool, stopper: StopOnSignal
) -> pl.Trainer:
    return make_trainer(
        config.accelerator,
        max_epochs=config.epochs,
        max_time=timedelta(minutes=config.max_minutes) if config.max_minutes > 0 else None,
        devices=1,
        gradient_clip_val=config.gradient_clip,
        callbacks=[*_callbacks(out, config, has_val, progress), stopper],
        plugins=[AtomicCheckpointIO()],
        logger=CSVLogger(str(out), name="logs"),  # version_N per (re)start
        enable_progress_bar=progress,
        enable_model_summary=False,
        log_every_n_steps=20,
        num_sanity_val_steps=0,
    )


QUIET = (
    ".*does not have many workers.*",
    ".*exists and is not empty.*",
    ".*LeafSpec.*is deprecated.*",
    ".*smaller than the logging interval.*",
    ".*Total length of .* across ranks is zero.*",
)


def _data(sentences: list[np.ndarray], train: TextTrainConfig) -> TokenDataModule:
    """Seeded train/validation split; the training side gets the denoising noise, if any."""
    train_rows, val_rows = split_indices(len(sentences), train.val_fraction, train.seed)
    noise = dict(drop=train.noise_drop, swap=train.noise_swap, seed=train.seed)
    train_set = TokenDataset(sentences, train_rows, train.max_tokens, **noise)
    val_set = TokenDataset(sentences, val_rows, train.max_tokens) if len(val_rows) else None
    return TokenDataModule(train_set, val_set, train.batch_size, train.seed)


def _write_metrics(out: Path, result: TextTrainResult) -> None:
    metrics = {**asdict(result), "bundle": str(result.bundle)}
    tmp = out / ".metrics.json.tmp"
    tmp.write_text(json.dumps(metrics, indent=2) + "\n")
    tmp.replace(out / "metrics.json")


def fit_text(
    sentences: list[np.ndarray],
    tokenizer: Tokenizer,
    model: TextModelConfig,
    train: TextTrainConfig,
    out: Path,
    resume: bool = True,
    progress: bool = True,
) -> TextTrainResult:
    """Train on token-id sentences; write checkpoints, logs, ``metrics.json`` and the bundle
    (the weights of the epoch with the best validation loss)."""
    if len(sentences) < 2:
        raise SeqaeError(f"need at least 2 sentences to train, got {len(sentences)}")
    if model.vocab_size != tokenizer.vocab_size:
        raise SeqaeError(f"model vocab {model.vocab_size} != tokenizer's {tokenizer.vocab_size}")
    out.mkdir(parents=True, exist_ok=True)
    if train.threads:
        torch.set_num_threads(train.threads)
    pl.seed_everything(train.seed, workers=True, verbose=False)
    data = _data(sentences, train)
    module = TextAutoencoderModule(model.to_dict(), train.to_dict())
    last = out / "checkpoints" / "last.ckpt"
    stopper = StopOnSignal(last)
    trainer = _trainer(out, train, data.val_set is not None, progress, stopper)
    started = time.perf_counter()
    with warnings.catch_warnings():
        for message in QUIET:
            warnings.filterwarnings("ignore", message=message)
        checkpoint = resume_from(last, resume)
        fit = functools.partial(trainer.fit, module, datamodule=data, ckpt_path=checkpoint)
        fit_until_stopped(fit, stopper, trainer)
    seconds = time.perf_counter() - started
    best = trainer.checkpoint_callback
    state = torch.load(best.best_model_path or str(last), map_location="cpu", weights_only=True)
    module.cpu()  # trained on any accelerator; the bundle and its id are made on the CPU
    module.load_state_dict(state["state_dict"])
    result = TextTrainResult(
        model_id=save_text_bundle(out / BUNDLE_NAME, module.model, tokenizer),
        bundle=out / BUNDLE_NAME,
        epochs=trainer.current_epoch,
        best_val_loss=float(best.best_model_score) if best.best_model_score is not None else None,
        seconds=seconds,
        train_sentences=len(data.train_set),
        val_sentences=len(data.val_set) if data.val_set is not None else 0,
    )
    _write_metrics(out, result)
    return result
