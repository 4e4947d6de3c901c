"""Fit a sentence autoencoder on token-id sentences with Lightning and export ``RUN/model.pt``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch

from seqae.data import split_indices
from seqae.errors import SeqaeError
from seqae.fitting import FitSettings, fit_module, load_best, write_metrics
from seqae.text.bundle import save_text_bundle
from seqae.text.config import TextModelConfig, TextTrainConfig
from seqae.text.data import TokenDataModule, TokenDataset
from seqae.text.lit_module import TextAutoencoderModule
from seqae.text.tokenizers import Tokenizer

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


def _data(sentences: list[np.ndarray], train: TextTrainConfig) -> TokenDataModule:
    """Seeded train/validation split; the training side gets the denoising noise, if any."""
    train_rows, val_rows = split_indices(len(sentences), train.val_fraction, train.seed)
    noise = dict(drop=train.noise_drop, swap=train.noise_swap, seed=train.seed)
    train_set = TokenDataset(sentences, train_rows, train.max_tokens, **noise)
    val_set = TokenDataset(sentences, val_rows, train.max_tokens) if len(val_rows) else None
    return TokenDataModule(train_set, val_set, train.batch_size, train.seed)


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
    settings = FitSettings(train.epochs, train.patience, train.gradient_clip, train.accelerator,
                           train.max_minutes, log_every_n_steps=20)  # fmt: skip
    trainer, seconds = fit_module(module, data, out, settings, data.val_set is not None,
                                  resume, progress)  # fmt: skip
    best = load_best(trainer, module, out)
    result = TextTrainResult(
        model_id=save_text_bundle(out / BUNDLE_NAME, module.model, tokenizer),
        bundle=out / BUNDLE_NAME,
        epochs=trainer.current_epoch,
        best_val_loss=best,
        seconds=seconds,
        train_sentences=len(data.train_set),
        val_sentences=len(data.val_set) if data.val_set is not None else 0,
    )
    write_metrics(out, {**asdict(result), "bundle": str(result.bundle)})
    return result
