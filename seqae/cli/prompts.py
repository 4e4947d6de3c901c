"""``seqae prompts``: query-by-example manifests from Debian's Asterisk voice prompts."""

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
def prompts(
    out: Annotated[Path, typer.Argument(help="Folder to write the WAV files and manifests into.")],
    sounds: Annotated[
        Path | None,
        typer.Option(
            help="Asterisk sounds folder holding the voice folders (it_IT_m_Carlo, fr, ...); "
            "default: /usr/share/asterisk/sounds.",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    languages: Annotated[
        str, typer.Option(help="Languages to include, comma-separated: it, fr, es.")
    ] = "it,fr,es",
    all_prompts: Annotated[
        bool,
        typer.Option(
            "--all-prompts",
            help="Keep every prompt both voices have (phrases, dictate, followme), not only the "
            "words of digits/, letters/ and phonetic/.",
        ),
    ] = False,
    swap_voices: Annotated[
        bool,
        typer.Option(
            "--swap-voices",
            help="Make the community voice (Menardi, Armelle, es-co) the archive and the Digium "
            "core-sounds voice the queries, instead of the other way round.",
        ),
    ] = False,
) -> None:
    """Pair the prompts two real voices of each language recorded, and write archive and query
    manifests per language and for all languages together."""
    from pipelines.demo.prompts import SOUNDS_ROOT, PromptsConfig, make_prompts

    codes = tuple(dict.fromkeys(c.strip() for c in languages.split(",") if c.strip()))
    config = PromptsConfig(
        sounds=sounds or SOUNDS_ROOT,
        languages=codes,
        all_prompts=all_prompts,
        swap_voices=swap_voices,
    )
    summary = make_prompts(out, config, progress=progress_bar)
    write_command_record(out, {k: str(v) for k, v in config.__dict__.items()})
    report_skipped(summary.skipped)
    counts = ", ".join(f"{code} {n}" for code, n in summary.pairs.items())
    console.print(
        f"wrote {summary.total} pairs in {len(summary.pairs)} languages ({counts}) to {out}",
        highlight=False,
    )
