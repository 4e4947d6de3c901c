"""The thin LightningModule: one shared step, optimiser from hparams, nothing else."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch

from seqae.config import ModelConfig, TrainConfig, config_from_dict
from seqae.models import SequenceAutoencoder, nt_xent_loss, triplet_loss


class AutoencoderModule(pl.LightningModule):
    """Trains a SequenceAutoencoder; hparams are plain dicts so checkpoints load weights-only."""

    def __init__(self, model: dict[str, Any], train: dict[str, Any], features: dict[str, Any]):
        super().__init__()
        self.save_hyperparameters()
        self.model = SequenceAutoencoder(config_from_dict(ModelConfig, model))
        self.train_config = config_from_dict(TrainConfig, train)

    def _shared_step(self, batch: tuple[torch.Tensor, ...], stage: str) -> torch.Tensor:
        frames, lengths, targets, target_lengths, groups = batch  # (B, T, D), (B,), (B, T', D)
        objective = self.train_config.objective
        if objective in ("siamese", "contrastive"):
            anchors = self.model.embed(frames, lengths)  # (B, E)
            positives = self.model.embed(targets, target_lengths)  # (B, E)
            if objective == "siamese":
                loss = triplet_loss(anchors, positives, groups, self.train_config.margin)
            else:
                loss = nt_xent_loss(anchors, positives, groups, self.train_config.temperature)
        else:  # ae, dae, cae: rebuild the target (the input itself, or a partner instance)
            loss = self.model.loss(frames, lengths, targets, target_lengths)
        self.log(
            f"{stage}_loss",
            loss,
            prog_bar=True,
            batch_size=frames.size(0),
            on_step=stage == "train",
            on_epoch=True,
            sync_dist=True,  # data-parallel runs: every process monitors the same mean loss
        )
        return loss

    def on_train_epoch_start(self) -> None:
        # scheduled sampling ramps from 0 at the first epoch to config.sampling at the last:
        # the decoder first learns from true histories, then more and more from its own
        last_epoch = max(1, (self.trainer.max_epochs or 1) - 1)
        progress = min(1.0, self.current_epoch / last_epoch)
        self.model.sampling_probability = self.model.config.sampling * progress

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "train")

    def validation_step(self, batch, batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "val")

    def test_step(self, batch, batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "test")

    def configure_optimizers(self):
        config = self.train_config
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max(1, config.epochs), eta_min=config.learning_rate * 0.05
        )
        return {"optimizer": optimizer, "lr_scheduler": schedule}
