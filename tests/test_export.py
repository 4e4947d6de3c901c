"""Every export format is written, then read back by its own library: the same hits and times."""

from __future__ import annotations

import csv
import json

import pytest

from pipelines.export.hits import Detection, write_hits
from seqae.errors import SeqaeError

HITS = [
    Detection("zero", "/data/a.wav", 0.50, 0.90, 0.91),
    Detection("zero", "/data/a.wav", 2.25, 2.70, 0.75),
    Detection("zero", "/data/a.wav", 2.40, 2.80, 0.60),  # overlaps a better hit of its term
    Detection("seven", "/data/a.wav", 1.10, 1.55, 0.83),
    Detection("seven", "/data/b.wav", 3.00, 3.42, 0.70),
]
KEPT = [h for h in HITS if h.score != 0.60]  # a tier holds no overlapping intervals
DURATIONS = {"/data/a.wav": 4.0, "/data/b.wav": 5.0}


def _close(a: float, b: float) -> bool:
    return abs(a - b) < 1e-3


def test_csv_and_json_lines(tmp_path):
    write_hits(HITS, "csv", tmp_path / "hits.csv")
    rows = list(csv.DictReader(open(tmp_path / "hits.csv")))
    assert [(r["term"], r["path"], float(r["start"]), float(r["score"])) for r in rows] == [
        (h.term, h.path, h.start, h.score) for h in HITS
    ]
    write_hits(HITS, "jsonl", tmp_path / "hits.jsonl")
    lines = [json.loads(line) for line in open(tmp_path / "hits.jsonl")]
    assert [Detection(**line) for line in lines] == HITS


def test_elan_one_tier_per_term_per_recording(tmp_path):
    import pympi

    written = write_hits(HITS, "eaf", tmp_path / "eaf")
    assert sorted(p.name for p in written) == ["a.eaf", "b.eaf"]
    eaf = pympi.Elan.Eaf(str(tmp_path / "eaf" / "a.eaf"))
    assert set(eaf.get_tier_names()) == {"zero", "seven"}
    zero = sorted(eaf.get_annotation_data_for_tier("zero"))
    assert [(s, e) for s, e, *_ in zero] == [(500, 900), (2250, 2700)]
    assert zero[0][2] == "zero 0.910"
    assert eaf.media_descriptors[0]["MEDIA_URL"].endswith("a.wav")


def test_praat_textgrid_one_interval_tier_per_term(tmp_path):
    from praatio import textgrid

    write_hits(HITS, "textgrid", tmp_path / "tg", DURATIONS)
    grid = textgrid.openTextgrid(str(tmp_path / "tg" / "a.TextGrid"), includeEmptyIntervals=False)
    assert set(grid.tierNames) == {"zero", "seven"} and _close(grid.maxTimestamp, 4.0)
    entries = grid.getTier("zero").entries
    expected = [h for h in KEPT if h.term == "zero" and h.path.endswith("a.wav")]
    assert [(e.start, e.end, e.label) for e in entries] == [
        (h.start, h.end, f"zero {h.score:.3f}") for h in expected
    ]


def test_webvtt_and_audacity_labels(tmp_path):
    import webvtt

    write_hits(HITS, "vtt", tmp_path / "vtt")
    captions = webvtt.read(str(tmp_path / "vtt" / "a.vtt"))
    a_hits = sorted((h for h in HITS if h.path.endswith("a.wav")), key=lambda h: h.start)
    assert len(captions) == len(a_hits)
    for caption, hit in zip(captions, a_hits, strict=True):
        start, end = (caption.start_time, caption.end_time)
        assert _close(_seconds(start), hit.start) and _close(_seconds(end), hit.end)
        assert caption.text == f"{hit.term} {hit.score:.3f}"
    write_hits(HITS, "audacity", tmp_path / "aud")
    rows = [line.rstrip("\n").split("\t") for line in open(tmp_path / "aud" / "b.txt")]
    assert rows == [["3.000000", "3.420000", "seven 0.700"]]


def _seconds(clock) -> float:
    """A webvtt timestamp as seconds."""
    return clock.hours * 3600 + clock.minutes * 60 + clock.seconds + clock.milliseconds / 1000


