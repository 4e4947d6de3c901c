"""Fit an autoencoder on feature sequences with Lightning and export ``RUN/model.pt``."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch

from seqae.bundle import BUNDLE_NAME, load_weights, save_bundle
from seqae.config import FeatureConfig, ModelConfig, TrainConfig
from seqae.data import AugmentConfig, SegmentDataset, partner_lists, split_indices
from seqae.data.datamodule import SequenceDataModule
from seqae.errors import SeqaeError
from seqae.fitting import FitSettings, fit_module, load_best, write_metrics
from seqae.lit_module import AutoencoderModule
from seqae.runs import METRICS_FILE

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


def augment_config(train: TrainConfig) -> AugmentConfig:
    """The training-time perturbations a TrainConfig asks for (none for ``ae``)."""
    if train.objective == "ae":
        return AugmentConfig(warp=0.0, tempo=0.0, gain_db=0.0, noise_db=0.0)
    return AugmentConfig(
        warp=train.augment_warp,
        tempo=train.augment_tempo,
        gain_db=train.augment_gain_db,
        noise_db=train.augment_noise_db,
        reverb=train.augment_reverb,
        band_limit=train.augment_band_limit,
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
    stats: list | None = None,
) -> TrainResult:
    """Train on log-mel segments ((T_i, n_mels) arrays); write checkpoints, logs and the bundle.

    Without ``pairs`` each segment rebuilds itself (``ae``/``dae``). With ``pairs``, (P, 2) row
    numbers of segments taken to be the same word, each rebuilds a partner instead (``cae``),
    and only paired segments are trained on. ``init`` is a model state dict to start from
    (the pretrained autoencoder). ``stats`` are the segments' speakers' feature statistics
    (features normalised per speaker; see seqae.audio.group_statistics).
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
    views = train.objective == "contrastive"  # two perturbed views; unpaired rows too
    common = dict(
        max_frames=train.max_frames, partners=partners, views=views, stats=stats,
        unpaired=views or train.pair_unpaired,
    )  # fmt: skip
    train_set = SegmentDataset(
        log_mels, features, augment_config(train), seed=train.seed, rows=train_rows, **common
    )
    if len(train_set) == 0:
        raise SeqaeError("no training segment has a pair; nothing to train on")
    # validation is scored on clean inputs, so its loss is comparable across runs; a
    # contrastive run's on perturbed copies (one segment's two clean copies are one point)
    val_augment = augment_config(train) if views else None
    val_set = SegmentDataset(
        log_mels, features, val_augment, seed=train.seed + 1, rows=val_rows,
        shuffle_partners=False, **common,
    )  # fmt: skip
    val_set = val_set if len(val_set) else None
    data = SequenceDataModule(
        train_set, val_set, train.batch_size, train.seed, workers=train.loader_workers
    )
    module = AutoencoderModule(model.to_dict(), train.to_dict(), features.to_dict())
    if init is not None:
        load_weights(module.model, init)
        module.model.set_embedding_statistics(  # trained unstandardised, measured at the end
            torch.zeros(model.embedding_dim), torch.ones(model.embedding_dim)
        )
    trainer, seconds = fit_module(module, data, out, fit_settings(train), val_set is not None,
                                  resume, progress)  # fmt: skip
    sizes = (len(train_set), len(val_set) if val_set is not None else 0)
    if trainer.is_global_zero:  # the other processes of a parallel run write nothing
        clean = train_set.clean_frames(range(len(log_mels)))
        _export(trainer, module, features, out, seconds, sizes, clean)
    trainer.strategy.barrier("export")  # every process returns once the bundle is on disk
    metrics = json.loads((out / METRICS_FILE).read_text())
    return TrainResult(**{**metrics, "bundle": Path(metrics["bundle"])})


def fit_settings(train: TrainConfig) -> FitSettings:
    """How long and where: the process layout too (the bucketing sampler shards batches)."""
    layout = dict(devices=train.devices, num_nodes=train.num_nodes, use_distributed_sampler=False)
    layout |= {"strategy": train.strategy} if train.processes > 1 else {}
    return FitSettings(train.epochs, train.patience, train.gradient_clip, train.accelerator,
                       layout=layout)  # fmt: skip


def _set_threads(train: TrainConfig) -> None:
    """Torch threads of this process: as told, or the node's cores shared by its processes."""
    if train.threads:
        torch.set_num_threads(train.threads)
    elif train.devices > 1:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // train.devices))


def embedding_statistics(model, frames: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Each embedding dimension's mean and deviation over ``frames`` (unstandardised)."""
    from seqae.bundle import ModelBundle

    model.set_embedding_statistics(
        torch.zeros(model.config.embedding_dim), torch.ones(model.config.embedding_dim)
    )
    vectors = torch.from_numpy(ModelBundle(model, None, "", Path()).embed(frames))  # (N, E)
    return vectors.mean(dim=0), vectors.std(dim=0)


def _export(trainer, module, features, out: Path, seconds: float, sizes, frames) -> None:
    """Write the best weights, standardised over ``frames``, as the bundle, and
    ``metrics.json`` (both atomically)."""
    best = load_best(trainer, module, out)
    module.model.set_embedding_statistics(*embedding_statistics(module.model, frames))
    model_id = save_bundle(out / BUNDLE_NAME, module.model, features)
    result = TrainResult(
        model_id=model_id,
        bundle=out / BUNDLE_NAME,
        epochs=trainer.current_epoch,
        best_val_loss=best,
        seconds=seconds,
        train_segments=sizes[0],
        val_segments=sizes[1],
    )
    write_metrics(out, {**result.__dict__, "bundle": str(result.bundle)})
