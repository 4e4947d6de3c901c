"""Hits written in the formats of the tools people review them in.

One list of detections (term, recording, start, end, score) becomes: CSV or JSON lines (one
file); an ELAN ``.eaf`` (pympi-ling), a Praat TextGrid (praatio), WebVTT cues (webvtt-py) or an
Audacity label track per recording, one tier (or label) per term; or NIST spoken-term
detection files (lxml): the ``stdlist`` of detections with the ``ecf`` and ``termlist`` that
scoring needs. Every file is written whole or not at all.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from seqae.errors import SeqaeError
from seqae.runs import replaced_atomically, write_csv_atomic, write_text_atomic

FORMATS = ("csv", "jsonl", "eaf", "textgrid", "vtt", "audacity", "stdlist")
PER_RECORDING = {"eaf": ".eaf", "textgrid": ".TextGrid", "vtt": ".vtt", "audacity": ".txt"}
# where each format goes inside one output folder of ``seqae detect``
FOLDER_NAMES = {
    "csv": "hits.csv", "jsonl": "hits.jsonl", "eaf": "eaf", "textgrid": "textgrid", "vtt": "vtt",
    "audacity": "audacity", "stdlist": "std",
}  # fmt: skip


@dataclass(frozen=True)
class Detection:
    """One hit: where a term was found, and how sure the search is."""

    term: str
    path: str
    start: float
    end: float
    score: float
    label: str = ""  # the annotation's text (default: the term and its score)


def detections_of(hits: list, term: str) -> list[Detection]:
    """Search hits (index.Hit) of one term as detections, times to the millisecond."""
    return [
        Detection(term, str(h.metadata["path"]), round(float(h.metadata["start"]), 3),
                  round(float(h.metadata["end"]), 3), round(float(h.score), 4))
        for h in hits
    ]  # fmt: skip


def recording_durations(detections: list[Detection]) -> dict[str, float]:
    """Seconds of each recording the detections are in (those that can still be read)."""
    from pipelines.io.stream import audio_duration

    durations = {}
    for path in sorted({d.path for d in detections}):
        try:
            durations[path] = audio_duration(Path(path))
        except SeqaeError:
            pass  # moved since it was indexed: the hits still bound the recording
    return durations


def export_hits(hits: list, fmt: str, out: Path, term: str, threshold: float = 0.0) -> list:
    """Search hits (index.Hit) of one term written as ``fmt``; the files written."""
    detections = detections_of(hits, term)
    return write_hits(detections, fmt, out, recording_durations(detections), threshold)


def write_hits(
    detections: list[Detection],
    fmt: str,
    out: Path,
    durations: dict[str, float] | None = None,
    threshold: float = 0.0,
) -> list[Path]:
    """Write ``detections`` as ``fmt`` to ``out``; the files written.

    Per-recording formats write one file when ``out`` ends with the format's suffix (and the
    hits are in one recording), else one file per recording in the folder ``out``.
    ``durations`` (seconds per recording) bound the TextGrid tiers and the ECF excerpts;
    ``threshold``: stdlist's decision is YES at or above it.
    """
    if fmt not in FORMATS:
        raise SeqaeError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    durations = durations or {}
    if fmt == "csv":
        columns = ["term", "path", "start", "end", "score"]
        if any(d.label for d in detections):
            columns.append("label")
        write_csv_atomic(out, columns, [{c: getattr(d, c) for c in columns} for d in detections])
        return [out]
    if fmt == "jsonl":
        rows = [{k: v for k, v in asdict(d).items() if k != "label" or v} for d in detections]
        write_text_atomic(out, "".join(json.dumps(row) + "\n" for row in rows))
        return [out]
    if fmt == "stdlist":
        return write_std(detections, out, durations, threshold)
    return _per_recording(detections, fmt, out, durations)


def _per_recording(
    detections: list[Detection], fmt: str, out: Path, durations: dict[str, float]
) -> list[Path]:
    suffix = PER_RECORDING[fmt]
    by_file: dict[str, list[Detection]] = defaultdict(list)
    for detection in detections:
        by_file[detection.path].append(detection)
    if out.suffix.lower() == suffix.lower():
        if len(by_file) > 1:
            raise SeqaeError(
                f"{out}: the hits are in {len(by_file)} recordings and {fmt} holds one; give "
                "a folder for --out (one file per recording)"
            )
        targets = {path: out for path in by_file}
    else:
        targets = _file_names(list(by_file), out, suffix)
    writer = {"eaf": _eaf, "textgrid": _textgrid, "vtt": _vtt, "audacity": _audacity}[fmt]
    for path, hits in by_file.items():
        end = max([durations.get(path, 0.0), *(h.end for h in hits)])
        writer(sorted(hits, key=lambda h: h.start), targets[path], path, end)
    return list(targets.values())


def _file_names(paths: list[str], out: Path, suffix: str) -> dict[str, Path]:
    """One file in ``out`` per recording: named by the recording's name, or, when two
    recordings share a name (``a/take1.wav``, ``b/take1.wav``), by its path below the folder
    they all are in (``out/a/take1.eaf``)."""
    import os

    stems = [Path(p).stem for p in paths]
    if len(set(stems)) == len(stems):
        names = {p: Path(Path(p).stem + suffix) for p in paths}
    else:
        root = Path(os.path.commonpath([str(Path(p).parent) for p in paths]))
        names = {p: Path(p).relative_to(root).with_suffix(suffix) for p in paths}
    for name in set(names.values()):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    return {p: out / name for p, name in names.items()}


def _label(hit: Detection) -> str:
    return hit.label or f"{hit.term} {hit.score:.3f}"


def _by_term(hits: list[Detection]) -> dict[str, list[Detection]]:
    """Each term's hits, overlapping ones dropped (the higher score stays): a tier is a line."""
    tiers: dict[str, list[Detection]] = defaultdict(list)
    for hit in sorted(hits, key=lambda h: -h.score):
        kept = tiers[hit.term]
        if all(hit.end <= k.start or hit.start >= k.end for k in kept):
            kept.append(hit)
    return {term: sorted(kept, key=lambda h: h.start) for term, kept in tiers.items()}


