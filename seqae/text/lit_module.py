"""The thin LightningModule for sentence autoencoders: one shared step, optimiser from hparams."""

from __future__ import annotations

import math
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Timer

from seqae.models.text_autoencoder import TextAutoencoder, kl_weight
from seqae.text.config import TextModelConfig, TextTrainConfig


class TextAutoencoderModule(pl.LightningModule):
    """Trains a TextAutoencoder; hparams are plain dicts so checkpoints load weights-only."""

    def __init__(self, model: dict[str, Any], train: dict[str, Any]) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = TextAutoencoder(TextModelConfig.from_dict(model))
        self.train_config = TextTrainConfig(**train)

    def _shared_step(self, batch: tuple[torch.Tensor, ...], stage: str) -> torch.Tensor:
        inputs, input_lengths, targets, target_lengths = batch  # (B, T), (B,), (B, T'), (B,)
        scale = kl_weight(self.global_step, self.train_config.kl_anneal_steps)
        # scheduled sampling: the decoder first reads true tokens, then more and more its own
        sampling = self.train_config.sampling * self._progress() if stage == "train" else 0.0
        parts = self.model.loss(inputs, input_lengths, targets, target_lengths, scale, sampling)
        shown = ("loss", "accuracy", "length_accuracy")
        shown += ("kl",) if self.model.config.variational else ()
        for name in (name for name in shown if name in parts):
            self.log(
                f"{stage}_{name}",
                parts[name],
                prog_bar=True,
                batch_size=inputs.size(0),
                on_step=stage == "train" and name == "loss",
                on_epoch=True,
            )
        return parts["loss"]

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "train")

    def validation_step(self, batch, batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "val")

    def _budget_used(self) -> float | None:
        """Share of the time budget spent (0 to 1), or None without a budget."""
        budget = self.train_config.max_minutes * 60
        timers = [c for c in self.trainer.callbacks if isinstance(c, Timer)]
        if budget <= 0 or not timers:
            return None
        return min(1.0, timers[0].time_elapsed("train") / budget)

    def _progress(self) -> float:
        """How far training has got (0 to 1): in time with a budget, else in epochs."""
        used = self._budget_used()
        if used is not None:
            return used
        return min(1.0, self.current_epoch / max(1, self.train_config.epochs - 1))

    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        # with a time budget the learning rate follows a cosine over the budget, since the
        # number of epochs that fit in it depends on the machine and on what else runs there
        progress = self._budget_used()
        if progress is None:
            return
        peak = self.train_config.learning_rate
        for group in self.optimizers().param_groups:
            group["lr"] = peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))

    def configure_optimizers(self):
        config = self.train_config
        optimizer = torch.optim.Adam(self.parameters(), lr=config.learning_rate)
        if config.max_minutes > 0:
            return optimizer  # the schedule follows the time budget (on_train_batch_start)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max(1, config.epochs), eta_min=config.learning_rate * 0.05
        )
        return {"optimizer": optimizer, "lr_scheduler": schedule}
