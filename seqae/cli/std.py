"""``seqae eval std``: spoken-term detection over an index of long recordings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from seqae.cli.common import cli_command, console


@cli_command
def eval_std(
    index: Annotated[Path, typer.Argument(help="Index over long recordings ('seqae ingest').")],
    queries: Annotated[
        Path, typer.Option(help="Manifest CSV of query clips, with a 'label' column.")
    ],
    truth: Annotated[Path, typer.Option(help="CSV of true occurrences: path, start, end, label.")],
    depth: Annotated[int, typer.Option(help="Hits judged per query.", min=1)] = 100,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Score INDEX's hits for each query against the true times: MAP, P@10 and recall at 1
    and 10 false alarms per hour (a hit must overlap an occurrence by half the shorter)."""
    from rich.table import Table

    from pipelines.evaluate.std import evaluate_std

    report = evaluate_std(index, queries, truth, depth)
    if json_out:
        typer.echo(json.dumps(report.to_dict(), default=str))
        return
    table = Table(
        title=f"spoken-term detection, {report.queries} queries, {report.occurrences} "
        f"occurrences in {report.hours:.2f} h"
    )
    for column in ("MAP", "P@10", "recall @1 FA/h", "recall @10 FA/h", "s/query"):
        table.add_column(column, justify="right")
    recall = report.recall_at_fa
    table.add_row(
        f"{report.map:.3f}", f"{report.precision_at_10:.3f}", f"{recall[1.0]:.3f}",
        f"{recall[10.0]:.3f}", f"{report.seconds_per_query:.4f}",
    )  # fmt: skip
    console.print(table)
    if report.unmatched:
        console.print(f"{len(report.unmatched)} queries have no true occurrence and were left out")
