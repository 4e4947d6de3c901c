"""``seqae embed``: embed every segment of a manifest into shards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqae.cli.common import (
    cli_command,
    console,
    progress_bar,
    refuse_text_input,
    report_corpus,
    report_skipped,
    write_command_record,
)


@cli_command
def embed(
    run: Annotated[Path, typer.Argument(help="Run directory of 'seqae train' (or a model.pt).")],
    manifest: Annotated[
        Path,
        typer.Argument(help="Manifest CSV or folder of audio files; for a text model, a corpus."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Embedding directory to write.")],
    shard_size: Annotated[int, typer.Option(help="Segments per shard.", min=1)] = 10000,
    batch_size: Annotated[int, typer.Option(help="Segments per inference batch.", min=1)] = 64,
    store_frames: Annotated[
        bool, typer.Option(help="Keep feature frames (float16) for 'search --rerank dtw'.")
    ] = True,
    text_column: Annotated[
        str, typer.Option(help="Text models: CSV column / JSONL field of the text.")
    ] = "text",
) -> None:
    """Embed MANIFEST's segments (or a text model's sentences) with the model in RUN (finished
    shards are kept on re-runs)."""
    from pipelines.embed.speech import embed_archive
    from pipelines.io.manifest import read_manifest
    from seqae.bundle import load_bundle

    bundle = load_bundle(run)  # read once: it says which modality, and it embeds
    if bundle.modality == "text":
        return embed_text(run, manifest, out, shard_size, batch_size, text_column, bundle)
    refuse_text_input(run, manifest)

    total = len(read_manifest(manifest))
    with progress_bar("embedding", total) as advance:
        summary = embed_archive(
            run,
            manifest,
            out,
            shard_size,
            batch_size,
            progress=advance,
            store_frames=store_frames,
            bundle=bundle,
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


def embed_text(
    run: Path,
    corpus: Path,
    out: Path,
    shard_size: int,
    batch_size: int,
    text_column: str,
    bundle=None,
) -> None:
    """``seqae embed`` for a text model: every sentence of CORPUS into shards."""
    from pipelines.embed.text import embed_corpus
    from pipelines.io.corpus import CorpusOptions, read_corpus

    options = CorpusOptions(text_column=text_column)
    total = len(read_corpus(corpus, options).sentences)
    with progress_bar("embedding", total) as advance:
        summary, repaired = embed_corpus(
            run, corpus, out, options, shard_size, batch_size, progress=advance, bundle=bundle
        )
    record = {"run": str(run), "corpus": str(corpus), "shard_size": shard_size}
    write_command_record(out, {**record, "batch_size": batch_size, "text_column": text_column})
    report_corpus(summary.skipped, repaired)
    console.print(
        f"embedded {summary.embedded} sentences, kept {summary.reused} from earlier runs, "
        f"skipped {len(summary.skipped)} lines; model {summary.model_id} -> {out}",
        soft_wrap=True,
    )
