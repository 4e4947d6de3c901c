"""The ``seqae`` command line: one small module per command group."""

from __future__ import annotations

import typer

from seqae.cli import evaluate, index
from seqae.cli.common import OneLineErrors
from seqae.cli.detect import detect
from seqae.cli.discover import discover
from seqae.cli.embed import embed
from seqae.cli.ingest import ingest
from seqae.cli.listen import listen
from seqae.cli.manifest import manifest
from seqae.cli.prompts import prompts
from seqae.cli.reconstruct import reconstruct
from seqae.cli.search import search
from seqae.cli.serve import serve
from seqae.cli.synth import synth, synth_text
from seqae.cli.train import train
from seqae.cli.viz import plot, viz

app = typer.Typer(
    name="seqae",
    cls=OneLineErrors,
    help="RNN sequence autoencoders for speech and sentences: train, embed, index and search "
    "by example.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(synth)
app.command()(prompts)
app.command()(manifest)
app.command("synth-text")(synth_text)
app.command()(train)
app.command()(embed)
app.command()(ingest)
app.command()(listen)
app.add_typer(index.app, name="index")
app.command()(search)
app.command()(detect)
app.command()(discover)
app.add_typer(evaluate.app, name="eval")
app.command()(reconstruct)
app.command()(viz)
app.command()(plot)
app.command()(serve)
