"""``seqae manifest``: annotations (TextGrid, ELAN, Kaldi) written as a manifest CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqae.cli.common import cli_command, console


@cli_command
def manifest(
    source: Annotated[
        Path,
        typer.Argument(
            help="A Praat TextGrid, an ELAN .eaf file (FILE#TIER picks a tier) or a Kaldi data "
            "directory (a folder holding wav.scp); a manifest CSV or a folder of audio files "
            "works too.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Manifest CSV to write.", show_default=False)
    ],
    tier: Annotated[
        str | None,
        typer.Option(
            help="The tier of a TextGrid or .eaf file to read; needed when it holds several.",
            show_default=False,
        ),
    ] = None,
    audio: Annotated[
        Path | None,
        typer.Option(
            help="The recording of a TextGrid (default: the audio file of the same name beside "
            "it) or of an .eaf file (default: its linked media); for a Kaldi data directory, "
            "the folder relative wav.scp paths start from (default: the data directory's "
            "parent, then the data directory).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write the labelled intervals of SOURCE as a manifest CSV (path, start, end, label and
    the other columns), with audio paths relative to the CSV's folder.

    Every command that takes a manifest also reads SOURCE directly; the CSV is for editing or
    sharing."""
    from pipelines.io.annotations import import_manifest

    summary = import_manifest(source, out, tier=tier, audio=audio)
    console.print(
        f"wrote {summary.segments} segments with {summary.labels} distinct labels to {out}",
        highlight=False,
        soft_wrap=True,
    )
