"""``seqae eval ...``: measure retrieval quality."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from seqae.cli.common import cli_command, console, progress_bar, report_corpus, report_skipped

app = typer.Typer(help="Evaluate models.", no_args_is_help=True)


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


@cli_command
def eval_text(
    run: Annotated[Path, typer.Argument(help="Run directory of a text model (or a model.pt).")],
    corpus: Annotated[Path, typer.Option(help="Held-out sentences (a corpus of any form).")],
    beam: Annotated[int, typer.Option(help="Beam width (1: greedy decoding).", min=1)] = 1,
    perturb_rate: Annotated[
        float, typer.Option(help="Retrieval queries: word edits per word (at least one).")
    ] = 0.15,
    limit: Annotated[int, typer.Option(help="Only the first N sentences (0: all).", min=0)] = 0,
    text_column: Annotated[
        str, typer.Option(help="CSV column / JSONL field of the text.")
    ] = "text",
    seed: Annotated[int, typer.Option(help="Random seed of the perturbations.")] = 0,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of tables.")
    ] = False,
) -> None:
    """Reconstruction (token accuracy, exact match, BLEU) and retrieval of perturbed sentences
    (recall@1, @10) beside a TF-IDF baseline."""
    import json

    from pipelines.evaluate.text import TextEvalOptions, evaluate_text
    from pipelines.io.corpus import CorpusOptions

    options = TextEvalOptions(
        beam, perturb_rate, seed, limit, corpus=CorpusOptions(text_column=text_column)
    )
    report = evaluate_text(run, corpus, options)
    report_corpus(report.skipped, report.repaired)
    if json_output:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        print_text_report(report)


def print_text_report(report) -> None:
    """The reconstruction and retrieval figures of ``seqae eval text`` as two tables."""
    from rich.table import Table

    rebuilt = Table(title=f"reconstruction of {report.sentences} sentences ({report.decoding})")
    for column in ("model", "token accuracy", "exact match", "BLEU"):
        rebuilt.add_column(column, justify="right")
    figures = (report.token_accuracy, report.exact_match, report.bleu)
    rebuilt.add_row(report.model_id, *(f"{value:.3f}" for value in figures))
    found = Table(title=f"perturbed-sentence retrieval, {report.sentences} queries")
    for column in ("method", "recall@1", "recall@10", "s/query"):
        found.add_column(column, justify="left" if column == "method" else "right")
    for score in report.retrieval:
        found.add_row(
            score.method,
            f"{score.recall_at_1:.3f}",
            f"{score.recall_at_10:.3f}",
            f"{score.seconds_per_query:.5f}",
        )
    console.print(rebuilt)
    console.print(found)


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


app.command("text")(eval_text)
app.command("std")(eval_std)
