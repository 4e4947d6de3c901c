"""Query-by-example manifests from Debian's Asterisk voice prompts: real voices, two per language.

Each language has two voices recording the same prompt names (``digits/7``, ``letters/b``, ...).
A prompt present in both voices is one pair: the archive voice's recording goes into
``archive.csv`` and the other voice's into ``queries.csv``, both with the label
``<lang>:<name>``. The archive voice is the Digium core-sounds voice of each language (its WAV
package) and the queries voice the community package, unless ``swap_voices``.

Layout of OUT::

    wav/<lang>/<speaker>/<name>.wav   16-bit mono WAV at the source rate (8 kHz for all six)
    <lang>/archive.csv, queries.csv   one language; paths relative to the CSV's folder
    all/archive.csv, all/queries.csv  every language in one archive
    README.md                         sources, voices and licences
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.demo.voices import (
    COLUMNS,
    LANGUAGES,
    NEVER_CATEGORIES,
    PHRASE_CATEGORY,
    SAME_WORD,
    SILENT_PEAK,
    SOUNDS_ROOT,
    SOURCE_SUFFIXES,
    WORD_CATEGORIES,
    Language,
    Voice,
)
from seqae.audio import write_wav
from seqae.errors import InputError, SeqaeError
from seqae.runs import write_csv_atomic

logger = logging.getLogger(__name__)

ProgressFactory = Callable[[str, int], AbstractContextManager[Callable[[int], None]]]


@dataclass(frozen=True)
class PromptsConfig:
    """What ``seqae prompts`` reads and keeps."""

    sounds: Path = SOUNDS_ROOT
    languages: tuple[str, ...] = ("it", "fr", "es")
    all_prompts: bool = False
    swap_voices: bool = False


@dataclass(frozen=True)
class Pair:
    """One prompt name spoken by both voices of a language."""

    language: str
    name: str
    archive_source: Path
    query_source: Path

    @property
    def category(self) -> str:
        """The prompt's folder (digits, letters, ...), or "phrase" at the top."""
        return self.name.split("/")[0] if "/" in self.name else PHRASE_CATEGORY

    @property
    def label(self) -> str:
        """``<lang>:<name>``: the same word in two languages is two labels."""
        return f"{self.language}:{SAME_WORD.get(self.language, {}).get(self.name, self.name)}"


