"""The page's hits as a file for other tools: CSV, ELAN (.eaf) or Praat TextGrid.

The client sends back the ids and scores of the hits it was given; the recordings and times
come from the index's own metadata, so no path from the client reaches the file system. The
files are written by ``pipelines.export.hits.write_hits`` into a temporary folder; a
per-recording format with hits in several recordings is sent as a .zip of its files.
"""

from __future__ import annotations

import io
import math
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, Field

from pipelines.export.hits import PER_RECORDING, Detection, write_hits
from pipelines.server.state import ServerState
from pipelines.server.uploads import RequestError

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "eaf": "application/xml",
    "textgrid": "text/plain; charset=utf-8",
}
MAX_TERM_CHARS = 100


class ExportedHit(BaseModel):
    id: int = Field(description="The hit's segment id, as the search gave it.")
    score: float = Field(description="Its score, written beside it.")


class ExportRequest(BaseModel):
    format: str = Field(description="csv, eaf (ELAN) or textgrid (Praat).")
    term: str = Field("query", description="The hits' term: their tier's name in ELAN and Praat.")
    hits: list[ExportedHit] = Field(description="The hits to write.")


@dataclass(frozen=True)
class ExportFile:
    data: bytes
    filename: str
    media_type: str

    def headers(self) -> dict[str, str]:
        return {"Content-Disposition": f'attachment; filename="{self.filename}"'}


def clean_term(term: str | None, fallback: str = "query") -> str:
    """A term name from the client: stripped, one line, at most ``MAX_TERM_CHARS``; without
    one, ``fallback`` (an upload's file name) with its control characters dropped."""
    term = (term or "").strip()
    if not term:
        fallback = "".join(c for c in fallback if unicodedata.category(c) != "Cc").strip()
        return fallback[:MAX_TERM_CHARS] or "query"
    if len(term) > MAX_TERM_CHARS:
        raise RequestError(422, f"term of {len(term)} characters; the limit is {MAX_TERM_CHARS}")
    if any(unicodedata.category(char) == "Cc" for char in term):
        raise RequestError(422, "term holds control characters (a line break, a tab, ...)")
    return term


def safe_name(text: str) -> str:
    """``text`` reduced to letters, digits, '.', '-' and '_', for a download's file name (an
    HTTP header holds Latin-1 only, and a quote would end the name)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "hits"


def export_file(state: ServerState, request: ExportRequest) -> ExportFile:
    """The requested hits written as ``request.format``, as one file or a zip of files."""
    fmt = request.format
    if fmt not in MEDIA_TYPES:
        raise RequestError(422, f"format must be one of {', '.join(MEDIA_TYPES)}, not {fmt!r}")
    term = clean_term(request.term)
    detections, durations = _detections(state, request.hits, term)
    with tempfile.TemporaryDirectory(prefix="seqae-export-") as folder:
        if fmt == "csv":
            out = Path(folder) / "hits.csv"
            write_hits(detections, fmt, out)
            return ExportFile(out.read_bytes(), f"{safe_name(term)}.csv", MEDIA_TYPES[fmt])
        files = _per_recording(detections, fmt, Path(folder), durations)
    if len(files) == 1:
        name, data = files[0]
        filename = safe_name(PurePosixPath(name).stem) + PER_RECORDING[fmt]
        return ExportFile(data, filename, MEDIA_TYPES[fmt])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return ExportFile(buffer.getvalue(), f"{safe_name(term)}-{fmt}.zip", "application/zip")


def _detections(
    state: ServerState, hits: list[ExportedHit], term: str
) -> tuple[list[Detection], dict[str, float]]:
    """The hits as detections in the recordings' shown paths, and those recordings' seconds."""
    if state.modality != "audio":
        raise RequestError(400, "this index holds sentences: its hits have no times to export")
    if not 1 <= len(hits) <= state.limits.max_k:
        raise RequestError(422, f"send 1 to {state.limits.max_k} hits, not {len(hits)}")
    scores: dict[int, float] = {}
    for hit in hits:
        if not math.isfinite(hit.score):
            raise RequestError(422, f"hit {hit.id}: its score is {hit.score}, not a number")
        scores.setdefault(hit.id, hit.score)
    ids = list(scores)
    detections, durations = [], {}
    for segment_id, row in zip(ids, state.rows(ids), strict=True):
        if not row.get("path"):
            raise RequestError(400, f"segment {segment_id} has no recording and times")
        path = str(row["path"])
        shown, seconds = state.shown_path(path), state.duration(path)
        start = float(row.get("start") or 0.0)
        end = row.get("end")
        end = seconds if end is None else float(end)  # a whole-file segment
        if end is None:
            raise RequestError(404, f"segment {segment_id}: its source audio is not on the server")
        if seconds is not None:
            durations[shown] = seconds
        detections.append(
            Detection(term, shown, round(start, 3), round(end, 3), round(scores[segment_id], 4))
        )
    return detections, durations


def _per_recording(
    detections: list[Detection], fmt: str, folder: Path, durations: dict[str, float]
) -> list[tuple[str, bytes]]:
    """One file per recording: (its name in a zip, beside the recording; its bytes)."""
    suffix = PER_RECORDING[fmt]
    recordings = sorted({d.path for d in detections})
    files, taken = [], set()
    for number, recording in enumerate(recordings):
        out = folder / f"{number:05d}{suffix}"
        write_hits([d for d in detections if d.path == recording], fmt, out, durations)
        if fmt == "eaf":
            _link_beside(out, PurePosixPath(recording).name)
        name = str(PurePosixPath(recording).with_suffix(suffix))
        while name in taken:  # the same name in two folders outside the archive's root
            name = str(PurePosixPath(name).with_stem(PurePosixPath(name).stem + "_"))
        taken.add(name)
        files.append((name, out.read_bytes()))
    return files


def _link_beside(eaf_path: Path, recording: str) -> None:
    """Link the ELAN file to its recording by name, as a file beside it, rather than by the
    server's own folders."""
    import pympi

    eaf = pympi.Elan.Eaf(str(eaf_path))
    for media in eaf.media_descriptors:
        media["MEDIA_URL"] = recording
        media["RELATIVE_MEDIA_URL"] = f"./{recording}"
    eaf.to_file(str(eaf_path))
