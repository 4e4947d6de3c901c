"""Embedding maps drawn to a file: a PNG with matplotlib, an interactive page with plotly.

The page is self-contained (plotly.js inline, no network) and plays a point's audio segment
when the point is clicked, from the segment's source file on this machine.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.viz.maps import OTHER, Classes, MapPoints

LEGEND_ROWS = 25  # legend entries per column, beside the axes
OTHER_COLOUR = "#c8c8c8"
WEBGL_FROM = 5000
METHOD_NAMES = {
    "pca": "PCA",
    "tsne": "t-SNE",
    "umap": "UMAP",
}  # points; fewer are drawn as SVG, which needs no WebGL


def palette(count: int) -> list[str]:
    """``count`` distinct colours (up to 60) as hex strings."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    names = (
        ["tab10"] if count <= 10 else ["tab20"] if count <= 20 else ["tab20", "tab20b", "tab20c"]
    )
    colours = [to_hex(c) for name in names for c in colormaps[name].colors]
    return [colours[i % len(colours)] for i in range(count)]


def class_colours(groups: Classes) -> list[str]:
    named = [name for name in groups.names if name != OTHER or groups.merged == 0]
    colours = dict(zip(named, palette(len(named)), strict=True))
    return [colours.get(name, OTHER_COLOUR) for name in groups.names]


def point_size(count: int) -> float:
    """Marker area in points^2: large for a few hundred points, small for tens of thousands."""
    return float(np.clip(12000 / max(count, 1), 3, 30))


def legend_name(groups: Classes, code: int) -> str:
    name = groups.names[code]
    return (
        f"{OTHER} ({groups.merged} {groups.column}s)" if name == OTHER and groups.merged else name
    )


def write_png(coords: np.ndarray, groups: Classes, out: Path, title: str, note: str = "") -> None:
    """A scatter plot, one colour per class and the legend in columns outside the axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = max(1, math.ceil(len(groups.names) / LEGEND_ROWS))
    figure, axes = plt.subplots(figsize=(9 + 2.2 * columns, 8), layout="constrained")
    colours, size = class_colours(groups), point_size(len(coords))
    codes = list(range(len(groups.names)))
    handles = {}
    for code in sorted(codes, key=lambda c: groups.names[c] != OTHER):  # "other" underneath
        mask = groups.codes == code
        handles[code] = axes.scatter(
            coords[mask, 0],
            coords[mask, 1],
            s=size,
            color=colours[code],
            alpha=0.85,
            linewidths=0,
        )
    axes.legend(
        [handles[code] for code in codes],
        [legend_name(groups, code) for code in codes],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        ncols=columns,
        fontsize=8,
        markerscale=max(1.0, 30 / size) ** 0.5,
        frameon=False,
        title=groups.column,
    )
    axes.set_title(title)
    axes.set_xticks([])
    axes.set_yticks([])
    figure.savefig(out, dpi=120, metadata={"Software": "seqae", "Description": note})
    plt.close(figure)


def hover_rows(points: MapPoints) -> list[list[Any]]:
    """Per point: label, file name, start, end, and the audio URL of its segment (or '')."""
    rows = []
    for row in points.metadata:
        path = row.get("path")
        start, end = row.get("start"), row.get("end")
        url = ""
        if path:
            url = Path(str(path)).resolve().as_uri()
            if start is not None or end is not None:
                url += f"#t={start or 0.0:.3f}" + (f",{end:.3f}" if end is not None else "")
        name = Path(str(path)).name if path else f"{row.get('file', '')}:{row.get('line', '')}"
        label = row.get("label") or row.get("text") or ""
        rows.append([str(label)[:80], name, start, end, url])
    return rows


HOVER = (
    "<b>%{customdata[0]}</b><br>%{customdata[1]}<br>"
    "%{customdata[2]:.2f}–%{customdata[3]:.2f} s<extra>%{fullData.name}</extra>"
)

PLAY_SCRIPT = """
var plot = document.getElementById('{plot_id}');
var player = document.createElement('audio');
player.id = 'segment-player';
player.controls = true;
player.style.cssText = 'position:fixed;bottom:8px;left:8px;z-index:10';
document.body.appendChild(player);
var stopAt = null;
player.addEventListener('timeupdate', function () {
  if (stopAt !== null && player.currentTime >= stopAt) { player.pause(); stopAt = null; }
});
plot.on('plotly_click', function (event) {
  var data = event.points[0].customdata;
  if (!data || !data[4]) { return; }
  player.src = data[4];
  stopAt = data[3];
  player.play().catch(function () {});
});
"""


def write_html(
    coords: np.ndarray, points: MapPoints, groups: Classes, out: Path, title: str, note: str = ""
) -> None:
    """An interactive map: hover shows label, file and times; a click plays the segment."""
    import plotly.graph_objects as go

    trace = go.Scattergl if len(coords) >= WEBGL_FROM else go.Scatter
    hover, colours = hover_rows(points), class_colours(groups)
    figure = go.Figure()
    for code in range(len(groups.names)):
        rows = np.flatnonzero(groups.codes == code)
        figure.add_trace(
            trace(
                x=coords[rows, 0],
                y=coords[rows, 1],
                mode="markers",
                name=legend_name(groups, code),
                marker={
                    "size": max(4, point_size(len(coords)) ** 0.5 * 1.6),
                    "color": colours[code],
                },
                customdata=[hover[i] for i in rows],
                hovertemplate=HOVER,
            )
        )
    figure.update_layout(
        title=title,
        template="plotly_white",
        legend={"title": {"text": groups.column}, "itemsizing": "constant"},
        xaxis={"showticklabels": False},
        yaxis={"showticklabels": False},
        height=800,
        meta={"made_by": note},
    )
    figure.write_html(
        out, include_plotlyjs=True, full_html=True, div_id="map", post_script=PLAY_SCRIPT
    )


def map_title(points: MapPoints, method: str) -> str:
    shown = f"{len(points.ids):,}" + (
        f" of {points.total:,}" if len(points.ids) < points.total else ""
    )
    return f"{'/'.join(points.source.parts[-2:])}: {shown} segments, {method}"


def write_map(
    coords: np.ndarray, points: MapPoints, groups: Classes, out: Path, method: str, note: str = ""
) -> None:
    """Write the map as PNG or HTML, by ``out``'s suffix; ``note`` (the command that made it)
    goes into the file's metadata."""
    out.parent.mkdir(parents=True, exist_ok=True)
    title = map_title(points, METHOD_NAMES[method])
    if out.suffix.lower() == ".png":
        write_png(coords, groups, out, title, note)
    else:
        write_html(coords, points, groups, out, title, note)
