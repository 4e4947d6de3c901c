"""``seqae discover``: term discovery over an embedding or index directory, written as a CSV,
a JSON record, an HTML page with playable examples and, optionally, ELAN / Praat tiers."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.discover.terms import (
    DiscoverSettings,
    Discovery,
    cluster_dicts,
    cluster_rows,
    discover_terms,
)
from pipelines.export.hits import Detection, recording_durations, write_hits
from seqae.errors import SeqaeError
from seqae.runs import (
    INDEX_INFO_FILE,
    check_not_input,
    write_csv_atomic,
    write_json_atomic,
    write_text_atomic,
    writer_lock,
)

CLUSTERS_FILE = "clusters.csv"
RECORD_FILE = "discover.json"
PAGE_FILE = "index.html"
CLIPS_DIR = "clips"
TIER_FORMATS = ("eaf", "textgrid")
TIER_NAME = "discovered"


@dataclass(frozen=True)
class Archive:
    """What discovery reads of an embedding or index directory."""

    vectors: np.ndarray  # (N, E)
    frames: list[np.ndarray]  # N x (T, D)
    spans: list[tuple[str, float, float]]  # (file, start, end) per row
    labels: list[str] | None  # the metadata's labels, where it has them
    sample_rate: int
    speakers: list[str] | None = None  # the metadata's speakers, where it names them


def read_archive(source: Path) -> Archive:
    """Vectors, frames and spans of an embedding directory or an index directory."""
    if (source / INDEX_INFO_FILE).is_file():
        vectors, metadata, frames, features = _from_index(source)
    else:
        from pipelines.embed.shards import read_embeddings

        embedded = read_embeddings(source)
        if embedded.frames is None:
            raise SeqaeError(
                f"{source}: holds no frames; embed with --store-frames (discovery checks "
                "every pair by DTW on them)"
            )
        packed, offsets = embedded.frames
        frames = [packed[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
        vectors, metadata = embedded.vectors, embedded.metadata
        features = embedded.info["feature_config"]
    columns = metadata.column_names
    paths = metadata.column("path").to_pylist()
    starts = metadata.column("start").to_pylist() if "start" in columns else [None] * len(paths)
    ends = metadata.column("end").to_pylist() if "end" in columns else [None] * len(paths)
    hop = float(features.get("hop_ms", 10.0)) / 1000
    spans = [
        (str(p), float(s or 0.0), float(e) if e is not None else float(s or 0.0) + len(f) * hop)
        for p, s, e, f in zip(paths, starts, ends, frames, strict=True)
    ]
    labels, speakers = (
        [str(v or "") for v in metadata.column(name).to_pylist()] if name in columns else None
        for name in ("label", "speaker")
    )
    return Archive(
        np.asarray(vectors, np.float32),
        [np.asarray(f, np.float32) for f in frames],
        spans,
        labels if labels and any(labels) else None,
        int(features.get("sample_rate", 16000)),
        speakers,
    )


def _from_index(source: Path):
    from index.frames import FrameStore, has_frames
    from index.store import open_index_dir
    from seqae.runs import FRAMES_NAME

    index = open_index_dir(source, mmap=False)
    if not has_frames(source, FRAMES_NAME):
        raise SeqaeError(
            f"{source}: holds no frames; embed with --store-frames and build the index again "
            "(discovery checks every pair by DTW on them)"
        )
    store = FrameStore(source, FRAMES_NAME)
    try:
        vectors = index.index.reconstruct_n(0, len(index))
    except RuntimeError:
        raise SeqaeError(
            f"{source}: its {index.info.factory} index cannot give back its vectors; run "
            f"discover on the embedding directory it was built from"
        ) from None
    frames = [store[i] for i in range(len(store))]
    return vectors, index.metadata, frames, dict(index.info.feature_config)


def labels_from_truth(spans, truth_csv: Path) -> list[str]:
    """Each segment's word by the true times: the occurrence it overlaps by at least half of
    the shorter of the two (as spoken-term detection judges a hit), else ""."""
    from pipelines.evaluate.std import read_truth
    from seqae.std_metrics import overlaps_enough

    by_file: dict[str, list[tuple[str, float, float, str]]] = {}
    for label, occurrences in read_truth(truth_csv).items():
        for path, start, end in occurrences:
            by_file.setdefault(str(Path(path).resolve()), []).append((path, start, end, label))
    labels = []
    for path, start, end in spans:
        found = [
            label
            for _, s, e, label in by_file.get(str(Path(path).resolve()), [])
            if overlaps_enough((path, start, end), (path, s, e))
        ]
        labels.append(found[0] if found else "")
    return labels


def discover_archive(
    source: Path,
    out: Path,
    settings: DiscoverSettings | None = None,
    tiers: tuple[str, ...] = (),
    truth: Path | None = None,
    examples: int = 5,
    listed: int = 100,
    progress: Callable[[int], None] | None = None,
) -> Discovery:
    """Discover the terms of ``source``; write ``clusters.csv``, ``discover.json``,
    ``index.html`` (the first ``listed`` clusters with ``examples`` playable clips each, cut
    into ``clips/``) and, per ``tiers`` format, one annotation file per recording."""
    unknown = [t for t in tiers if t not in TIER_FORMATS]
    if unknown:
        raise SeqaeError(f"--tier must be one of {', '.join(TIER_FORMATS)}, not {unknown}")
    check_not_input(out, [source, *([truth] if truth else [])])
    if out.exists() and not out.is_dir():
        raise SeqaeError(f"{out}: exists and is not a folder; choose another --out")
    settings = settings or DiscoverSettings()
    archive = read_archive(source)
    labels = labels_from_truth(archive.spans, truth) if truth else archive.labels
    found = discover_terms(
        archive.vectors, archive.frames, archive.spans, settings, labels, progress,
        archive.speakers,
    )  # fmt: skip
    with writer_lock(out):
        out.mkdir(parents=True, exist_ok=True)
        rows = cluster_rows(found, archive.spans, labels)
        columns = list(rows[0]) if rows else ["cluster", "size", "recordings", "member", "path"]
        write_csv_atomic(out / CLUSTERS_FILE, columns, rows)
        record = {
            "source": str(source.resolve()),
            "settings": settings.__dict__,
            "labels": "truth" if truth else ("metadata" if labels else None),
            **found.summary(),
            "clusters": cluster_dicts(found),
        }
        write_json_atomic(out / RECORD_FILE, record)
        clips = _cut_clips(found, archive, out / CLIPS_DIR, examples, listed)
        write_text_atomic(out / PAGE_FILE, page(found, archive.spans, labels, clips, source))
        for fmt in tiers:
            detections = [
                Detection(TIER_NAME, path, round(s, 3), round(e, 3), sim, f"term {c.rank:03d}")
                for c in found.clusters
                for (path, s, e), sim in zip(
                    (archive.spans[m] for m in c.members), c.similarity, strict=True
                )
            ]
            write_hits(detections, fmt, out / fmt, recording_durations(detections))
    return found


def _cut_clips(found: Discovery, archive: Archive, folder: Path, examples: int, listed: int):
    """The first ``examples`` members of the first ``listed`` clusters as WAV files;
    (cluster, member) -> file name. A member whose audio is gone is left out."""
    from seqae.audio import load_audio, write_wav

    clips = {}
    for cluster in found.clusters[:listed]:
        for place, member in enumerate(cluster.members[:examples], start=1):
            path, start, end = archive.spans[member]
            name = f"{cluster.rank:04d}-{place}.wav"
            try:
                samples = load_audio(path, archive.sample_rate, start, end)
            except SeqaeError:
                continue
            write_wav(folder / name, samples, archive.sample_rate)
            clips[(cluster.rank, member)] = name
    return clips


def page(found: Discovery, spans, labels, clips: dict, source: Path) -> str:
    """A page listing the clusters, each with its playable examples; no script, no network."""
    esc = html.escape
    summary = found.summary()
    scored = ""
    if found.scores:
        scored = " · ".join(
            f"{name} {found.scores[name]:.3f}" for name in ("purity", "coverage", "nmi")
        )
        scored = f"<p>Against the labels: {esc(scored)}</p>"
    sections = []
    for cluster in found.clusters:
        items = []
        for member, similarity in zip(cluster.members, cluster.similarity, strict=True):
            name = clips.get((cluster.rank, member))
            if name is None:
                continue
            path, start, end = spans[member]
            known = f" · {esc(labels[member])}" if labels and labels[member] else ""
            items.append(
                f'<li><audio controls preload="none" src="{CLIPS_DIR}/{esc(name)}"></audio> '
                f"{esc(Path(path).name)} {start:.2f}–{end:.2f} s · {similarity:.3f}{known}</li>"
            )
        if not items:
            continue
        label = (
            f" · mostly {esc(cluster.label)} ({cluster.label_share:.0%})" if cluster.label else ""
        )
        sections.append(
            f'<section id="term-{cluster.rank:03d}"><h2>term {cluster.rank:03d}</h2>'
            f"<p>{cluster.size} segments in {cluster.recordings} recordings{label}</p>"
            f"<ol>{''.join(items)}</ol></section>"
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>seqae discover: {esc(source.name)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}section{{border-top:1px solid #ccc}}
li{{margin:.3em 0}}audio{{height:2em;vertical-align:middle}}</style></head><body>
<h1>Terms discovered in {esc(str(source))}</h1>
<p>{summary["clusters"]} clusters of {summary["clustered"]} segments (of {summary["segments"]}),
from {summary["pairs"]} pairs under DTW cost {summary["threshold"]:.4f}; the full list is in
{CLUSTERS_FILE}. Each example: its file and time span, its cosine similarity to the cluster's
central example (listed first){", its known label" if labels else ""}.</p>
{scored}
{"".join(sections)}
</body></html>
"""


def read_record(out: Path) -> dict:
    """The ``discover.json`` a discovery wrote."""
    return json.loads((out / RECORD_FILE).read_text())