@dataclass
class PromptsSummary:
    """What was written: pairs per language and per category, and what was skipped."""

    pairs: dict[str, int] = field(default_factory=dict)
    categories: Counter = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Pairs written in all languages."""
        return sum(self.pairs.values())


def voices(language: Language, swap: bool) -> tuple[Voice, Voice]:
    """The (archive, queries) voices of a language."""
    if swap:
        return language.queries, language.archive
    return language.archive, language.queries


def voice_folders(sounds: Path, language: Language) -> tuple[Path, Path]:
    """The two voice folders of a language (archive voice first), resolved through links."""
    folders = []
    for voice in (language.archive, language.queries):
        folder = sounds / voice.folder
        if not folder.is_dir():
            packages = f"{language.archive.package} {language.queries.package}"
            raise SeqaeError(
                f"{folder}: no {language.name} prompts of {voice.speaker} "
                f"(Debian: apt-get install {packages}, or pass --sounds)"
            )
        folders.append(folder.resolve())
    if folders[0] == folders[1]:
        # Debian's asterisk-core-sounds-<lang> links sounds/<lang> to the core voice, and a
        # prompt package installed after it then writes its files into that voice's folder.
        raise SeqaeError(
            f"{sounds / language.queries.folder} is a link to {folders[0]}: the two "
            f"{language.name} voices are mixed in one folder (remove "
            f"asterisk-core-sounds-{language.code}, then reinstall {language.queries.package})"
        )
    return folders[0], folders[1]


def list_prompts(folder: Path) -> dict[str, Path]:
    """Every decodable prompt below ``folder`` by name (relative path without extension)."""
    found: dict[str, Path] = {}
    for directory, subdirs, files in os.walk(folder):  # does not follow linked folders
        subdirs.sort()
        for file in sorted(files):
            path = Path(directory) / file
            if path.suffix.lower() not in SOURCE_SUFFIXES:
                continue
            name = path.relative_to(folder).with_suffix("").as_posix()
            if name not in found or _rank(path) < _rank(found[name]):
                found[name] = path
    return found


def _rank(path: Path) -> int:
    return SOURCE_SUFFIXES.index(path.suffix.lower())


def pair_prompts(
    code: str, archive: dict[str, Path], queries: dict[str, Path], all_prompts: bool
) -> list[Pair]:
    """Pair the prompts both voices have, sorted by name; word prompts only unless all."""
    common = sorted(set(archive) & set(queries))
    pairs = [Pair(code, name, archive[name], queries[name]) for name in common]
    pairs = [p for p in pairs if p.category not in NEVER_CATEGORIES]
    if not all_prompts:
        pairs = [p for p in pairs if p.category in WORD_CATEGORIES]
    return pairs


def find_pairs(config: PromptsConfig) -> list[Pair]:
    """Every pair of every asked-for language, in language order, then by name."""
    pairs = []
    for code in dict.fromkeys(config.languages):
        if code not in LANGUAGES:
            raise SeqaeError(f"unknown language {code!r} (choices: {', '.join(LANGUAGES)})")
        archive_folder, query_folder = voice_folders(config.sounds, LANGUAGES[code])
        if config.swap_voices:
            archive_folder, query_folder = query_folder, archive_folder
        archive, queries = list_prompts(archive_folder), list_prompts(query_folder)
        pairs += pair_prompts(code, archive, queries, config.all_prompts)
    return pairs


def decode(source: Path) -> tuple[np.ndarray, int]:
    """Read a prompt as int16 mono samples and its sample rate (raw .gsm through sox)."""
    import soundfile as sf

    try:
        if source.suffix.lower() == ".gsm":
            data, rate = sf.read(io.BytesIO(_sox_to_wav(source)), dtype="int16")
        else:
            data, rate = sf.read(str(source), dtype="int16")
    except (RuntimeError, ValueError) as error:  # soundfile's LibsndfileError is a RuntimeError
        raise InputError(f"{source}: cannot decode ({error})") from None
    if data.ndim > 1:
        data = np.round(data.mean(axis=1)).astype(np.int16)
    if data.size == 0 or int(np.max(np.abs(data.astype(np.int32)))) < SILENT_PEAK:
        raise InputError(f"{source}: empty or silent")
    return data, rate


def require_sox(sources: list[Path]) -> None:
    """Fail before any work if some source is raw .gsm and sox is not installed."""
    gsm = [s for s in sources if s.suffix.lower() == ".gsm"]
    if gsm and shutil.which("sox") is None:
        raise SeqaeError(
            f"{len(gsm)} prompts are raw GSM ({gsm[0]}, ...), which needs sox to decode "
            "(Debian: apt-get install sox)"
        )


def _sox_to_wav(source: Path) -> bytes:
    """Decode a raw GSM 6.10 file with sox into 16-bit WAV bytes."""
    require_sox([source])
    command = ["sox", "-t", "gsm", str(source), "-t", "wav", "-b", "16", "-"]
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0 or not result.stdout:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise InputError(f"{source}: sox cannot decode it ({message[-1] if message else ''})")
    return result.stdout


def wav_path(pair: Pair, speaker: str) -> Path:
    """Where a pair's recording by ``speaker`` goes, relative to OUT."""
    return Path("wav") / pair.language / speaker / f"{pair.name}.wav"


def _row(pair: Pair, speaker: str) -> dict[str, str]:
    """One manifest row; the path is relative to OUT/<lang> and OUT/all alike."""
    return {
        "path": (Path("..") / wav_path(pair, speaker)).as_posix(),
        "label": pair.label,
        "speaker": speaker,
        "language": pair.language,
        "category": pair.category,
    }


def _decode_pair(out: Path, pair: Pair, speakers: tuple[str, str]) -> None:
    """Decode both recordings of a pair before writing either, so a pair is whole or absent."""
    decoded = [decode(pair.archive_source), decode(pair.query_source)]
    for speaker, (samples, rate) in zip(speakers, decoded, strict=True):
        write_wav(out / wav_path(pair, speaker), samples, rate)


def _prune(out: Path, speakers: dict[str, tuple[str, str]], kept: list[Pair]) -> None:
    """Delete WAVs a previous run left in this run's voice folders that are not kept now."""
    wanted = {out / wav_path(p, s) for p in kept for s in speakers[p.language]}
    for code, pair_speakers in speakers.items():
        for speaker in pair_speakers:
            for path in sorted((out / "wav" / code / speaker).rglob("*.wav")):
                if path not in wanted:
                    path.unlink()
                    logger.info("removed %s (not a pair of this run)", path)


