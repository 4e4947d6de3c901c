from __future__ import annotations

import json

import pytest

from pipelines.io.corpus import CorpusOptions, read_corpus
from seqae.errors import SeqaeError


def test_bad_lines_are_reported_and_nothing_is_lost(tmp_path):
    long_line = " ".join(f"w{i}" for i in range(25))
    path = tmp_path / "a.txt"
    path.write_bytes(
        b"First sentence.\n"
        b"\n"
        b"   \t \n"
        b"Caf\xe9 au lait, bad byte.\r\n" + long_line.encode() + b"\nLast  one\n"
    )
    corpus = read_corpus(path, CorpusOptions(max_words=10))
    assert corpus.skipped == [f"{path}:2: empty line", f"{path}:3: empty line"]
    assert corpus.repaired[0] == (
        f"{path}:4: not valid UTF-8 (byte 3); undecodable bytes replaced with U+FFFD"
    )
    assert corpus.repaired[1] == f"{path}:5: 25 words, more than 10; split into 3 pieces"
    texts = corpus.texts
    assert texts[0] == "First sentence." and texts[1] == "Caf\ufffd au lait, bad byte."
    assert " ".join(texts[2:5]) == long_line  # every word kept, in order
    assert [s.metadata["part"] for s in corpus.sentences[2:5]] == ["1", "2", "3"]
    assert texts[5] == "Last one" and corpus.sentences[5].metadata == {
        "file": str(path),
        "line": "6",
    }


def test_folder_of_text_files(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.txt").write_text("Second file.\n")
    (tmp_path / "one.txt").write_text("\ufeffFirst file.\nMore.\n")
    (tmp_path / "notes.md").write_text("not read\n")
    corpus = read_corpus(tmp_path)
    assert corpus.texts == ["Second file.", "First file.", "More."]  # sorted paths: b/ first
    assert corpus.sentences[2].metadata["line"] == "2"


def test_csv_keeps_other_columns(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text('text,ref,speaker\n"Hello, world.",Ge1:1,ann\n,Ge1:2,bob\nBye.,Ge1:3,\n')
    corpus = read_corpus(path)
    assert corpus.texts == ["Hello, world.", "Bye."]
    assert corpus.sentences[0].metadata == {
        "file": str(path),
        "line": "2",
        "ref": "Ge1:1",
        "speaker": "ann",
    }
    assert corpus.skipped == [f"{path}:3: empty line"]
    other = tmp_path / "d.csv"
    other.write_text("sentence\nHi there.\n")
    assert read_corpus(other, CorpusOptions(text_column="sentence")).texts == ["Hi there."]


def test_jsonl_with_bad_records(tmp_path):
    path = tmp_path / "e.jsonl"
    rows = [{"text": "One.", "id": 7, "tags": ["a"]}, "not json", {"title": "no text"}]
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    corpus = read_corpus(path)
    assert corpus.texts == ["One."]
    assert corpus.sentences[0].metadata["id"] == "7"
    assert corpus.sentences[0].metadata["tags"] == '["a"]'
    assert corpus.skipped[0].startswith(f"{path}:2: not valid JSON")
    assert corpus.skipped[1] == f"{path}:3: no 'text' string field"


def test_audio_input_is_refused(tmp_path, corpus):
    with pytest.raises(SeqaeError, match="an audio manifest"):
        read_corpus(corpus / "archive.csv")
    with pytest.raises(SeqaeError, match="holds audio files"):
        read_corpus(corpus / "segments")
    wav = next((corpus / "segments").iterdir())
    with pytest.raises(SeqaeError, match="an audio file"):
        read_corpus(wav)
    with pytest.raises(SeqaeError, match="no such corpus"):
        read_corpus(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(SeqaeError, match="no sentences found \\(2 skipped; first: .*empty line\\)"):
        read_corpus(tmp_path / "empty.txt")


def test_looks_like_text(tmp_path, corpus):
    from pipelines.io.corpus import looks_like_text

    (tmp_path / "t.csv").write_text('"text",ref\nHi.,1\n')
    (tmp_path / "a.jsonl").write_text('{"text": "Hi."}\n')
    (tmp_path / "notes.txt").write_text("Hi.\n")
    assert looks_like_text(tmp_path / "t.csv") and looks_like_text(tmp_path / "a.jsonl")
    assert looks_like_text(tmp_path / "notes.txt") and looks_like_text(tmp_path)
    assert not looks_like_text(corpus / "archive.csv") and not looks_like_text(corpus)
    (tmp_path / "x.wav").write_bytes(b"")
    assert not looks_like_text(tmp_path)  # a folder with audio is an audio folder
