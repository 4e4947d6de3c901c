"""``seqae index ...``: build FAISS indexes over embedding directories."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqae.cli.common import cli_command, console, write_command_record

app = typer.Typer(help="Build and inspect search indexes.", no_args_is_help=True)


@app.command("build")
@cli_command
def build(
    embeddings: Annotated[Path, typer.Argument(help="Embedding directory of 'seqae embed'.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Index directory to write.")],
    overwrite: Annotated[bool, typer.Option(help="Replace an existing index directory.")] = False,
) -> None:
    """Build an exact cosine-similarity index (FAISS IndexFlatIP) over EMBEDDINGS."""
    from pipelines.build_index import build_index_dir

    count = build_index_dir(embeddings, out, overwrite=overwrite)
    write_command_record(out, {"embeddings": str(embeddings), "factory": "Flat"})
    console.print(f"indexed {count} vectors -> {out}")
