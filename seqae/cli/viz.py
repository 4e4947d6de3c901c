"""``seqae viz`` (embedding maps) and ``seqae plot`` (training curves)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqae.cli.choices import Projection, plain
from seqae.cli.common import cli_command, console, err_console

MAP_SUFFIXES = (".png", ".html")


@cli_command
def viz(
    embeddings: Annotated[
        Path,
        typer.Argument(help="Embedding directory of 'seqae embed' (or an index directory)."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Map to write: .png or .html.")],
    method: Annotated[Projection, typer.Option(help="Projection.")] = Projection["pca"],
    color: Annotated[
        str, typer.Option(help="Colour by a metadata column: label, speaker, path, ...")
    ] = "label",
    sample: Annotated[
        int, typer.Option(help="Map a seeded sample of this many segments (0: all).", min=0)
    ] = 10000,
    seed: Annotated[
        int, typer.Option(help="Seed of the sample and the projection (UMAP then uses 1 core).")
    ] = 0,
) -> None:
    """Draw an embedding map: every segment (or a sample) projected onto a plane and coloured
    by a metadata column; an .html map shows label, file and times on hover and plays a
    segment when clicked."""
    import json
    import sys

    from seqae.errors import SeqaeError

    if out.suffix.lower() not in MAP_SUFFIXES:
        raise SeqaeError(f"{out}: the map is written as .png or .html, not {out.suffix!r}")
    if not embeddings.exists():
        raise SeqaeError(f"{embeddings}: no such embedding or index directory")
    from pipelines.viz.maps import check_method, check_points, classes, load_points, project
    from pipelines.viz.plots import METHOD_NAMES, write_map

    method = plain(method)
    check_method(method)
    with err_console.status(f"reading {embeddings}"):
        points = load_points(embeddings, sample, seed)
    check_points(points, method)
    groups = classes(points, color)
    with err_console.status(f"projecting {len(points.ids):,} segments ({METHOD_NAMES[method]})"):
        coords = project(points.vectors, method, seed)
    record = {"argv": sys.argv, "source": str(embeddings), "method": method, "color": color}
    record |= {"sample": sample, "seed": seed}
    with err_console.status(f"writing {out}"):
        write_map(coords, points, groups, out, method, json.dumps(record))
    merged = f", the {groups.merged} rarest as '{groups.names[-1]}'" if groups.merged else ""
    console.print(
        f"mapped {len(points.ids):,} of {points.total:,} segments ({METHOD_NAMES[method]}, "
        f"{len(groups.names)} {color} colours{merged}) -> {out}",
        soft_wrap=True,
    )


@cli_command
def plot(
    run: Annotated[Path, typer.Argument(help="Run directory of 'seqae train'.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="PNG to write (default RUN/curves.png).")
    ] = None,
) -> None:
    """Plot a run's training curves: train and validation loss, and every other logged metric,
    against training steps (pretraining and training side by side)."""
    from pipelines.viz.curves import plot_curves, read_run_metrics
    from seqae.errors import SeqaeError

    out = out or run / "curves.png"
    if out.suffix.lower() != ".png":
        raise SeqaeError(f"{out}: training curves are written as .png")
    stages = read_run_metrics(run)
    groups = plot_curves(stages, out, f"{run.name}: training curves")
    steps = ", ".join(
        f"{stage.name} {max(int(s.steps.max()) for s in stage.series.values())} steps"
        for stage in stages
    )
    console.print(f"plotted {', '.join(groups)} ({steps}) -> {out}", soft_wrap=True)
