"""Text corpora: which sentences a job works on.

A corpus is a text file with one sentence per line, a folder of such files (every ``*.txt``
below it), or a CSV / JSONL file with a text column (its other columns are kept as
metadata). Every sentence carries the file and line it came from.

Bad input never stops a job and is never dropped silently: an empty line is skipped and
reported; a line that is not valid UTF-8 is kept with its undecodable bytes replaced by
U+FFFD, and reported; a line longer than ``max_words`` words is split into pieces of at most
that many words, each kept (with its ``part`` number), and reported.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.io.manifest import AUDIO_SUFFIXES, not_text
from seqae.errors import SeqaeError
from seqae.text.config import CorpusOptions  # noqa: F401  (read here, defined with the configs)

TABLE_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass(frozen=True)
class Sentence:
    """One sentence, with where it came from and the input's other columns."""

    text: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class Corpus:
    """The sentences read, and what was skipped or repaired on the way (one line each)."""

    sentences: list[Sentence] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [s.text for s in self.sentences]


def _decoded_lines(path: Path, corpus: Corpus) -> Iterator[tuple[int, str]]:
    """(line number, text with its line ending) for each line; bad UTF-8 is replaced."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SeqaeError(f"{path}: cannot read ({error.strerror or error})") from None
    for number, raw in enumerate(data.splitlines(keepends=True), start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            text = raw.decode("utf-8", errors="replace")
            corpus.repaired.append(
                f"{path}:{number}: not valid UTF-8 (byte {error.start}); undecodable bytes "
                "replaced with U+FFFD"
            )
        yield number, text.lstrip("\ufeff") if number == 1 else text


def _not_text(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            return not_text(handle.read(65536))
    except OSError as error:
        raise SeqaeError(f"{path}: cannot read ({error.strerror or error})") from None


def _add(corpus: Corpus, text: str, where: str, metadata: dict[str, str], max_words: int) -> None:
    """Add one line's sentence (whitespace runs made single spaces), skipping an empty one
    and splitting an over-long one."""
    text = " ".join(text.split())
    if not text:
        corpus.skipped.append(f"{where}: empty line")
        return
    words = text.split(" ")
    if len(words) <= max_words:
        corpus.sentences.append(Sentence(text, metadata))
        return
    pieces = [words[i : i + max_words] for i in range(0, len(words), max_words)]
    corpus.repaired.append(
        f"{where}: {len(words)} words, more than {max_words}; split into {len(pieces)} pieces"
    )
    for part, piece in enumerate(pieces, start=1):
        corpus.sentences.append(Sentence(" ".join(piece), {**metadata, "part": str(part)}))


def _read_lines(path: Path, corpus: Corpus, options: CorpusOptions) -> None:
    for number, text in _decoded_lines(path, corpus):
        where = f"{path}:{number}"
        _add(corpus, text, where, {"file": str(path), "line": str(number)}, options.max_words)


def _read_csv(path: Path, corpus: Corpus, options: CorpusOptions) -> None:
    lines = iter(text for _, text in _decoded_lines(path, corpus))
    reader = csv.DictReader(lines)
    columns = reader.fieldnames or []
    if options.text_column not in columns:
        audio = " (an audio manifest? a text model reads sentences)" if "path" in columns else ""
        raise SeqaeError(
            f"{path}: no {options.text_column!r} column (columns: {columns}){audio}; "
            "choose the text column with --text-column"
        )
    for row in reader:
        where = f"{path}:{reader.line_num}"
        other = {k: v or "" for k, v in row.items() if k is not None and k != options.text_column}
        meta = {"file": str(path), "line": str(reader.line_num), **other}
        _add(corpus, row[options.text_column] or "", where, meta, options.max_words)


def _read_jsonl(path: Path, corpus: Corpus, options: CorpusOptions) -> None:
    for number, line in _decoded_lines(path, corpus):
        where = f"{path}:{number}"
        if not line.strip():
            corpus.skipped.append(f"{where}: empty line")
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            corpus.skipped.append(f"{where}: not valid JSON ({error.msg})")
            continue
        text = record.get(options.text_column) if isinstance(record, dict) else None
        if not isinstance(text, str):
            corpus.skipped.append(f"{where}: no {options.text_column!r} string field")
            continue
        other = {
            k: v if isinstance(v, str) else json.dumps(v)
            for k, v in record.items()
            if k != options.text_column
        }
        meta = {"file": str(path), "line": str(number), **other}
        _add(corpus, text, where, meta, options.max_words)


READERS = {"csv": _read_csv, "jsonl": _read_jsonl, "lines": _read_lines}


def _files(source: Path) -> list[Path]:
    """The text files of a folder (every ``*.txt`` below it, sorted), or the file itself."""
    if not source.is_dir():
        if source.suffix.lower() in AUDIO_SUFFIXES:
            raise SeqaeError(f"{source}: an audio file; a text model reads sentences")
        return [source]
    files = sorted(p for p in source.rglob("*.txt") if p.is_file())
    if not files and any(p.suffix.lower() in AUDIO_SUFFIXES for p in source.rglob("*")):
        raise SeqaeError(f"{source}: holds audio files, no *.txt; a text model reads sentences")
    return files


def read_corpus(source: str | Path, options: CorpusOptions | None = None) -> Corpus:
    """Read every sentence of ``source``; bad lines are skipped or repaired and reported."""
    source, options = Path(source), options or CorpusOptions()
    if not source.exists():
        raise SeqaeError(f"{source}: no such corpus file or folder")
    if options.max_words < 1:
        raise SeqaeError(f"max_words must be at least 1, not {options.max_words}")
    corpus = Corpus()
    for path in _files(source):
        reason = _not_text(path)
        if reason:
            corpus.skipped.append(f"{path}: {reason}; file skipped")
            continue
        READERS[TABLE_SUFFIXES.get(path.suffix.lower(), "lines")](path, corpus, options)
    if not corpus.sentences:
        first = f"; first: {corpus.skipped[0]}" if corpus.skipped else ""
        raise SeqaeError(f"{source}: no sentences found ({len(corpus.skipped)} skipped{first})")
    return corpus


def looks_like_text(source: Path) -> bool:
    """True for what only a text model reads: a text or JSONL file, a CSV with a text column
    and no path column, or a folder of text files without audio."""
    suffix = source.suffix.lower()
    if source.is_dir():
        found = {p.suffix.lower() for p in source.rglob("*")}
        return ".txt" in found and not found & AUDIO_SUFFIXES
    if suffix == ".csv" and source.is_file():
        with open(source, encoding="utf-8", errors="replace") as handle:
            header = next(csv.reader([handle.readline()]), [])
        return "text" in header and "path" not in header
    return suffix in (".txt", *(s for s, kind in TABLE_SUFFIXES.items() if kind == "jsonl"))
