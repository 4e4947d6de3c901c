"""Manifests: which audio segments a job works on (a CSV file, a folder of audio files, or
annotations read by ``pipelines.io.annotations``)."""

from __future__ import annotations

import codecs
import csv
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from seqae.errors import SeqaeError

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".m4a", ".aac", ".opus", ".aiff", ".aif"}
RESERVED = ("path", "start", "end")


@dataclass(frozen=True)
class Segment:
    """One span of one audio file, with the manifest's other columns as metadata."""

    path: Path
    start: float | None = None
    end: float | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.metadata.get("label", "")

    def describe(self) -> str:
        if self.start is None and self.end is None:
            return str(self.path)
        return (
            f"{self.path} [{self.start or 0.0:.2f}-{self.end if self.end is not None else 'end'}]"
        )


def _seconds(value: str, column: str, where: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise SeqaeError(f"{where}: column {column!r} holds {value!r}, not seconds") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise SeqaeError(f"{where}: column {column!r} holds {value!r}, not a time in seconds")
    return seconds


UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def not_text(head: bytes) -> str | None:
    """Why the first bytes of a file are not UTF-8 text (None if they may be): a UTF-16
    byte-order mark, or NUL bytes, which text never holds."""
    if head.startswith(UTF16_BOMS):
        return "UTF-16 text, not UTF-8; save it as UTF-8"
    if b"\0" in head:
        return "binary data (NUL bytes), not text"
    return None


def _manifest_text(path: Path) -> str:
    """The manifest's text: UTF-8 with or without a byte-order mark (as spreadsheets save
    "CSV UTF-8"), or UTF-16 with its mark."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SeqaeError(f"{path}: cannot read ({error.strerror or error})") from None
    try:
        text = data.decode("utf-16") if data.startswith(UTF16_BOMS) else None
        if "\0" in (text or "") or (text is None and b"\0" in data):
            raise SeqaeError(f"{path}: binary data (NUL bytes), not a CSV manifest")
        return text if text is not None else data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SeqaeError(
            f"{path}: not UTF-8 text (byte {error.start}); save the manifest as CSV UTF-8"
        ) from None


def read_csv_manifest(path: Path) -> list[Segment]:
    """Read a manifest CSV; relative paths are taken relative to the CSV's folder."""
    with io.StringIO(_manifest_text(path), newline="") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        if "path" not in columns:
            raise SeqaeError(f"{path}: manifest has no 'path' column (columns: {columns})")
        segments = []
        for line, row in enumerate(reader, start=2):
            where = f"{path}:{line}"
            raw = (row.get("path") or "").strip()
            if not raw:
                raise SeqaeError(f"{where}: empty 'path'")
            audio = Path(raw) if Path(raw).is_absolute() else (path.parent / raw).resolve()
            meta = {k: (v or "") for k, v in row.items() if k not in RESERVED and k is not None}
            segments.append(
                Segment(
                    path=audio,
                    start=_seconds(row.get("start") or "", "start", where),
                    end=_seconds(row.get("end") or "", "end", where),
                    metadata=meta,
                )
            )
    return segments


def read_folder_manifest(folder: Path) -> list[Segment]:
    """Every audio file below ``folder`` (sorted) is one segment."""
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    return [Segment(path=p.resolve()) for p in files if p.is_file()]


def read_manifest(source: str | Path) -> list[Segment]:
    """Read segments from a manifest CSV, a folder of audio files, or annotations: a TextGrid
    or ELAN .eaf file (``FILE#TIER`` picks a tier) or a Kaldi data directory (with wav.scp)."""
    from pipelines.io.annotations import is_annotation_source, read_annotations, split_tier

    source = Path(source)
    path, tier = split_tier(source)
    if is_annotation_source(path):
        segments = read_annotations(path, tier)
    elif source.is_dir():
        segments = read_folder_manifest(source)
    elif source.is_file():
        segments = read_csv_manifest(source)
    else:
        raise SeqaeError(f"{source}: no such manifest file or folder")
    if not segments:
        raise SeqaeError(f"{source}: no segments found")
    return segments


def metadata_columns(items: list) -> list[str]:
    """All metadata column names of segments (or sentences), in first-seen order."""
    seen: dict[str, None] = {}
    for item in items:
        for key in item.metadata:
            seen.setdefault(key, None)
    return list(seen)


def write_manifest(segments: list[Segment], path: Path) -> None:
    """Write segments as a manifest CSV (path, start, end, label, the other metadata), whole or
    not at all; audio paths are relative to its folder unless they share only the root."""
    from seqae.runs import write_csv_atomic

    folder = path.parent.resolve()
    columns = [*RESERVED, *dict.fromkeys(["label", *metadata_columns(segments)])]
    rows = (
        {
            **segment.metadata,
            "path": _relative_path(segment.path, folder),
            "start": _seconds_text(segment.start),
            "end": _seconds_text(segment.end),
        }
        for segment in segments
    )
    write_csv_atomic(path, columns, rows)


def _relative_path(audio: Path, folder: Path) -> str:
    audio = Path(audio).absolute()
    if Path(os.path.commonpath([audio, folder])) == Path(folder.anchor):
        return str(audio)  # /data/a.wav beside /home/me/m.csv: ../../../data/a.wav helps no one
    return os.path.relpath(audio, folder)


def _seconds_text(seconds: float | None) -> str:
    return "" if seconds is None else str(round(float(seconds), 6))  # to the microsecond
