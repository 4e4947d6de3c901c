"""``seqae embed``: embed every segment of a manifest into shards."""

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
def embed(
    run: Annotated[Path, typer.Argument(help="Run directory of 'seqae train' (or a model.pt).")],
    manifest: Annotated[Path, typer.Argument(help="Manifest CSV or folder of audio files.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Embedding directory to write.")],
    shard_size: Annotated[int, typer.Option(help="Segments per shard.", min=1)] = 10000,
    batch_size: Annotated[int, typer.Option(help="Segments per inference batch.", min=1)] = 64,
    store_frames: Annotated[
        bool, typer.Option(help="Keep feature frames (float16) for 'search --rerank dtw'.")
    ] = True,
) -> None:
    """Embed MANIFEST's segments with the model in RUN (finished shards are kept on re-runs)."""
    from pipelines.embed import embed_archive
    from pipelines.manifest import read_manifest

    total = len(read_manifest(manifest))
    with progress_bar("embedding", total) as advance:
        summary = embed_archive(
            run, manifest, out, shard_size, batch_size, progress=advance, store_frames=store_frames
        )
    write_command_record(
        out,
        {
            "run": str(run),
            "manifest": str(manifest),
            "shard_size": shard_size,
            "batch_size": batch_size,
            "store_frames": store_frames,
        },
    )
    report_skipped(summary.skipped)
    console.print(
        f"embedded {summary.embedded} segments, kept {summary.reused} from earlier runs, "
        f"skipped {len(summary.skipped)}; model {summary.model_id} -> {out}"
    )
