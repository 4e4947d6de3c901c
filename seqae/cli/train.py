"""``seqae train``: fit an autoencoder on a manifest's segments (labels are not used)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqae.cli.common import (
    cli_command,
    console,
    progress_bar,
    report_skipped,
    write_command_record,
)


@cli_command
def train(
    manifest: Annotated[Path, typer.Argument(help="Manifest CSV or folder of audio files.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run directory to write.")],
    epochs: Annotated[int, typer.Option(help="Maximum number of epochs.", min=1)] = 20,
    cell: Annotated[str, typer.Option(help="Encoder cell: rnn, lstm or gru.")] = "gru",
    hidden: Annotated[int, typer.Option(help="Encoder hidden size.", min=1)] = 256,
    layers: Annotated[int, typer.Option(help="Encoder layers.", min=1)] = 2,
    bidirectional: Annotated[bool, typer.Option(help="Bidirectional encoder.")] = True,
    dim: Annotated[int, typer.Option(help="Embedding size.", min=1)] = 128,
    decoder_hidden: Annotated[int, typer.Option(help="Decoder hidden size.", min=1)] = 256,
    dropout: Annotated[float, typer.Option(help="Dropout between encoder layers.")] = 0.1,
    reverse_target: Annotated[bool, typer.Option(help="Reconstruct the input reversed.")] = False,
    features: Annotated[str, typer.Option(help="Frame features: mfcc or logmel.")] = "mfcc",
    batch_size: Annotated[int, typer.Option(help="Segments per batch.", min=1)] = 32,
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW, cosine decay).")] = 2e-3,
    clip: Annotated[float, typer.Option(help="Gradient norm clipping.")] = 1.0,
    val_fraction: Annotated[float, typer.Option(help="Share held out for validation.")] = 0.1,
    patience: Annotated[int, typer.Option(help="Early-stopping patience in epochs.")] = 8,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    resume: Annotated[bool, typer.Option(help="Continue from RUN/checkpoints/last.ckpt.")] = True,
) -> None:
    """Train a sequence autoencoder on the segments of MANIFEST."""
    from pipelines.train_job import TrainJob, load_training_data, run_training
    from seqae.config import FeatureConfig, ModelConfig, TrainConfig

    feature_config = FeatureConfig(kind=features)
    job = TrainJob(
        source=manifest,
        out=out,
        features=feature_config,
        model=ModelConfig(
            input_dim=feature_config.dim,
            cell=cell,
            hidden_size=hidden,
            layers=layers,
            bidirectional=bidirectional,
            embedding_dim=dim,
            decoder_hidden_size=decoder_hidden,
            dropout=dropout,
            reverse_target=reverse_target,
        ),
        train=TrainConfig(
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=lr,
            gradient_clip=clip,
            val_fraction=val_fraction,
            patience=patience,
            seed=seed,
        ),
        resume=resume,
    )
    from pipelines.manifest import read_manifest

    total = len(read_manifest(manifest))
    with progress_bar("features", total) as advance:
        data = load_training_data(job, advance)
    result = run_training(job, data)
    skipped = data.skipped
    write_command_record(
        out,
        {
            "features": job.features.to_dict(),
            "model": job.model.to_dict(),
            "train": job.train.to_dict(),
        },
    )
    report_skipped(skipped)
    loss = f"{result.best_val_loss:.4f}" if result.best_val_loss is not None else "n/a"
    console.print(
        f"trained on {result.train_segments} segments ({result.val_segments} validation, "
        f"{len(skipped)} skipped) for {result.epochs} epochs in {result.seconds:.0f} s; "
        f"best validation loss {loss}; model {result.model_id} -> {result.bundle}"
    )
