"""``seqae search``: query an index by example."""

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
from seqae.cli.common import cli_command, console, print_json_lines


@cli_command
def search(
    index: Annotated[Path, typer.Argument(help="Index directory of 'seqae index build'.")],
    query: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Audio clip of the term to look for; several clips of one term are fused "
            "into one query (see --fusion).",
            show_default=False,
        ),
    ] = None,
    text: Annotated[
        str | None, typer.Option(help="Text index: an example sentence to look for.")
    ] = None,
    start: Annotated[
        float | None, typer.Option(help="Query span start, seconds (one clip only).")
    ] = None,
    end: Annotated[
        float | None, typer.Option(help="Query span end, seconds (one clip only).")
    ] = None,
    fusion: FusionOption = Fusion["mean"],
    k: Annotated[int, typer.Option("-k", "--top", help="Number of hits.", min=1)] = 10,
    json_lines: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    rerank: RerankOption = Rerank["none"],
    rerank_k: RerankDepthOption = 30,
    rerank_weight: Annotated[
        float,
        typer.Option(help="Share of the embedding's score in the fused score.", min=0, max=1),
    ] = 0.5,
    nprobe: Annotated[
        int | None,
        typer.Option(help="IVF indexes: lists to visit (default: the tuned value).", min=1),
    ] = None,
    ef_search: Annotated[
        int | None,
        typer.Option(help="HNSW indexes: search depth (default: the tuned value).", min=1),
    ] = None,
    export: Annotated[
        ExportFormat | None,
        typer.Option(
            "--format",
            help="Write the hits for a tool: csv, jsonl, eaf (ELAN), textgrid (Praat), vtt, "
            "audacity (labels), stdlist (NIST STD, with its ECF and term list); needs --out.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="With --format: the file, or a folder (one file per recording for eaf, "
            "textgrid, vtt and audacity; the three NIST files for stdlist).",
            show_default=False,
        ),
    ] = None,
    term: Annotated[
        str | None,
        typer.Option(help="With --format: the term's name (default: the query file's name)."),
    ] = None,
) -> None:
    """Find the segments of INDEX that sound most like QUERY (or, with --text, the
    sentences of a text index nearest to an example sentence)."""
    from pipelines.search.build import open_index_with_model
    from pipelines.search.speech import Query, search_audio
    from seqae.errors import InputError

    query = query or None  # Typer gives [] for no clip
    if (query is None) == (text is None):
        raise InputError("give either an audio QUERY or --text 'a sentence', not both or neither")
    if (export is None) != (out is None):
        raise InputError("--format and --out go together: give both or neither")
    opened = open_index_with_model(index)  # the index and its model, each read once
    if text is not None or opened[1].modality == "text":
        if query is not None:
            raise InputError(f"{index}: indexes sentences; search it with --text 'a sentence'")
        if export is not None:
            raise InputError("--format writes timed hits of audio indexes; sentences have none")
        return search_text(index, text, k, json_lines, opened)
    if len(query) > 1 and (start is not None or end is not None):
        raise InputError("--start and --end cut one clip; give one QUERY with them")

    depth = rerank_k if plain(rerank) == "dtw" else 0
    hits = search_audio(
        index, [[Query(clip, start, end) for clip in query]], k, depth, rerank_weight,
        nprobe, ef_search, opened, fusion=plain(fusion),
    )[0]  # fmt: skip
    if export is not None:
        from pipelines.export.hits import export_hits

        written = export_hits(hits, plain(export), out, term or query[0].stem)
        console.print(
            f"wrote {len(hits)} hits as {plain(export)} -> {', '.join(map(str, written))}"
        )
        return
    rows = [
        {
            "rank": h.rank,
            "score": round(h.score, 4),
            "id": h.id,
            **{key: h.metadata.get(key) for key in ("path", "start", "end")},
            **{
                key: v
                for key, v in h.metadata.items()
                if key not in ("path", "start", "end", "row")
            },
        }
        for h in hits
    ]
    if json_lines:
        print_json_lines(rows)
        return
    from rich.table import Table

    asked = str(query[0]) if len(query) == 1 else f"{len(query)} clips ({plain(fusion)})"
    table = Table(title=f"top {len(rows)} for {asked}")
    here = Path.cwd()
    for column in ("rank", "score", "path", "start", "end", "label"):
        table.add_column(column, justify="left" if column == "path" else "right", overflow="fold")
    for row in rows:
        path = Path(str(row["path"]))
        shown = path.relative_to(here) if path.is_relative_to(here) else path
        table.add_row(
            str(row["rank"]),
            f"{row['score']:.3f}",
            str(shown),
            f"{row['start']:.2f}",
            f"{row['end']:.2f}",
            str(row.get("label", "")),
        )
    console.print(table)


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
