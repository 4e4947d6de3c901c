"""``seqae eval ...``: measure retrieval quality."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from seqae.cli.common import cli_command, console, progress_bar, report_skipped
from seqae.cli.std import eval_std
from seqae.cli.text import eval_text

app = typer.Typer(help="Evaluate models.", no_args_is_help=True)
app.command("text")(eval_text)
app.command("std")(eval_std)


@app.command("qbe")
@cli_command
def qbe(
    run: Annotated[Path, typer.Argument(help="Run directory of 'seqae train' (or a model.pt).")],
    queries: Annotated[Path, typer.Option(help="Manifest of query segments (with labels).")],
    archive: Annotated[Path, typer.Option(help="Manifest of archive segments (with labels).")],
    baselines: Annotated[bool, typer.Option(help="Also score the MFCC and DTW baselines.")] = True,
    rerank_k: Annotated[
        int, typer.Option(help="Also score DTW re-ranking of the model's top K (0: off).", min=0)
    ] = 30,
    pairs: Annotated[
        bool, typer.Option(help="Also score same-different AP and EER over all archive pairs.")
    ] = True,
    seeds: Annotated[
        int,
        typer.Option(
            help="Also retrain RUN's recipe with the next seeds (in RUN/seeds/) and report "
            "the model's mean and standard deviation over this many runs.",
            min=1,
        ),
    ] = 1,
    query_speakers: Annotated[
        bool,
        typer.Option(
            help="For features normalised per speaker: normalise the queries over their "
            "speakers too (the queries manifest's speaker column) instead of each on its own, "
            "as 'seqae search' does."
        ),
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a table.")
    ] = False,
) -> None:
    """Query-by-example: MAP over full rankings, MAP@R and P@10 (relevant = same label);
    same-different AP and EER over archive pairs."""
    from pipelines.evaluate.qbe import evaluate_qbe
    from pipelines.io.manifest import read_manifest

    total = len(read_manifest(queries)) + len(read_manifest(archive))
    with progress_bar("features", total) as advance:
        report = evaluate_qbe(
            run,
            queries,
            archive,
            baselines=baselines,
            progress=advance,
            rerank_k=rerank_k,
            pairs=pairs,
            seeds=seeds,
            query_speakers=query_speakers,
        )
    report_skipped(report.skipped)
    if json_output:
        typer.echo(
            json.dumps(
                {"archive": report.archive_size, "methods": [s.to_dict() for s in report.scores]},
                indent=2,
            )
        )
        return
    from rich.table import Table

    table = Table(
        title=f"query-by-example, {report.scores[0].queries} queries, "
        f"{report.archive_size} archive segments"
    )
    for column in ("method", "MAP", "MAP@R", "P@10", "s/query", "same-diff AP", "EER"):
        table.add_column(column, justify="left" if column == "method" else "right")

    def shown(score, figure: str) -> str:
        value = getattr(score, figure)
        if value is None:
            return "-"
        spread = (score.std or {}).get(figure)
        return f"{value:.3f} ± {spread:.3f}" if spread is not None else f"{value:.3f}"

    for score in report.scores:
        table.add_row(
            score.method,
            shown(score, "map"),
            shown(score, "map_at_r"),
            shown(score, "precision_at_10"),
            f"{score.seconds_per_query:.4f}",
            shown(score, "same_different_ap"),
            shown(score, "equal_error_rate"),
        )
    console.print(table)
