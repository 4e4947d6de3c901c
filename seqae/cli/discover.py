"""``seqae discover``: recurring word-like segments of an archive nobody has listened to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqae.cli.choices import PairAcross, Tier, plain
from seqae.cli.common import cli_command, console, progress_bar


@cli_command
def discover(
    source: Annotated[
        Path, typer.Argument(help="Embedding directory or index directory (with frames).")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write into.", show_default=False)
    ],
    neighbours: Annotated[
        int, typer.Option(help="Nearest neighbours of each segment checked by DTW.", min=1)
    ] = 5,
    keep: Annotated[
        float, typer.Option(help="Share of the checked pairs kept, the cheapest.", min=0, max=1)
    ] = 0.2,
    threshold: Annotated[
        float, typer.Option(help="Keep pairs under this DTW cost instead (0: use --keep).", min=0)
    ] = 0.0,
    min_size: Annotated[int, typer.Option(help="Smallest cluster kept.", min=2)] = 2,
    resolution: Annotated[
        float, typer.Option(help="Louvain resolution: higher gives more, smaller clusters.")
    ] = 1.0,
    tier: Annotated[
        list[Tier] | None,
        typer.Option(
            help="Also write one 'discovered' tier per recording: eaf (ELAN), textgrid (Praat); "
            "repeat for both.",
            show_default=False,
        ),
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="True times (path, start, end, label) to score the clusters against, for "
            "long recordings; default: the segments' own labels, if they have any.",
            show_default=False,
        ),
    ] = None,
    examples: Annotated[int, typer.Option(help="Playable examples per cluster.", min=1)] = 5,
    listed: Annotated[int, typer.Option(help="Clusters shown on the page.", min=1)] = 100,
    across: Annotated[
        PairAcross,
        typer.Option(
            help="speaker: pairs join different speakers (the 'speaker' column), else "
            "different recordings; any: no such rule."
        ),
    ] = PairAcross["speaker"],
    seed: Annotated[int, typer.Option(help="Seed of the community detection.")] = 0,
) -> None:
    """Group the recurring word-like segments of SOURCE into clusters (pairs found as training
    finds them, then graph communities); write OUT/clusters.csv, OUT/discover.json and a page
    OUT/index.html with playable examples of each."""
    from pipelines.discover.archive import discover_archive
    from pipelines.discover.terms import DiscoverSettings

    settings = DiscoverSettings(
        neighbours, keep, threshold, min_size, resolution, seed, plain(across)
    )
    with progress_bar("DTW checks", None) as advance:
        found = discover_archive(
            source, out, settings, tuple(plain(t) for t in tier or []), truth, examples,
            listed, advance,
        )  # fmt: skip
    summary = found.summary()
    scored = ""
    if found.scores:
        scores = found.scores
        scored = (
            f"; purity {scores['purity']:.3f}, coverage {scores['coverage']:.3f}, NMI "
            f"{scores['nmi']:.3f}, {scores['terms_found']} of {scores['recurring_terms']} "
            "recurring labels lead a cluster"
        )
    console.print(
        f"{summary['clusters']} clusters of {summary['clustered']} segments (of "
        f"{summary['segments']}) from {summary['pairs']} pairs{scored} -> {out}/index.html"
    )
