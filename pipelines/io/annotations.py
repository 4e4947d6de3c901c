"""Labelled intervals as manifest segments: Praat TextGrid tiers, ELAN tiers, Kaldi data dirs.

Each reader returns the same ``Segment`` rows a manifest CSV gives, with the interval's text
(or the utterance's transcript) as ``label``, so whatever reads a manifest reads these too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from pipelines.io.kaldi import WAV_SCP, read_kaldi_dir
from pipelines.io.manifest import AUDIO_SUFFIXES, Segment
from seqae.errors import SeqaeError

TEXTGRID_SUFFIX = ".textgrid"
EAF_SUFFIX = ".eaf"
# .wav first, then the other suffixes in a fixed order: which audio file a TextGrid gets
# must not depend on a set's order
AUDIO_ORDER = (".wav", *sorted(AUDIO_SUFFIXES - {".wav"}))


def is_annotation_source(path: Path) -> bool:
    """True for a TextGrid or .eaf file, or a Kaldi data directory (a folder with wav.scp)."""
    if path.is_dir():
        return (path / WAV_SCP).is_file()
    return path.is_file() and path.suffix.lower() in (TEXTGRID_SUFFIX, EAF_SUFFIX)


def split_tier(source: Path) -> tuple[Path, str | None]:
    """``FILE.eaf#TIER`` -> (FILE.eaf, TIER); a path that exists as given is never split."""
    if source.exists() or "#" not in source.name:
        return source, None
    name, _, tier = source.name.rpartition("#")
    path = source.with_name(name)
    if not path.is_file():
        return source, None  # neither exists: the caller reports the path as given
    if path.suffix.lower() not in (TEXTGRID_SUFFIX, EAF_SUFFIX):
        raise SeqaeError(f"{source}: #TIER picks a tier of a TextGrid or .eaf file, not of {path}")
    if not tier.strip():
        raise SeqaeError(f"{source}: no tier name after '#'")
    return path, tier


def read_annotations(
    source: Path, tier: str | None = None, audio: Path | None = None
) -> list[Segment]:
    """Segments of a TextGrid or ELAN tier, or of a Kaldi data directory's utterances.

    ``audio``: the recording of a TextGrid or .eaf file; for a Kaldi data directory, the
    folder its relative wav.scp paths start from.
    """
    source = Path(source)
    if source.is_dir() and (source / WAV_SCP).is_file():
        if tier is not None:
            raise SeqaeError(f"{source}: a Kaldi data directory has no tiers; drop the tier")
        return read_kaldi_dir(source, audio_root=audio)
    suffix = source.suffix.lower()
    if suffix == TEXTGRID_SUFFIX:
        return read_textgrid(source, tier, audio)
    if suffix == EAF_SUFFIX:
        return read_eaf(source, tier, audio)
    raise SeqaeError(
        f"{source}: not a TextGrid, an ELAN .eaf file or a Kaldi data directory (with wav.scp)"
    )


# Praat TextGrid


def read_textgrid(path: Path, tier: str | None = None, audio: Path | None = None) -> list[Segment]:
    """The labelled intervals of one interval tier; blank intervals are skipped."""
    from praatio import textgrid
    from praatio.utilities.constants import INTERVAL_TIER

    try:
        grid = textgrid.openTextgrid(
            str(path), includeEmptyIntervals=False, reportingMode="silence"
        )
    except OSError as error:
        raise SeqaeError(f"{path}: cannot read ({error.strerror or error})") from None
    except Exception as error:  # praatio raises many kinds on a malformed file
        raise SeqaeError(f"{path}: not a TextGrid praatio can read ({_reason(error)})") from None
    name = _choose_tier(path, list(grid.tierNames), tier)
    found = grid.getTier(name)
    if found.tierType != INTERVAL_TIER:
        raise SeqaeError(
            f"{path}: tier {name!r} is a point tier (times, not intervals); choose an interval tier"
        )
    recording = _checked_audio(path, audio) if audio else _audio_beside(path)
    segments = [
        Segment(recording, float(start), float(end), {"label": text.strip(), "tier": name})
        for start, end, text in found.entries
        if text.strip()
    ]
    return _not_empty(segments, path, name)


def _audio_beside(path: Path) -> Path:
    """The audio file with the TextGrid's name in its folder (``.wav`` first)."""
    by_suffix = {
        p.suffix.lower(): p
        for p in path.parent.iterdir()
        if p.stem == path.stem and p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()
    }
    for suffix in AUDIO_ORDER:
        if suffix in by_suffix:
            return by_suffix[suffix].resolve()
    inner = path.with_suffix("")  # rec.wav.TextGrid, as some tools name it
    if inner.suffix.lower() in AUDIO_SUFFIXES and inner.is_file():
        return inner.resolve()
    raise SeqaeError(
        f"{path}: no audio file {path.stem}.wav (or .flac, .mp3, ...) beside it; name the "
        f"audio with 'seqae manifest {path.name} --audio AUDIO --out manifest.csv'"
    )


