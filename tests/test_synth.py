from __future__ import annotations

import csv

import soundfile as sf

from pipelines.demo.synth import SynthConfig, make_corpus


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_corpus_layout(corpus):
    rows = _rows(corpus / "segments.csv")
    assert list(rows[0]) == ["path", "label", "speaker"]
    assert len(rows) == 24 and len({r["label"] for r in rows}) == 6
    archive, queries = _rows(corpus / "archive.csv"), _rows(corpus / "queries.csv")
    assert len(archive) + len(queries) == 24
    assert not {r["speaker"] for r in archive} & {r["speaker"] for r in queries}
    for row in rows:
        info = sf.info(str(corpus / row["path"]))
        assert info.samplerate == 16000 and 0.2 < info.duration < 2.5


def test_long_recording_truth_lies_inside_the_file(corpus):
    truth = _rows(corpus / "long.csv")
    assert len(truth) == 4
    duration = sf.info(str(corpus / truth[0]["path"])).duration
    ends = [float(r["end"]) for r in truth]
    starts = [float(r["start"]) for r in truth]
    assert all(s < e for s, e in zip(starts, ends, strict=True)) and ends[-1] < duration
    assert all(e < s for e, s in zip(ends, starts[1:], strict=False))  # pauses between the words
    query_voices = {r["speaker"] for r in _rows(corpus / "queries.csv")}
    assert not {r["speaker"] for r in truth} & query_voices  # held out from the queries' voices


def test_deterministic_for_a_seed(tmp_path):
    config = SynthConfig(words=2, speakers=2, query_speakers=1, long_recordings=0, seed=7)
    make_corpus(tmp_path / "a", config)
    make_corpus(tmp_path / "b", config)
    assert (tmp_path / "a" / "segments.csv").read_text() == (
        tmp_path / "b" / "segments.csv"
    ).read_text()
    for row in _rows(tmp_path / "a" / "segments.csv"):
        assert (tmp_path / "a" / row["path"]).read_bytes() == (
            tmp_path / "b" / row["path"]
        ).read_bytes()
