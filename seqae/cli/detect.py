"""``seqae detect``: many terms searched at once, their hits written for ELAN, Praat and NIST."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqae.cli.choices import (
    ExportFormat,
    Fusion,
    FusionOption,
    Rerank,
    RerankDepthOption,
    RerankOption,
    plain,
)
from seqae.cli.common import cli_command, console, progress_bar, report_skipped


@cli_command
def detect(
    index: Annotated[Path, typer.Argument(help="Index directory (of long recordings, say).")],
    terms: Annotated[
        Path,
        typer.Option(
            help="Manifest of example clips (path, start, end); a 'term' or 'label' column "
            "names each clip's term, clips of one term are fused into one query.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write the hits into.", show_default=False)
    ],
    formats: Annotated[
        list[ExportFormat] | None,
        typer.Option(
            "--format",
            help="csv, jsonl, eaf (ELAN), textgrid (Praat), vtt, audacity, stdlist (NIST STD); "
            "repeat for several.  [default: csv]",
            show_default=False,
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Keep hits scoring at least this (stdlist keeps all and marks the rest NO); "
            "default: every hit up to --limit.",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="Hits per term, at most.", min=1)] = 100,
    fusion: FusionOption = Fusion["mean"],
    rerank: RerankOption = Rerank["none"],
    rerank_k: RerankDepthOption = 30,
) -> None:
    """Find every term of TERMS in INDEX and write the hits to OUT in each --format (hits.csv,
    hits.jsonl, eaf/, textgrid/, vtt/, audacity/ per recording, std/ for NIST scoring)."""
    from pipelines.search.detect import DetectSettings, detect_terms, read_terms

    settings = DetectSettings(
        formats=tuple(dict.fromkeys(plain(f) for f in formats or [ExportFormat["csv"]])),
        threshold=threshold,
        limit=limit,
        rerank_k=rerank_k if plain(rerank) == "dtw" else 0,
        fusion=plain(fusion),
    )
    clips = sum(len(examples) for examples in read_terms(terms).values())
    with progress_bar("clips", clips) as advance:
        report = detect_terms(index, terms, out, settings, progress=advance)
    report_skipped(report.skipped)
    console.print(
        f"{report.detections} hits of {len(report.terms)} terms "
        f"({sum(report.examples.values())} example clips) -> {out}: "
        + ", ".join(sorted(report.written))
    )