# ELAN


def read_eaf(path: Path, tier: str | None = None, audio: Path | None = None) -> list[Segment]:
    """The non-empty annotations of one ELAN tier; the tier's participant is the speaker."""
    import pympi

    try:
        eaf = pympi.Elan.Eaf(str(path), suppress_version_warning=True)
    except OSError as error:
        raise SeqaeError(f"{path}: cannot read ({error.strerror or error})") from None
    except Exception as error:  # pympi raises bare Exceptions and KeyErrors on bad files
        raise SeqaeError(f"{path}: not an ELAN file pympi can read ({_reason(error)})") from None
    name = _choose_tier(path, list(eaf.get_tier_names()), tier)
    recording = _checked_audio(path, audio) if audio else _linked_audio(path, eaf)
    metadata = {"tier": name}
    speaker = (eaf.tiers[name][2].get("PARTICIPANT") or "").strip()
    if speaker:
        metadata["speaker"] = speaker
    segments = [
        Segment(recording, start / 1000, end / 1000, {"label": text.strip(), **metadata})
        for start, end, text in sorted(_eaf_intervals(eaf, name, path))
        if text.strip()
    ]
    return _not_empty(segments, path, name)


def _eaf_intervals(eaf, tier: str, path: Path) -> list[tuple[int, int, str]]:
    """(start ms, end ms, text) of each annotation of ``tier``.

    A reference tier (ELAN's symbolic types) has no times of its own. A one-to-one
    association borrows the times of the time-aligned annotation it stands for, which are
    exactly its own. A subdivision splits one annotation into parts ELAN never timed: giving
    each part the whole span would make wrong, overlapping segments, so two annotations that
    lead to the same time-aligned one are refused.
    """
    aligned, references = eaf.tiers[tier][0], eaf.tiers[tier][1]
    if references:
        owners = {name: _aligned(eaf, parent, path) for name, (parent, *_) in references.items()}
        if len(set(owners.values())) < len(owners):
            raise SeqaeError(
                f"{path}: tier {tier!r} subdivides annotations without times (a symbolic "
                "subdivision); choose the tier it subdivides or a time-aligned tier"
            )
        spans = [
            (*_annotation(eaf, owners[name])[:2], value)
            for name, (_, value, *_) in references.items()
        ]
    else:
        spans = [(first, second, value) for first, second, value, *_ in aligned.values()]
    intervals = [(eaf.timeslots.get(a), eaf.timeslots.get(b), text) for a, b, text in spans]
    untimed = sum(1 for start, end, text in intervals if text.strip() and None in (start, end))
    if untimed:
        raise SeqaeError(
            f"{path}: tier {tier!r} has {untimed} annotations without a time (an unaligned "
            "time subdivision); align them in ELAN first"
        )
    return [
        (start, end, text)
        for start, end, text in intervals
        if start is not None and end is not None
    ]


def _aligned(eaf, annotation: str, path: Path) -> str:
    """The id of the time-aligned annotation ``annotation`` is or points at (through others)."""
    for _ in range(len(eaf.annotations) + 1):  # bounded: a damaged file may hold a cycle
        tier = eaf.annotations.get(annotation)
        if tier is None:
            break
        if annotation in eaf.tiers[tier][0]:
            return annotation
        annotation = eaf.tiers[tier][1][annotation][0]
    raise SeqaeError(f"{path}: annotation {annotation!r} refers to no time-aligned annotation")


def _annotation(eaf, annotation: str) -> tuple:
    """(start slot, end slot, value, ...) of a time-aligned annotation."""
    return eaf.tiers[eaf.annotations[annotation]][0][annotation]


def _linked_audio(path: Path, eaf) -> Path:
    """The first linked audio file that exists: its relative URL (against the .eaf's folder),
    its absolute URL, or its name in the .eaf's folder (the file moved with the .eaf)."""
    linked = [d for d in eaf.media_descriptors if _is_audio(d)]
    if not linked:
        others = [d.get("MEDIA_URL", "") for d in eaf.media_descriptors]
        found = f"only {', '.join(others)}" if others else "no media file"
        raise SeqaeError(
            f"{path}: links no audio file ({found}); name the audio with "
            f"'seqae manifest {path.name} --audio AUDIO --out manifest.csv'"
        )
    for descriptor in linked:
        for candidate in _media_candidates(path, descriptor):
            if candidate.is_file():
                return candidate.resolve()
    url = linked[0].get("RELATIVE_MEDIA_URL") or linked[0].get("MEDIA_URL")
    raise SeqaeError(
        f"{path}: its linked audio {url} is not found (beside the .eaf or at its URL); name "
        f"the audio with 'seqae manifest {path.name} --audio AUDIO --out manifest.csv'"
    )


