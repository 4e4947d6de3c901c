"""Fit an autoencoder on feature sequences with Lightning and export ``RUN/model.pt``."""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint, RichProgressBar
from pytorch_lightning.loggers import CSVLogger

from seqae.bundle import BUNDLE_NAME, save_bundle
from seqae.config import FeatureConfig, ModelConfig, TrainConfig
from seqae.data import AugmentConfig, SegmentDataset, partner_lists, split_indices
from seqae.data.datamodule import SequenceDataModule
from seqae.errors import SeqaeError
from seqae.lit_module import AutoencoderModule

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced."""

    model_id: str
    bundle: Path
    epochs: int
    best_val_loss: float | None
    seconds: float
    train_segments: int
    val_segments: int


class _ProgressBar(RichProgressBar):
    """Rich progress with the epoch losses only (no version number, no per-step noise)."""

    def get_metrics(self, trainer, pl_module) -> dict:
        metrics = super().get_metrics(trainer, pl_module)
        metrics.pop("v_num", None)
        metrics.pop("train_loss_step", None)
        return metrics


def _callbacks(out: Path, config: TrainConfig, has_val: bool, progress: bool) -> list:
    monitor = "val_loss" if has_val else "train_loss_epoch"
    callbacks = [
        ModelCheckpoint(
            dirpath=out / "checkpoints",
            filename="best",
            monitor=monitor,
            mode="min",
            save_last=True,
        ),
        EarlyStopping(monitor=monitor, mode="min", patience=config.patience),
    ]
    if progress:
        callbacks.append(_ProgressBar(leave=True))
    return callbacks


def augment_config(train: TrainConfig) -> AugmentConfig:
    """The training-time perturbations a TrainConfig asks for (none for ``ae``)."""
    if train.objective == "ae":
        return AugmentConfig(0.0, 0.0, 0.0, 0.0)
    return AugmentConfig(
        warp=train.augment_warp,
        tempo=train.augment_tempo,
        gain_db=train.augment_gain_db,
        noise_db=train.augment_noise_db,
        frame_drop=train.augment_frame_drop,
        dim_drop=train.augment_dim_drop,
        time_mask=train.augment_time_mask,
        dim_mask=train.augment_dim_mask,
    )


def fit(
    log_mels: list[np.ndarray],
    features: FeatureConfig,
    model: ModelConfig,
    train: TrainConfig,
    out: Path,
    resume: bool = True,
    progress: bool = True,
    pairs: np.ndarray | None = None,
    init: dict[str, torch.Tensor] | None = None,
) -> TrainResult:
    """Train on log-mel segments ((T_i, n_mels) arrays); write checkpoints, logs and the bundle.

    Without ``pairs`` each segment rebuilds itself (``ae``/``dae``). With ``pairs``, (P, 2) row
    numbers of segments taken to be the same word, each rebuilds a partner instead (``cae``),
    and only paired segments are trained on. ``init`` is a model state dict to start from
    (the pretrained autoencoder).
    """
    if len(log_mels) < 2:
        raise SeqaeError(f"need at least 2 segments to train, got {len(log_mels)}")
    if train.paired and pairs is None:
        raise SeqaeError(f"the {train.objective} objective needs pairs of segments")
    if model.input_dim != features.dim:
        raise SeqaeError(f"model input_dim {model.input_dim} != feature dim {features.dim}")
    out.mkdir(parents=True, exist_ok=True)
    _set_threads(train)
    pl.seed_everything(train.seed, workers=True, verbose=False)
    partners = partner_lists(pairs, len(log_mels)) if pairs is not None else None
    train_rows, val_rows = split_indices(len(log_mels), train.val_fraction, train.seed)
    common = dict(max_frames=train.max_frames, partners=partners)
    train_set = SegmentDataset(
        log_mels, features, augment_config(train), seed=train.seed, rows=train_rows, **common
    )
    if len(train_set) == 0:
        raise SeqaeError("no training segment has a pair; nothing to train on")
    # validation is scored on clean inputs, so its loss is comparable across runs
    val_set = SegmentDataset(log_mels, features, rows=val_rows, shuffle_partners=False, **common)
    val_set = val_set if len(val_set) else None
    data = SequenceDataModule(train_set, val_set, train.batch_size, train.seed)
    module = AutoencoderModule(model.to_dict(), train.to_dict(), features.to_dict())
    if init is not None:
        module.model.load_state_dict(init)
    trainer = pl.Trainer(
        max_epochs=train.epochs,
        accelerator="cpu",
        **_parallel(train),
        gradient_clip_val=train.gradient_clip,
        callbacks=_callbacks(out, train, val_set is not None, progress),
        logger=CSVLogger(str(out), name="logs"),  # version_N per (re)start: nothing is overwritten
        enable_progress_bar=progress,
        enable_model_summary=False,
        log_every_n_steps=10,
        num_sanity_val_steps=0,
    )
    last = out / "checkpoints" / "last.ckpt"
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*bottleneck.*")
        warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
        warnings.filterwarnings("ignore", message=".*exists and is not empty.*")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*is deprecated.*")
        warnings.filterwarnings("ignore", message=".*Total length of .* across ranks is zero.*")
        trainer.fit(
            module, datamodule=data, ckpt_path=str(last) if resume and last.is_file() else None
        )
    sizes = (len(train_set), len(val_set) if val_set is not None else 0)
    if trainer.is_global_zero:  # the other processes of a parallel run write nothing
        _export(trainer, module, features, out, time.perf_counter() - started, sizes)
    trainer.strategy.barrier("export")  # every process returns once the bundle is on disk
    metrics = json.loads((out / "metrics.json").read_text())
    return TrainResult(**{**metrics, "bundle": Path(metrics["bundle"])})


def _parallel(train: TrainConfig) -> dict:
    """The Trainer's process layout; the bucketing sampler shards batches itself."""
    layout = dict(devices=train.devices, num_nodes=train.num_nodes, use_distributed_sampler=False)
    return {**layout, "strategy": train.strategy} if train.processes > 1 else layout


def _set_threads(train: TrainConfig) -> None:
    """Torch threads of this process: as told, or the node's cores shared by its processes."""
    if train.threads:
        torch.set_num_threads(train.threads)
    elif train.devices > 1:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // train.devices))


def _export(trainer, module, features, out: Path, seconds: float, sizes) -> None:
    """Write the best weights as the bundle, and ``metrics.json`` (both atomically)."""
    checkpoint = trainer.checkpoint_callback
    best_path = checkpoint.best_model_path or str(out / "checkpoints" / "last.ckpt")
    state = torch.load(best_path, map_location="cpu", weights_only=True)["state_dict"]
    module.load_state_dict(state)
    model_id = save_bundle(out / BUNDLE_NAME, module.model, features)
    best = checkpoint.best_model_score
    result = TrainResult(
        model_id=model_id,
        bundle=out / BUNDLE_NAME,
        epochs=trainer.current_epoch,
        best_val_loss=float(best) if best is not None else None,
        seconds=seconds,
        train_segments=sizes[0],
        val_segments=sizes[1],
    )
    metrics = {**result.__dict__, "bundle": str(result.bundle)}
    tmp = out / ".metrics.json.tmp"
    tmp.write_text(json.dumps(metrics, indent=2) + "\n")
    tmp.replace(out / "metrics.json")
