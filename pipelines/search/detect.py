"""``seqae detect``: many terms, each given by one or more example clips, searched in one index
and written in the formats of the tools people review hits in (pipelines.export.hits).

The terms file is a manifest (CSV, or any annotation file the manifest reader imports) of
example clips; a ``term`` column (else ``label``) names each clip's term, and clips of one term
are fused into one query. Without either column every clip is a term of its own, named by its
file. A term keeps its hits scoring at least ``threshold``, at most ``limit`` of them; the
NIST ``stdlist`` keeps all ``limit`` and marks the ones under the threshold ``decision="NO"``,
as scoring tools expect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.export.hits import (
    FOLDER_NAMES,
    FORMATS,
    PER_RECORDING,
    Detection,
    detections_of,
    recording_durations,
    write_hits,
)
from pipelines.io.extract import alone, extract_features
from pipelines.io.manifest import Segment, read_manifest
from pipelines.search import DEFAULT_FUSION, FUSIONS
from pipelines.search.build import open_index_with_model
from pipelines.search.rerank import DEFAULT_WEIGHT
from pipelines.search.speech import search_features
from seqae.errors import SeqaeError
from seqae.runs import check_not_input, write_json_atomic, writer_lock

REPORT_FILE = "detect.json"


@dataclass(frozen=True)
class DetectSettings:
    """What ``seqae detect`` writes and which hits it keeps."""

    formats: tuple[str, ...] = ("csv",)
    threshold: float | None = None  # None: every hit up to the limit
    limit: int = 100  # hits per term
    rerank_k: int = 0  # > 0: DTW re-ranks the index's top rerank_k of each term
    weight: float = DEFAULT_WEIGHT
    fusion: str = DEFAULT_FUSION

    def __post_init__(self) -> None:
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown or not self.formats:
            raise SeqaeError(f"--format must be one of {', '.join(FORMATS)}, not {unknown}")
        if self.fusion not in FUSIONS:
            raise SeqaeError(f"--fusion must be one of {', '.join(FUSIONS)}, not {self.fusion!r}")
        if self.limit < 1:
            raise SeqaeError(f"--limit must be at least 1, not {self.limit}")


@dataclass
class DetectReport:
    """What was found and written."""

    terms: dict[str, int]  # term -> hits kept (at or above the threshold)
    examples: dict[str, int]  # term -> example clips used
    written: dict[str, list[Path]]  # format -> files
    skipped: list[str] = field(default_factory=list)

    @property
    def detections(self) -> int:
        return sum(self.terms.values())


def term_name(segment: Segment) -> str:
    """The term a clip is an example of: its ``term``, else its ``label``, else its file."""
    return (segment.metadata.get("term") or segment.label or segment.path.stem).strip()


def read_terms(path: Path) -> dict[str, list[Segment]]:
    """term -> its example clips, in the order the terms file gives them."""
    terms: dict[str, list[Segment]] = {}
    for segment in read_manifest(path):
        terms.setdefault(term_name(segment), []).append(segment)
    return terms


def detect_terms(
    index_dir: Path,
    terms_file: Path,
    out: Path,
    settings: DetectSettings = DetectSettings(),
    progress: Callable[[int], None] | None = None,
) -> DetectReport:
    """Search every term of ``terms_file`` in ``index_dir``; write its hits to ``out``.

    ``out`` is a folder: ``hits.csv``, ``hits.jsonl``, and ``eaf/``, ``textgrid/``, ``vtt/``,
    ``audacity/`` (one file per recording), ``std/`` (the NIST files), as ``settings.formats``
    asks, and ``detect.json`` with the settings and counts. A clip that cannot be read is
    skipped and reported; a term left with no clip is skipped. ``progress`` counts clips.
    """
    terms = read_terms(terms_file)
    check_not_input(out, [index_dir, terms_file, *(s.path for c in terms.values() for s in c)])
    if out.exists() and not out.is_dir():
        raise SeqaeError(f"{out}: exists and is not a folder; choose another --out")
    index, bundle = open_index_with_model(index_dir)
    if bundle.modality != "audio":
        raise SeqaeError(f"{index_dir}: indexes sentences; detect searches speech")
    threshold = settings.threshold

    def kept(score: float) -> bool:
        return threshold is None or score >= threshold

    # each clip on its own, as ``seqae search`` reads a query; unreadable ones are skipped
    clips = [alone(clip) for examples in terms.values() for clip in examples]
    extraction = extract_features(clips, bundle.features, progress=progress)
    skipped = [reason for _, reason in extraction.skipped]
    examples: dict[str, list[np.ndarray]] = {term: [] for term in terms}
    for clip, features in zip(extraction.segments, extraction.features, strict=True):
        examples[term_name(clip)].append(features)
    found: list[Detection] = []
    report = DetectReport({}, {}, {}, skipped)
    for term, features in examples.items():
        if not features:
            skipped.append(f"term {term!r}: none of its {len(terms[term])} clips could be read")
            continue
        hits = search_features(
            index, features, bundle.embed(features), settings.limit, settings.rerank_k,
            settings.weight, groups=[list(range(len(features)))], fusion=settings.fusion,
        )[0]  # fmt: skip
        found.extend(detections_of(hits, term))
        report.terms[term] = sum(kept(h.score) for h in hits)
        report.examples[term] = len(features)
    durations = recording_durations(found)
    decided = threshold if threshold is not None else float("-inf")
    with writer_lock(out):
        out.mkdir(parents=True, exist_ok=True)
        for fmt in settings.formats:
            chosen = found if fmt == "stdlist" else [d for d in found if kept(d.score)]
            target = out / FOLDER_NAMES[fmt]
            report.written[fmt] = write_hits(chosen, fmt, target, durations, decided)
            if fmt in PER_RECORDING:  # a recording hit last time but not now: its file goes
                for old in target.rglob(f"*{PER_RECORDING[fmt]}"):
                    if old not in report.written[fmt]:
                        old.unlink()
        write_json_atomic(
            out / REPORT_FILE,
            {
                "index": str(index_dir.resolve()),
                "model_id": bundle.model_id,
                "terms_file": str(terms_file.resolve()),
                "threshold": threshold,
                "limit": settings.limit,
                "rerank_k": settings.rerank_k,
                "fusion": settings.fusion,
                "formats": list(settings.formats),
                "terms": {
                    t: {"examples": report.examples[t], "hits": n} for t, n in report.terms.items()
                },
                "skipped": skipped,
            },
        )
    return report