def _is_audio(descriptor: dict) -> bool:
    url = descriptor.get("MEDIA_URL") or descriptor.get("RELATIVE_MEDIA_URL") or ""
    mime = descriptor.get("MIME_TYPE") or ""
    return mime.startswith("audio/") or Path(_url_path(url) or "").suffix.lower() in AUDIO_SUFFIXES


def _media_candidates(path: Path, descriptor: dict) -> list[Path]:
    folder = path.parent
    relative = _url_path(descriptor.get("RELATIVE_MEDIA_URL") or "")
    absolute = _url_path(descriptor.get("MEDIA_URL") or "")
    candidates = [folder / relative] if relative else []
    if absolute:
        candidates.append(folder / absolute)  # an absolute path stays itself
        # the name alone, also of a Windows path (C:\\...\\a.wav), in the .eaf's folder
        candidates.append(folder / re.split(r"[\\/]", absolute)[-1])
    return candidates


def _url_path(url: str) -> str | None:
    """The local path of a ``file:`` URL or a plain path; None for other schemes (http:)."""
    url = url.strip()
    if not url:
        return None
    parsed = urlparse(url)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            return None  # a file on another host
        return unquote(parsed.path)
    if len(parsed.scheme) > 1:  # http:, rtsp:, ... (one letter: a Windows drive)
        return None
    return url


# shared


def _choose_tier(path: Path, names: list[str], tier: str | None) -> str:
    listed = ", ".join(repr(name) for name in names)
    if tier is not None:
        if tier not in names:
            raise SeqaeError(
                f"{path}: no tier {tier!r} (tiers: {listed}); pick one with --tier NAME or "
                f"{path.name}#NAME"
            )
        return tier
    if len(names) == 1:
        return names[0]
    if not names:
        raise SeqaeError(f"{path}: holds no tiers")
    raise SeqaeError(
        f"{path}: holds {len(names)} tiers ({listed}); pick one with --tier NAME or "
        f"{path.name}#NAME"
    )


def _checked_audio(path: Path, audio: Path) -> Path:
    if audio.is_dir():
        raise SeqaeError(f"{audio}: a folder; name the audio file of {path.name}")
    if not audio.is_file():
        raise SeqaeError(f"{audio}: no such audio file (the recording of {path.name})")
    return audio.resolve()


def _not_empty(segments: list[Segment], path: Path, tier: str) -> list[Segment]:
    if not segments:
        raise SeqaeError(f"{path}: tier {tier!r} holds no labelled intervals")
    return segments


def _reason(error: Exception) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."


# annotations -> a manifest CSV


@dataclass(frozen=True)
class ImportSummary:
    """What ``import_manifest`` wrote."""

    segments: int
    labels: int  # distinct non-empty labels
    out: Path


def import_manifest(
    source: Path, out: Path, tier: str | None = None, audio: Path | None = None
) -> ImportSummary:
    """Write the segments of annotations (or of any manifest) to the manifest CSV ``out``."""
    from pipelines.io.manifest import read_manifest, write_manifest
    from seqae.runs import check_not_input

    path, named = split_tier(Path(source))
    if named is not None and tier is not None and named != tier:
        raise SeqaeError(f"{source}: names the tier {named!r} and --tier {tier!r}; give one")
    tier = tier if tier is not None else named
    _check_out(out)
    if is_annotation_source(path):
        segments = read_annotations(path, tier, audio)
    elif not path.exists():
        raise SeqaeError(f"{source}: no such file or folder")
    elif tier is not None or audio is not None:
        raise SeqaeError(
            f"{path}: not a TextGrid, .eaf file or Kaldi data directory, which --tier and "
            "--audio are for"
        )
    else:
        segments = read_manifest(path)
    # the source, every file of a source folder (wav.scp, text, ...) and the audio files
    inputs = [path, *(p for p in path.iterdir() if p.is_file())] if path.is_dir() else [path]
    check_not_input(out, [*inputs, *dict.fromkeys(s.path for s in segments)])
    try:
        write_manifest(segments, out)
    except OSError as error:
        raise SeqaeError(f"{out}: cannot write ({error.strerror or error})") from None
    labels = {s.label for s in segments if s.label}
    return ImportSummary(segments=len(segments), labels=len(labels), out=out)


def _check_out(out: Path) -> None:
    if out.is_dir():
        raise SeqaeError(f"{out}: a folder; --out names the manifest CSV file to write")
    if out.suffix.lower() != ".csv":
        raise SeqaeError(f"{out}: a manifest is a .csv file; name --out FILE.csv")