def _eaf(hits: list[Detection], target: Path, recording: str, end: float) -> None:
    import pympi

    eaf = pympi.Elan.Eaf(author="seqae")
    eaf.remove_tier("default")
    eaf.add_linked_file(str(Path(recording).resolve()), mimetype="audio/x-wav")
    for term, kept in _by_term(hits).items():
        eaf.add_tier(term)
        for hit in kept:
            eaf.add_annotation(term, round(hit.start * 1000), round(hit.end * 1000), _label(hit))
    with replaced_atomically(target) as tmp:
        eaf.to_file(str(tmp))


def _textgrid(hits: list[Detection], target: Path, recording: str, end: float) -> None:
    from praatio import textgrid

    grid = textgrid.Textgrid(0.0, end)
    for term, kept in _by_term(hits).items():
        entries = [(h.start, h.end, _label(h)) for h in kept]
        grid.addTier(textgrid.IntervalTier(term, entries, 0.0, end))
    with replaced_atomically(target) as tmp:
        grid.save(str(tmp), format="long_textgrid", includeBlankSpaces=True)


def _clock(seconds: float) -> str:
    milliseconds = round(seconds * 1000)
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _vtt(hits: list[Detection], target: Path, recording: str, end: float) -> None:
    import webvtt

    captions = webvtt.WebVTT()
    for hit in hits:
        captions.captions.append(webvtt.Caption(_clock(hit.start), _clock(hit.end), _label(hit)))
    write_text_atomic(target, captions.content)


def _audacity(hits: list[Detection], target: Path, recording: str, end: float) -> None:
    lines = [f"{h.start:.6f}\t{h.end:.6f}\t{_label(h)}\n" for h in hits]
    write_text_atomic(target, "".join(lines))


def write_std(
    detections: list[Detection], out: Path, durations: dict[str, float], threshold: float
) -> list[Path]:
    """NIST STD files in ``out``: ``hits.stdlist.xml``, ``hits.ecf.xml``, ``hits.tlist.xml``."""
    from lxml import etree

    out.mkdir(parents=True, exist_ok=True)
    terms = sorted({d.term for d in detections})
    ids = {term: f"TERM-{n:04d}" for n, term in enumerate(terms, 1)}
    files = sorted({d.path for d in detections} | set(durations))
    names = {path: Path(path).name for path in files}
    stdlist = etree.Element(
        "stdlist", termlist_filename="hits.tlist.xml", indexing_time="0.0", language="unknown",
        index_size="0", system_id="seqae",
    )  # fmt: skip
    for term in terms:
        listed = etree.SubElement(
            stdlist, "detected_termlist", termid=ids[term], term_search_time="0.0",
            oov_term_count="0",
        )  # fmt: skip
        for d in sorted((d for d in detections if d.term == term), key=lambda d: -d.score):
            etree.SubElement(
                listed, "term", file=names[d.path], channel="1", tbeg=f"{d.start:.3f}",
                dur=f"{d.end - d.start:.3f}", score=f"{d.score:.6f}",
                decision="YES" if d.score >= threshold else "NO",
            )  # fmt: skip
    total = sum(durations.get(path, 0.0) for path in files)
    ecf = etree.Element("ecf", source_signal_duration=f"{total:.3f}", version="seqae")
    for path in files:
        etree.SubElement(
            ecf, "excerpt", audio_filename=names[path], channel="1", tbeg="0.000",
            dur=f"{durations.get(path, 0.0):.3f}", source_type="audio",
        )  # fmt: skip
    termlist = etree.Element(
        "termlist", ecf_filename="hits.ecf.xml", version="1", language="unknown"
    )
    for term in terms:
        etree.SubElement(
            etree.SubElement(termlist, "term", termid=ids[term]), "termtext"
        ).text = term
    written = []
    for name, root in (
        ("hits.stdlist.xml", stdlist),
        ("hits.ecf.xml", ecf),
        ("hits.tlist.xml", termlist),
    ):
        target = out / name
        with replaced_atomically(target) as tmp:
            etree.ElementTree(root).write(
                str(tmp), xml_declaration=True, encoding="UTF-8", pretty_print=True
            )
        written.append(target)
    return written
