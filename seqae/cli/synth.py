"""``seqae synth``: make the demo corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqae.cli.common import cli_command, console, progress_bar, write_command_record


@cli_command
def synth(
    out: Annotated[Path, typer.Argument(help="Folder to write the corpus into.")],
    words: Annotated[int, typer.Option(help="Number of distinct words.", min=1)] = 100,
    speakers: Annotated[int, typer.Option(help="Number of synthetic voices.", min=2)] = 14,
    query_speakers: Annotated[int, typer.Option(help="Voices held out for queries.", min=1)] = 4,
    repeats: Annotated[int, typer.Option(help="Instances of each word per voice.", min=1)] = 1,
    long: Annotated[int, typer.Option(help="Number of long recordings.", min=0)] = 4,
    words_per_long: Annotated[int, typer.Option(help="Words in each long recording.", min=1)] = 15,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    word_list: Annotated[
        Path | None,
        typer.Option(
            help="Word list file (default: the system dictionary).", exists=True, dir_okay=False
        ),
    ] = None,
) -> None:
    """Synthesise a demo corpus of spoken words and long recordings."""
    from pipelines.demo.synth import SynthConfig, make_corpus
    from seqae.errors import SeqaeError

    if query_speakers >= speakers:
        raise SeqaeError(
            f"--query-speakers ({query_speakers}) must be below --speakers ({speakers})"
        )
    config = SynthConfig(
        words=words,
        speakers=speakers,
        query_speakers=query_speakers,
        repeats=repeats,
        long_recordings=long,
        words_per_long=words_per_long,
        seed=seed,
        word_list=word_list,
    )
    total = words * speakers * repeats + long
    with progress_bar("synthesising", total) as advance:
        counts = make_corpus(out, config, progress=advance)
    write_command_record(out, {k: str(v) for k, v in config.__dict__.items()})
    console.print(
        f"wrote {counts['segments']} segments ({counts['words']} words x "
        f"{counts['speakers']} voices) and {counts['long']} long recordings to {out}"
    )


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
