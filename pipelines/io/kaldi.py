"""Kaldi data directories as manifest segments: ``wav.scp``, ``segments``, ``utt2spk``, ``text``.

One segment per utterance (per ``segments`` line, or per recording without that file), with
the speaker from ``utt2spk`` and the transcript from ``text`` as its label. Audio that Kaldi
reads through a command or from an archive is refused: no command is ever run.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from pipelines.io.manifest import Segment
from seqae.errors import SeqaeError

WAV_SCP = "wav.scp"


def read_kaldi_dir(folder: Path, audio_root: Path | None = None) -> list[Segment]:
    """One segment per utterance of a Kaldi data directory (per recording without ``segments``).

    Relative wav.scp paths are read from ``audio_root`` if given (else from the data
    directory itself). Kaldi reads them from the
    folder its recipe runs in, which a data directory does not record; by default each path
    is looked for from the recipe's folder (``s5/`` for ``s5/data/train``), then from the data
    directory's parent, then from the data directory itself, and the first that exists wins.
    """
    if audio_root is not None and not audio_root.is_dir():
        raise SeqaeError(
            f"{audio_root}: not a folder; for a Kaldi data directory the audio option names "
            "the folder its relative wav.scp paths start from"
        )
    folder = folder.resolve()
    roots = (
        (audio_root.resolve(), folder)
        if audio_root
        else (folder.parent.parent, folder.parent, folder)
    )
    recordings = _wav_scp(folder / WAV_SCP, roots)
    speakers = _table(folder / "utt2spk", require_value=True)
    texts = _table(folder / "text", require_value=False)
    rows = _kaldi_segments(folder, recordings) if (folder / "segments").is_file() else None
    if rows is None:  # no segments file: each recording is one utterance, named as it is
        rows = [(name, path, None, None) for name, path in recordings.items()]
    segments = []
    for utterance, path, start, end in rows:
        metadata = {"utterance": utterance}
        if speakers is not None:
            metadata["speaker"] = speakers.get(utterance, "")
        if texts is not None:
            metadata["label"] = texts.get(utterance, "")
        segments.append(Segment(path, start, end, metadata))
    if not segments:
        raise SeqaeError(f"{folder}: no utterances (empty wav.scp or segments)")
    return segments


PIPE_OR_ARCHIVE = re.compile(r"\|\s*$|^\s*\||^(ark|scp),?[a-z,]*:|\.ark:\d+|^-$")


def _wav_scp(path: Path, roots: tuple[Path, ...]) -> dict[str, Path]:
    """Recording id -> audio file; commands and archive offsets are refused, never run."""
    recordings: dict[str, Path] = {}
    for line, (name, value) in _lines(path, require_value=True):
        if PIPE_OR_ARCHIVE.search(value):
            how = "a command" if "|" in value else "an archive or standard input"
            raise SeqaeError(
                f"{path}:{line}: {name} is read through {how} ({value}); seqae runs no "
                "commands and reads no archives: convert the audio to files and list their paths"
            )
        if name in recordings:
            raise SeqaeError(f"{path}:{line}: recording {name!r} is listed twice")
        recordings[name] = _audio_path(value, roots).resolve()
    if recordings and not any(p.is_file() for p in recordings.values()):
        first = next(iter(recordings.values()))
        raise SeqaeError(
            f"{path}: none of its {len(recordings)} audio files exists (the first: {first}); "
            f"relative paths are read from {', '.join(map(str, roots))}; name the folder they "
            f"start from with 'seqae manifest {path.parent.name} --audio FOLDER --out "
            "manifest.csv'"
        )
    return recordings


def _audio_path(value: str, roots: tuple[Path, ...]) -> Path:
    """A wav.scp path: absolute as it is; relative from the first of ``roots`` holding it
    (from the first root when none does: the error then names that place)."""
    if Path(value).is_absolute():
        return Path(value)
    return next((root / value for root in roots if (root / value).exists()), roots[0] / value)


def _kaldi_segments(folder: Path, recordings: dict[str, Path]) -> list[tuple]:
    """(utterance, audio, start, end) of each line of ``segments``; an end of -1 is the end."""
    path = folder / "segments"
    rows = []
    for line, (utterance, value) in _lines(path, require_value=True):
        fields = value.split()
        where = f"{path}:{line}"
        if len(fields) not in (3, 4):
            raise SeqaeError(f"{where}: not 'utterance recording start end [channel]'")
        recording, start, end = fields[:3]
        if recording not in recordings:
            raise SeqaeError(f"{where}: recording {recording!r} is not in wav.scp")
        begin, finish = _seconds(start, where), _seconds(end, where)
        if finish is not None and finish < 0:
            finish = None  # Kaldi's "to the end of the recording"
        if begin < 0 or (finish is not None and finish <= begin):
            raise SeqaeError(f"{where}: {start} to {end} is not a span in seconds")
        rows.append((utterance, recordings[recording], begin, finish))
    return rows


def _seconds(value: str, where: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds):
        raise SeqaeError(f"{where}: {value!r} is not a time in seconds")
    return seconds


def _table(path: Path, require_value: bool) -> dict[str, str] | None:
    """First field -> the rest of the line, of an optional Kaldi file (None when absent)."""
    if not path.is_file():
        return None
    return {key: value for _, (key, value) in _lines(path, require_value)}


def _lines(path: Path, require_value: bool):
    """(line number, (first field, rest of the line)) of a Kaldi text file; blank lines skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SeqaeError(f"{path}: cannot read ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise SeqaeError(f"{path}: not UTF-8 text (byte {error.start})") from None
    for number, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split(maxsplit=1)  # Kaldi: the key, white space, the rest of the line
        if not fields:
            continue
        key, value = fields[0], fields[1].strip() if len(fields) > 1 else ""
        if require_value and not value:
            raise SeqaeError(f"{path}:{number}: {key!r} has no value")
        yield number, (key, value)
