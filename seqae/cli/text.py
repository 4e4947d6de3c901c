"""Sentence autoencoders on the command line: ``synth-text``, ``reconstruct``, and the text side
of ``train``, ``embed``, ``search`` and ``eval``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from seqae.cli.common import (
    cli_command,
    console,
    err_console,
    print_json_lines,
    progress_bar,
    report_skipped,
    write_command_record,
)


def refuse_text_input(run: Path, source: Path) -> None:
    """An audio model given a text corpus stops with a one-line error."""
    from pipelines.io.corpus import looks_like_text
    from seqae.errors import SeqaeError

    if looks_like_text(source):
        raise SeqaeError(
            f"{run}: an audio model (trained on speech); {source} holds text "
            "(train a text model with 'seqae train --modality text')"
        )


def report_corpus(skipped: list[str], repaired: list[str], limit: int = 10) -> None:
    """Say which lines were repaired (kept) and which were skipped, and why."""
    for note in repaired[:limit]:
        err_console.print(f"[yellow]warning[/] {note}", highlight=False, soft_wrap=True)
    if len(repaired) > limit:
        err_console.print(f"[yellow]... and {len(repaired) - limit} more warnings[/]")
    report_skipped(skipped, limit)


def train_text(manifest: Path, out: Path, settings: dict[str, Any], resume: bool) -> None:
    """``seqae train --modality text``: fit a tokenizer and a sentence autoencoder."""
    from pipelines.train.text import TextTrainJob, run_text_training

    model, train = settings["model"], settings["train"]
    if not model.feed_tokens and (model.word_dropout > 0 or train.sampling > 0):
        err_console.print(
            "warning: --word-dropout and --sampling change the tokens the decoder reads; "
            "without --feed-tokens it reads none, so they have no effect"
        )
    job = TextTrainJob(
        manifest, out, settings["tokens"], model, train, settings["corpus"], resume=resume
    )
    outcome = run_text_training(job)
    write_command_record(job.out, job.resolved_config())
    report_corpus(outcome.corpus.skipped, outcome.corpus.repaired)
    result = outcome.result
    loss = f"{result.best_val_loss:.4f}" if result.best_val_loss is not None else "n/a"
    console.print(
        f"trained on {result.train_sentences} sentences ({result.val_sentences} validation, "
        f"{len(outcome.corpus.skipped)} lines skipped) for {result.epochs} epochs; "
        f"{result.seconds:.0f} s; {job.tokens.kind} tokens, vocabulary {outcome.vocab_size} "
        f"({outcome.unknown_share:.1%} of tokens unknown); best validation loss {loss}; "
        f"model {result.model_id} -> {result.bundle}",
        soft_wrap=True,
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


def search_text(index: Path, text: str, k: int, json_lines: bool, opened=None) -> None:
    """``seqae search --text``: the sentences of INDEX nearest to an example sentence."""
    from pipelines.search.text import search_text as search

    hits = search(index, [text], k, opened)[0]
    rows = [{"rank": h.rank, "score": round(h.score, 4), "id": h.id, **h.metadata} for h in hits]
    for row in rows:
        row.pop("row", None)
    if json_lines:
        print_json_lines(rows)
        return
    from rich.table import Table

    table = Table(title=f"top {len(rows)} for {text!r}")
    extra = [c for c in (rows[0] if rows else {}) if c not in ("rank", "score", "id", "text")]
    shown = [c for c in extra if c not in ("file", "line")][:2]
    for column in ("rank", "score", "text", *shown):
        table.add_column(column, justify="left" if column == "text" else "right", overflow="fold")
    for row in rows:
        cells = [str(row.get(c, "")) for c in shown]
        table.add_row(str(row["rank"]), f"{row['score']:.3f}", str(row["text"]), *cells)
    console.print(table)


@cli_command
def synth_text(
    out: Annotated[Path, typer.Argument(help="Folder to write the corpus into.")],
    max_words: Annotated[int, typer.Option(help="Longest sentence kept, in words.", min=1)] = 20,
    held_out: Annotated[
        float, typer.Option(help="Share of the sentences held out for evaluation.")
    ] = 0.05,
    sentences: Annotated[
        int, typer.Option(help="Keep a seeded random sample of this many (0: all).", min=0)
    ] = 0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    clauses: Annotated[
        bool,
        typer.Option(help="Train also on the clauses of the longer sentences (not with a sample)."),
    ] = True,
) -> None:
    """Make the demo text corpus: King James Bible sentences (public domain, from Debian's
    bible-kjv packages), split into train.csv and heldout.csv."""
    from pipelines.demo.text import TextDemoConfig, make_text_corpus

    config = TextDemoConfig(max_words, held_out, sentences, seed, clauses)
    counts = make_text_corpus(out, config)
    write_command_record(out, config.__dict__)
    console.print(
        f"wrote {counts['sentences']} sentences of at most {max_words} words, "
        f"{counts['heldout']} of them held out in {out / 'heldout.csv'}; "
        f"{counts['train']} in {out / 'train.csv'} ({counts['clauses']} of them clauses of "
        "longer sentences)",
        soft_wrap=True,
    )


@cli_command
def reconstruct(
    run: Annotated[Path, typer.Argument(help="Run directory of a text model (or a model.pt).")],
    sentences: Annotated[list[str], typer.Argument(help="Sentences to encode and decode.")],
    beam: Annotated[int, typer.Option(help="Beam width (1: greedy decoding).", min=1)] = 1,
) -> None:
    """Encode each sentence into its vector and print what the decoder rebuilds from it."""
    from seqae.text.bundle import load_text_bundle

    bundle = load_text_bundle(run)
    for rebuilt in bundle.reconstruct(sentences, beam=beam):
        typer.echo(rebuilt)


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