def test_one_file_for_one_recording_else_a_folder(tmp_path):
    only_b = [h for h in HITS if h.path.endswith("b.wav")]
    assert write_hits(only_b, "eaf", tmp_path / "b.eaf") == [tmp_path / "b.eaf"]
    with pytest.raises(SeqaeError, match="in 2 recordings"):
        write_hits(HITS, "eaf", tmp_path / "all.eaf")
    with pytest.raises(SeqaeError, match="--format must be one of"):
        write_hits(HITS, "srt", tmp_path / "x.srt")


def test_recordings_of_one_name_in_two_folders_keep_two_files(tmp_path):
    import pympi

    hits = [
        Detection("zero", "/data/anna/take1.wav", 0.5, 0.9, 0.9),
        Detection("zero", "/data/ben/take1.wav", 1.5, 1.9, 0.8),
    ]
    written = write_hits(hits, "eaf", tmp_path / "eaf")
    assert sorted(p.relative_to(tmp_path / "eaf").as_posix() for p in written) == [
        "anna/take1.eaf", "ben/take1.eaf",
    ]  # fmt: skip
    ben = pympi.Elan.Eaf(str(tmp_path / "eaf" / "ben" / "take1.eaf"))
    assert [(s, e) for s, e, *_ in ben.get_annotation_data_for_tier("zero")] == [(1500, 1900)]


def test_nist_stdlist_with_its_ecf_and_term_list(tmp_path):
    from lxml import etree

    written = write_hits(HITS, "stdlist", tmp_path / "std", DURATIONS, threshold=0.8)
    assert sorted(p.name for p in written) == ["hits.ecf.xml", "hits.stdlist.xml", "hits.tlist.xml"]
    terms = etree.parse(str(tmp_path / "std" / "hits.tlist.xml")).getroot()
    ids = {t.findtext("termtext"): t.get("termid") for t in terms.iter("term")}
    assert set(ids) == {"zero", "seven"}
    stdlist = etree.parse(str(tmp_path / "std" / "hits.stdlist.xml")).getroot()
    found = {
        (lst.get("termid"), t.get("file"), float(t.get("tbeg")), float(t.get("dur")),
         float(t.get("score")), t.get("decision"))
        for lst in stdlist.iter("detected_termlist") for t in lst.iter("term")
    }  # fmt: skip
    assert found == {
        (ids[h.term], h.path.rsplit("/", 1)[1], h.start, round(h.end - h.start, 3), h.score,
         "YES" if h.score >= 0.8 else "NO")
        for h in HITS
    }  # fmt: skip
    ecf = etree.parse(str(tmp_path / "std" / "hits.ecf.xml")).getroot()
    assert float(ecf.get("source_signal_duration")) == 9.0
    assert {(e.get("audio_filename"), float(e.get("dur"))) for e in ecf.iter("excerpt")} == {
        ("a.wav", 4.0),
        ("b.wav", 5.0),
    }


def test_search_writes_its_hits_for_elan_and_nist(archive_index, corpus, tmp_path):
    import pympi
    from typer.testing import CliRunner

    from seqae.cli import app

    query = next((corpus / "segments").iterdir())
    base = ["search", str(archive_index), str(query), "-k", "3"]
    result = CliRunner().invoke(app, [*base, "--format", "eaf", "--out", str(tmp_path / "eaf")])
    assert result.exit_code == 0 and "wrote 3 hits as eaf" in result.output, result.output
    files = sorted((tmp_path / "eaf").glob("*.eaf"))
    assert 1 <= len(files) <= 3
    tiers = [pympi.Elan.Eaf(str(f)).get_tier_names() for f in files]
    assert all(list(t) == [query.stem] for t in tiers)
    result = CliRunner().invoke(app, [*base, "--format", "stdlist", "--out", str(tmp_path / "s"),
                                      "--term", "word"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s" / "hits.stdlist.xml").read_text().count("<term ") == 3
    result = CliRunner().invoke(app, [*base, "--format", "eaf"])
    assert result.exit_code == 2 and "--format and --out go together" in result.output
