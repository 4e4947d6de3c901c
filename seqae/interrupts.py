"""Stopping a training run cleanly: Ctrl-C or SIGTERM (how batch schedulers preempt a job)
ends it at the end of the current batch, with ``last.ckpt`` written whole, so that running
the same command again resumes it.

Every checkpoint is written to a temporary file and renamed into place, so a kill at any
moment leaves the previous checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO
from pytorch_lightning.utilities.exceptions import SIGTERMException

from seqae.errors import SeqaeError
from seqae.runs import replaced_atomically


class Interrupted(SeqaeError):
    """Training stopped on a signal, its progress saved; the CLI exits with 128 + signal."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


class AtomicCheckpointIO(TorchCheckpointIO):
    """torch.save to ``.NAME.tmp`` beside the checkpoint, then a rename."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with replaced_atomically(path) as tmp:
            super().save_checkpoint(checkpoint, tmp, storage_options)


class StopOnSignal(pl.Callback):
    """The first Ctrl-C is handled as Lightning handles SIGTERM: the loop stops after the
    batch it is in (a second Ctrl-C interrupts at once). On either, ``last`` is saved."""

    def __init__(self, last: Path) -> None:
        self.last = Path(last)
        self.signum: int | None = None
        self._previous: Any = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may set signal handlers

        def first_ctrl_c(signum, frame) -> None:
            self.signum = signal.SIGINT
            trainer._signal_connector.received_sigterm = True  # checked after every batch
            signal.signal(signal.SIGINT, signal.default_int_handler)

        def sigterm(signum, frame) -> None:
            self.signum = signal.SIGTERM
            trainer._signal_connector.received_sigterm = True

        self._previous = signal.signal(signal.SIGINT, first_ctrl_c)
        self._previous_term = signal.signal(signal.SIGTERM, sigterm)

    def _restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            signal.signal(signal.SIGTERM, self._previous_term)
            self._previous = None

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._restore()

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        self._restore()
        if isinstance(exception, KeyboardInterrupt):
            self.signum = signal.SIGINT
        if isinstance(exception, (KeyboardInterrupt, SIGTERMException)) and trainer.world_size == 1:
            trainer.save_checkpoint(self.last)


def fit_until_stopped(fit: Callable[[], None], stopper: StopOnSignal, trainer: pl.Trainer) -> None:
    """Run ``fit``; a run stopped by a signal ends with :class:`Interrupted`, one line."""
    try:
        fit()
    except (SIGTERMException, SystemExit, KeyboardInterrupt):
        if stopper.signum is None:
            raise
        name = "Ctrl-C" if stopper.signum == signal.SIGINT else "SIGTERM"
        raise Interrupted(
            f"stopped by {name} in epoch {trainer.current_epoch + 1}, after batch "
            f"{trainer.fit_loop.epoch_loop.batch_progress.current.completed}; {stopper.last} "
            "holds the progress: run the same command again to resume",
            stopper.signum,
        ) from None
