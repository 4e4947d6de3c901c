"""``seqae eval ...``: measure retrieval quality."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from seqae.cli.choices import Fusion, plain
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
    examples: Annotated[
        str | None,
        typer.Option(
            help="Also score queries made of several clips of one term, e.g. '1,3,5': clips of "
            "a label in groups of that size (mostly one speaker's), fused by mean and by max.",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a table.")
    ] = False,
) -> None:
    """Query-by-example: MAP over full rankings, MAP@R and P@10 (relevant = same label);
    same-different AP and EER over archive pairs."""
    from pipelines.evaluate.qbe import evaluate_qbe
    from pipelines.io.manifest import read_manifest

    sizes = clip_counts(examples) if examples else ()
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
            examples=sizes,
        )
    report_skipped(report.skipped)
    if json_output:
        result = {"archive": report.archive_size, "methods": [s.to_dict() for s in report.scores]}
        if sizes:
            result["several"] = [s.to_dict() for s in report.several]
        typer.echo(json.dumps(result, indent=2))
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
    if report.several:
        several = Table(title="several clips of one term per query")
        for column in ("method", "clips", "fusion", "queries", "MAP", "MAP@R", "P@10"):
            several.add_column(column, justify="left" if column == "method" else "right")
        for row in report.several:
            several.add_row(
                row.method, str(row.examples), row.fusion, str(row.queries), f"{row.map:.3f}",
                f"{row.map_at_r:.3f}", f"{row.precision_at_10:.3f}",
            )  # fmt: skip
        console.print(several)


def clip_counts(text: str) -> tuple[int, ...]:
    """'1,3,5' -> (1, 3, 5); anything else is refused in one line."""
    from seqae.errors import InputError

    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise InputError(f"--examples takes clip counts such as '1,3,5', not {text!r}")
    return sizes


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
    threshold: Annotated[
        float | None,
        typer.Option(
            help="ATWV's decision threshold (hits scoring at least this are YES); default: "
            "each half of the terms at the MTWV threshold of the other half.",
            show_default=False,
        ),
    ] = None,
    fuse: Annotated[
        bool, typer.Option(help="All query clips of one label make one term (several examples).")
    ] = False,
    fusion: Annotated[
        Fusion, typer.Option(help="With --fuse: mean of unit vectors, or max over the clips.")
    ] = Fusion["mean"],
    out: Annotated[
        Path | None,
        typer.Option(
            help="Also write the judged detections as NIST stdlist, ECF and term list here.",
            show_default=False,
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Score INDEX's hits for each query against the true times: MAP, P@10, recall at 1 and 10
    false alarms per hour (a hit must overlap an occurrence by half the shorter), and NIST's
    term-weighted values MTWV and ATWV (beta 999.9)."""
    from rich.table import Table

    from pipelines.evaluate.std import StdSettings, evaluate_std

    settings = StdSettings(depth, threshold, fuse, plain(fusion), out)
    report = evaluate_std(index, queries, truth, settings)
    if json_out:
        typer.echo(json.dumps(report.to_dict(), default=str))
        return
    table = Table(
        title=f"spoken-term detection, {report.terms} {'terms' if fuse else 'queries'}, "
        f"{report.occurrences} occurrences in {report.hours:.2f} h"
    )
    columns = ("MAP", "P@10", "recall @1 FA/h", "recall @10 FA/h", "MTWV", "ATWV", "s/query")
    for column in columns:
        table.add_column(column, justify="right")
    recall = report.recall_at_fa
    table.add_row(
        f"{report.map:.3f}", f"{report.precision_at_10:.3f}", f"{recall[1.0]:.3f}",
        f"{recall[10.0]:.3f}", f"{report.mtwv:.3f}", f"{report.atwv:.3f}",
        f"{report.seconds_per_query:.4f}",
    )  # fmt: skip
    console.print(table)
    decided = "given" if threshold is not None else "tuned on the other half of the terms"
    shown = ", ".join(f"{t:.3f}" for t in report.atwv_thresholds)
    console.print(
        f"MTWV at threshold {report.mtwv_threshold:.3f}; ATWV at {shown} ({decided}); "
        f"beta {report.beta}"
    )
    if report.unmatched:
        console.print(f"{len(report.unmatched)} queries have no true occurrence and were left out")
    if out is not None:
        console.print(f"detections -> {out} (NIST stdlist, ECF, term list)")


app.command("text")(eval_text)
app.command("std")(eval_std)