def check_apart(out: Path, config: PromptsConfig) -> None:
    """Refuse an OUT inside the sounds folder, or one whose written folders hold it."""
    sounds, out = config.sounds.resolve(), out.resolve()
    written = [out / "wav", out / "all", *(out / code for code in config.languages)]
    if (
        out == sounds
        or sounds in out.parents
        or any(w == sounds or w in sounds.parents for w in written)
    ):
        raise SeqaeError(f"{out}: overlaps the prompts it reads ({sounds}); choose another OUT")


@contextmanager
def _no_progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    yield lambda n=1: None


def make_prompts(
    out: Path, config: PromptsConfig, progress: ProgressFactory | None = None
) -> PromptsSummary:
    """Decode every pair to OUT/wav and write the manifests and README; ``progress`` is a bar."""
    check_apart(out, config)
    pairs = find_pairs(config)
    require_sox([source for p in pairs for source in (p.archive_source, p.query_source)])
    speakers = {
        code: tuple(v.speaker for v in voices(LANGUAGES[code], config.swap_voices))
        for code in config.languages
    }
    summary, kept = PromptsSummary(pairs=dict.fromkeys(config.languages, 0)), []
    with (progress or _no_progress)("decoding prompts", len(pairs)) as advance:
        for pair in pairs:
            try:
                _decode_pair(out, pair, speakers[pair.language])
            except InputError as error:
                logger.warning("skipped %s: %s", pair.label, error)
                summary.skipped.append(str(error))
            else:
                kept.append(pair)
                summary.pairs[pair.language] += 1
                summary.categories[(pair.language, pair.category)] += 1
            advance(1)
    _prune(out, speakers, kept)
    write_manifests(out, kept, speakers)
    write_readme(out, config, summary)
    return summary


def write_manifests(out: Path, pairs: list[Pair], speakers: dict[str, tuple[str, str]]) -> None:
    """Write archive.csv and queries.csv per language and for all languages together."""
    for code in speakers:
        mine = [p for p in pairs if p.language == code]
        for role, index in (("archive", 0), ("queries", 1)):
            rows = [_row(p, speakers[code][index]) for p in mine]
            write_csv_atomic(out / code / f"{role}.csv", COLUMNS, rows)
    for role, index in (("archive", 0), ("queries", 1)):
        rows = [_row(p, speakers[p.language][index]) for p in pairs]
        write_csv_atomic(out / "all" / f"{role}.csv", COLUMNS, rows)


def write_readme(out: Path, config: PromptsConfig, summary: PromptsSummary) -> None:
    """Write OUT/README.md: what was made, from which packages, under which licences."""
    from seqae.runs import write_text_atomic

    words = ", ".join(WORD_CATEGORIES)
    kept = "every paired prompt" if config.all_prompts else f"word prompts only ({words})"
    lines = [
        "# Asterisk voice prompts for query-by-example search",
        "",
        f"Made by `seqae prompts` from {config.sounds}: {kept}, {summary.total} pairs.",
        "Each pair is one prompt name recorded by both voices of a language; its label is",
        "`<lang>:<name>`, so the same word in two languages never counts as a match.",
        "`<lang>/archive.csv` and `<lang>/queries.csv` hold one language, `all/` every language.",
        "By default the archive voice is each language's Digium core-sounds voice and the",
        "queries voice the community package (`seqae prompts --swap-voices` turns them round).",
        "",
        "| lang | pairs | role | speaker | Debian package | credit | licence |",
        "|---|---|---|---|---|---|---|",
    ]
    for code in config.languages:
        archive, queries = voices(LANGUAGES[code], config.swap_voices)
        for role, voice in (("archive", archive), ("queries", queries)):
            lines.append(
                f"| {code} | {summary.pairs.get(code, 0)} | {role} | {voice.speaker} | "
                f"{voice.package} | {voice.credit} | {voice.licence} |"
            )
    lines += [
        "",
        "The WAV files under `wav/` are format conversions (16-bit PCM, source sample rate) of",
        "these recordings and stay under the licences above; share-alike and GPL terms apply to",
        "anything you redistribute. The full terms are in each package's",
        "`/usr/share/doc/<package>/copyright` (`dpkg-deb -x` puts them under",
        "`<folder>/usr/share/doc/<package>/copyright`).",
        "",
    ]
    write_text_atomic(out / "README.md", "\n".join(lines))
