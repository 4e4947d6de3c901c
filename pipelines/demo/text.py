"""The demo text corpus: sentences of the King James Bible, from Debian's bible-kjv packages.

The ``bible`` program (package ``bible-kjv``, text in ``bible-kjv-text``) prints every verse
offline. Verses are split into sentences at sentence-ending punctuation; repeated sentences
are kept once, so no held-out sentence also occurs in the training part; a seeded random share
of the sentences of at most ``max_words`` words is held out. The training part has the other
sentences of at most ``max_words`` words and, with ``clauses``, the clauses of the longer ones
(split after commas, colons and semicolons, neighbours joined up to ``max_words`` words), so
that it covers the whole text.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqae.errors import SeqaeError
from seqae.runs import write_json_atomic, write_text_atomic

BIBLE_PROGRAM = "bible"
SOURCE = (
    "King James Version of the Bible (1611), as printed by the 'bible' program of the Debian "
    "packages bible-kjv and bible-kjv-text"
)
LICENSE = (
    "public domain (the KJV's copyright has expired; in the United Kingdom the Crown's "
    "letters patent still govern its printing)"
)
_VERSE = re.compile(r"^(\S+?\d+:\d+) (.+)$")
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z(])")
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")


@dataclass(frozen=True)
class TextDemoConfig:
    """What ``seqae synth-text`` makes."""

    max_words: int = 20
    held_out: float = 0.05  # share of the sentences held out for evaluation
    sentences: int = 0  # keep a seeded random sample of this many (0: all)
    seed: int = 0
    clauses: bool = True  # train also on the clauses of the longer sentences (not with a sample)


def bible_verses() -> list[tuple[str, str]]:
    """(reference, text) of every verse, Genesis 1:1 to Revelation 22:21."""
    if shutil.which(BIBLE_PROGRAM) is None:
        raise SeqaeError(
            "the demo text needs the 'bible' program: apt-get install bible-kjv bible-kjv-text"
        )
    printed = subprocess.run(
        [BIBLE_PROGRAM, "-f", "Gen1:1-Rev22:21"], capture_output=True, check=True, text=True
    ).stdout
    verses = [m.groups() for m in map(_VERSE.match, printed.splitlines()) if m]
    if len(verses) < 1000:
        raise SeqaeError(
            f"'{BIBLE_PROGRAM}' printed {len(verses)} verses; is bible-kjv-text set up?"
        )
    return verses


def demo_sentences(verses: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(text, reference) of each distinct sentence, in order."""
    seen: dict[str, str] = {}
    for reference, verse in verses:
        for sentence in _SENTENCE_END.split(verse.strip()):
            seen.setdefault(sentence, reference)
    return list(seen.items())


def clauses(sentence: str, max_words: int) -> list[str]:
    """A long sentence's clauses, neighbours joined while they fit in ``max_words`` words."""
    pieces: list[list[str]] = [[]]
    for clause in _CLAUSE_END.split(sentence):
        words = clause.split()
        if pieces[-1] and len(pieces[-1]) + len(words) > max_words:
            pieces.append([])
        pieces[-1] += words
    return [" ".join(p) for p in pieces if 0 < len(p) <= max_words]


def _clause_rows(
    every: list[tuple[str, str]], known: set[str], max_words: int
) -> list[tuple[str, str]]:
    """(clause, reference) of each distinct clause of the sentences longer than ``max_words``
    words, leaving out any that is also one of the (short) sentences."""
    rows: dict[str, str] = {}
    for text, reference in every:
        if len(text.split()) > max_words:
            for piece in clauses(text, max_words):
                if piece not in known:
                    rows.setdefault(piece, reference)
    return list(rows.items())


def _write_csv(path: Path, rows: list[tuple[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["text", "ref"])
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())


def make_text_corpus(out: Path, config: TextDemoConfig) -> dict[str, int]:
    """Write ``train.csv`` and ``heldout.csv`` (columns text, ref) and ``corpus.json``."""
    if not 0.0 < config.held_out < 1.0:
        raise SeqaeError(f"held_out must be in (0, 1), not {config.held_out}")
    every = demo_sentences(bible_verses())
    clauses_wanted = config.clauses and not config.sentences
    rows = [(t, r) for t, r in every if len(t.split()) <= config.max_words]
    rng = np.random.default_rng(config.seed)
    if 0 < config.sentences < len(rows):
        rows = [rows[i] for i in np.sort(rng.choice(len(rows), config.sentences, replace=False))]
    held = np.zeros(len(rows), dtype=bool)
    held[rng.permutation(len(rows))[: max(1, round(len(rows) * config.held_out))]] = True
    heldout = [row for row, h in zip(rows, held, strict=True) if h]
    train = [row for row, h in zip(rows, held, strict=True) if not h]
    extra = _clause_rows(every, {t for t, _ in rows}, config.max_words) if clauses_wanted else []
    train += extra
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "train.csv", train)
    _write_csv(out / "heldout.csv", heldout)
    counts = {"sentences": len(rows), "clauses": len(extra), "train": len(train)}
    counts["heldout"] = len(heldout)
    info = {"source": SOURCE, "license": LICENSE, "max_words": config.max_words, **counts}
    write_json_atomic(out / "corpus.json", info)
    return counts
