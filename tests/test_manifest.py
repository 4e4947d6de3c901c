from __future__ import annotations

import pytest

from pipelines.io.manifest import metadata_columns, read_manifest
from seqae.errors import SeqaeError


def test_csv_relative_paths_and_metadata(tmp_path):
    (tmp_path / "audio").mkdir()
    (tmp_path / "m.csv").write_text(
        "path,start,end,label,notes\naudio/a.wav,0.5,1.5,cat,x\n/abs/b.wav,,,dog,\n"
    )
    segments = read_manifest(tmp_path / "m.csv")
    assert segments[0].path == (tmp_path / "audio" / "a.wav").resolve()
    assert (segments[0].start, segments[0].end) == (0.5, 1.5)
    assert segments[0].metadata == {"label": "cat", "notes": "x"}
    assert str(segments[1].path) == "/abs/b.wav"
    assert segments[1].start is None and segments[1].label == "dog"
    assert metadata_columns(segments) == ["label", "notes"]


def test_missing_path_column(tmp_path):
    (tmp_path / "m.csv").write_text("file,label\na.wav,x\n")
    with pytest.raises(SeqaeError, match="no 'path' column"):
        read_manifest(tmp_path / "m.csv")


def test_bad_seconds(tmp_path):
    (tmp_path / "m.csv").write_text("path,start\na.wav,soon\n")
    with pytest.raises(SeqaeError, match=r"m.csv:2: column 'start' holds 'soon'"):
        read_manifest(tmp_path / "m.csv")


def test_missing_manifest(tmp_path):
    with pytest.raises(SeqaeError, match="no such manifest"):
        read_manifest(tmp_path / "none.csv")


def test_folder(tmp_path, tone_wav):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "t.flac").write_bytes(b"")
    (tmp_path / "readme.txt").write_text("x")
    names = [s.path.name for s in read_manifest(tmp_path)]
    assert names == ["t.flac", "tone.wav"]
