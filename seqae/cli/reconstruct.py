"""``seqae reconstruct``: what a sentence autoencoder rebuilds from each sentence's vector."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqae.cli.common import cli_command


@cli_command
def reconstruct(
    run: Annotated[Path, typer.Argument(help="Run directory of a text model (or a model.pt).")],
    sentences: Annotated[list[str], typer.Argument(help="Sentences to encode and decode.")],
    beam: Annotated[int, typer.Option(help="Beam width (1: greedy decoding).", min=1)] = 1,
) -> None:
    """Encode each sentence into its vector and print what the decoder rebuilds from it."""
    from seqae.text.bundle import load_text_bundle

    bundle = load_text_bundle(run)
    for rebuilt in bundle.reconstruct(sentences, beam=beam):
        typer.echo(rebuilt)
