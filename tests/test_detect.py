"""``seqae detect`` over long recordings, every format read back by its own library; NIST's
term-weighted values against their definition and against the stdlist ``eval std`` writes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipelines.embed.ingest import ingest
from pipelines.search.build import build_index_dir
from pipelines.search.speech import Query, search_audio
from seqae.cli import app
from seqae.std_metrics import (
    BETA,
    TermDetections,
    held_out_twv,
    judge,
    maximum_twv,
    twv_at,
)

runner = CliRunner()
ALL = ("csv", "jsonl", "eaf", "textgrid", "vtt", "audacity", "stdlist")


@pytest.fixture(scope="module")
def long_index(corpus, trained_run, tmp_path_factory) -> Path:
    """The corpus's long recording, segmented by voice activity, embedded and indexed."""
    out = tmp_path_factory.mktemp("long")
    ingest(corpus / "long", trained_run, out / "emb")
    build_index_dir(out / "emb", out / "idx")
    return out / "idx"


@pytest.fixture
def terms(corpus, tmp_path) -> Path:
    """Every word of the long recording as a term: the held-out voice's clip, and for the first
    word an archive voice's clip too; and one clip that is not audio."""
    spoken = {r["label"] for r in csv.DictReader(open(corpus / "long.csv"))}
    queries = [r for r in csv.DictReader(open(corpus / "queries.csv")) if r["label"] in spoken]
    archive = list(csv.DictReader(open(corpus / "archive.csv")))
    first = queries[0]["label"]
    rows = [{"path": str(corpus / r["path"]), "term": r["label"]} for r in queries]
    extra = next(r for r in archive if r["label"] == first)
    rows.insert(1, {"path": str(corpus / extra["path"]), "term": first})
    (tmp_path / "broken.wav").write_bytes(b"RIFF....WAVEfmt nonsense")
    rows.append({"path": str(tmp_path / "broken.wav"), "term": "nothing"})
    path = tmp_path / "terms.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "term"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def _detect(index: Path, terms: Path, out: Path, *options: str):
    formats = [a for f in ALL for a in ("--format", f)]
    args = ["detect", str(index), "--terms", str(terms), "--out", str(out), *formats, *options]
    return runner.invoke(app, args)


def test_every_format_holds_the_same_hits(long_index, terms, corpus, tmp_path):
    import pympi
    import webvtt
    from lxml import etree
    from praatio import textgrid

    out = tmp_path / "found"
    result = _detect(long_index, terms, out, "--limit", "3")
    assert result.exit_code == 0, result.output
    assert "broken.wav" in result.output and "term 'nothing'" in result.output  # skipped, said
    rows = list(csv.DictReader(open(out / "hits.csv")))
    hits = {(r["term"], Path(r["path"]).name, float(r["start"]), float(r["end"])) for r in rows}
    report = json.loads((out / "detect.json").read_text())
    spoken = {r["label"] for r in csv.DictReader(open(corpus / "long.csv"))}
    assert set(report["terms"]) == spoken and "nothing" not in report["terms"]
    first = next(iter(report["terms"]))
    assert report["terms"][first]["examples"] == 2 and report["limit"] == 3
    assert all(n == 3 for n in (sum(r["term"] == t for r in rows) for t in spoken))
    # the CSV is what the search finds for each term, fused over its clips
    examples = [Path(r["path"]) for r in csv.DictReader(open(terms)) if r["term"] == first]
    expected = search_audio(long_index, [[Query(p) for p in examples]], 3)[0]
    assert [(float(r["start"]), float(r["score"])) for r in rows if r["term"] == first] == [
        (round(h.metadata["start"], 3), round(h.score, 4)) for h in expected
    ]
    lines = [json.loads(line) for line in open(out / "hits.jsonl")]
    assert {(d["term"], Path(d["path"]).name, d["start"], d["end"]) for d in lines} == hits
    recording = next((corpus / "long").glob("*.wav"))
    eaf = pympi.Elan.Eaf(str(out / "eaf" / f"{recording.stem}.eaf"))
    assert {
        (tier, recording.name, s / 1000, e / 1000)
        for tier in eaf.get_tier_names()
        for s, e, *_ in eaf.get_annotation_data_for_tier(tier)
    } == hits
    grid = textgrid.openTextgrid(
        str(out / "textgrid" / f"{recording.stem}.TextGrid"), includeEmptyIntervals=False
    )
    assert {
        (name, recording.name, round(e.start, 3), round(e.end, 3))
        for name in grid.tierNames
        for e in grid.getTier(name).entries
    } == hits
    cues = webvtt.read(str(out / "vtt" / f"{recording.stem}.vtt"))
    assert {
        (c.text.rsplit(" ", 1)[0], recording.name, _seconds(c.start_time), _seconds(c.end_time))
        for c in cues
    } == hits
    labels = [line.split("\t") for line in open(out / "audacity" / f"{recording.stem}.txt")]
    assert {(t.rsplit(" ", 1)[0], recording.name, float(s), float(e)) for s, e, t in labels} == hits
    stdlist = etree.parse(str(out / "std" / "hits.stdlist.xml")).getroot()
    names = {
        t.get("termid"): t.findtext("termtext")
        for t in etree.parse(str(out / "std" / "hits.tlist.xml")).getroot().iter("term")
    }
    assert {
        (names[group.get("termid")], t.get("file"), float(t.get("tbeg")),
         round(float(t.get("tbeg")) + float(t.get("dur")), 3))
        for group in stdlist.iter("detected_termlist") for t in group.iter("term")
    } == hits  # fmt: skip


def _seconds(clock) -> float:
    """A webvtt timestamp as seconds, to the millisecond."""
    return round(
        clock.hours * 3600 + clock.minutes * 60 + clock.seconds + clock.milliseconds / 1000, 3
    )


def test_threshold_keeps_the_better_hits_and_stdlist_decides(long_index, terms, tmp_path):
    from lxml import etree

    first = tmp_path / "all"
    assert _detect(long_index, terms, first, "--limit", "4").exit_code == 0
    scores = sorted(float(r["score"]) for r in csv.DictReader(open(first / "hits.csv")))
    cut = scores[len(scores) // 2]
    out = tmp_path / "cut"
    result = _detect(long_index, terms, out, "--limit", "4", "--threshold", str(cut))
    assert result.exit_code == 0, result.output
    kept = [float(r["score"]) for r in csv.DictReader(open(out / "hits.csv"))]
    assert kept and all(s >= cut for s in kept) and len(kept) == sum(s >= cut for s in scores)
    decisions = [
        (float(t.get("score")), t.get("decision"))
        for t in etree.parse(str(out / "std" / "hits.stdlist.xml")).getroot().iter("term")
    ]
    assert len(decisions) == len(scores)  # stdlist lists every hit, and marks the rest NO
    assert all((d == "YES") == (s >= cut) for s, d in decisions)


def test_detect_refuses_its_inputs_and_bad_formats(long_index, terms):
    result = _detect(long_index, terms, terms.parent)
    assert result.exit_code != 0 and "never writes over its inputs" in result.output
    bad = runner.invoke(
        app, ["detect", str(long_index), "--terms", str(terms), "--out", "x", "--format", "srt"]
    )
    assert bad.exit_code == 2 and "srt" in bad.output


def _twv_by_definition(terms, seconds, threshold):
    """1 - mean over terms with occurrences of P_miss + beta P_FA, straight from NIST's text."""
    values = []
    for t in terms:
        if t.occurrences == 0:
            continue
        yes = t.scores >= threshold
        p_miss = 1 - (t.correct & yes).sum() / t.occurrences
        p_fa = (~t.correct & yes).sum() / (seconds - t.occurrences)
        values.append(p_miss + BETA * p_fa)
    return 1 - float(np.mean(values))


def test_term_weighted_values_follow_the_definition():
    rng = np.random.default_rng(0)
    terms = []
    for _ in range(7):
        n = int(rng.integers(3, 12))
        correct = rng.random(n) < 0.5
        scores = np.sort(rng.random(n))[::-1] + correct * 0.3  # hits score higher, mostly
        terms.append(TermDetections(scores, correct, int(correct.sum() + rng.integers(0, 2))))
    terms.append(TermDetections(np.array([0.9]), np.array([False]), 0))  # no occurrence: out
    seconds = 3600.0
    for threshold in (0.2, 0.5, 0.8, 1.1):
        assert twv_at(terms, seconds, threshold) == pytest.approx(
            _twv_by_definition(terms, seconds, threshold)
        )
    mtwv, at = maximum_twv(terms, seconds)
    every = np.unique(np.concatenate([t.scores for t in terms]))
    brute = max([0.0, *(_twv_by_definition(terms, seconds, s) for s in every)])
    assert mtwv == pytest.approx(brute) and mtwv > 0
    assert _twv_by_definition(terms, seconds, at) == pytest.approx(mtwv)
    atwv, thresholds = held_out_twv(terms, seconds)
    used = [t for t in terms if t.occurrences > 0]
    halves = [used[0::2], used[1::2]]
    assert thresholds == [maximum_twv(h, seconds)[1] for h in halves]
    expected = (
        len(halves[0]) * _twv_by_definition(halves[0], seconds, thresholds[1])
        + len(halves[1]) * _twv_by_definition(halves[1], seconds, thresholds[0])
    ) / len(used)
    assert atwv == pytest.approx(expected) and atwv <= mtwv + 1e-12
    # a false alarm costs beta / seconds: one second of audio makes any false alarm ruinous
    assert maximum_twv([TermDetections(np.array([0.9]), np.array([False]), 1)], seconds)[0] == 0


def test_eval_std_atwv_is_that_of_the_stdlist_it_writes(long_index, corpus, tmp_path):
    from lxml import etree

    from pipelines.evaluate.std import read_truth

    out = tmp_path / "std"
    args = ["eval", "std", str(long_index), "--queries", str(corpus / "queries.csv")]
    args += ["--truth", str(corpus / "long.csv"), "--depth", "20", "--json", "--out", str(out)]
    result = runner.invoke(app, [*args, "--threshold", "0.5"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["atwv_thresholds"] == [0.5] and report["beta"] == BETA
    truth = read_truth(corpus / "long.csv")
    seconds = report["hours"] * 3600
    names = {
        t.get("termid"): t.findtext("termtext")
        for t in etree.parse(str(out / "hits.tlist.xml")).getroot().iter("term")
    }
    folder = corpus / "long"
    terms = []
    for group in etree.parse(str(out / "hits.stdlist.xml")).getroot().iter("detected_termlist"):
        label = names[group.get("termid")].split(" (")[0]
        found = list(group.iter("term"))
        spans = [
            (str(folder / t.get("file")), float(t.get("tbeg")),
             float(t.get("tbeg")) + float(t.get("dur")))
            for t in found
        ]  # fmt: skip
        occurrences = [(str(Path(p).resolve()), s, e) for p, s, e in truth[label]]
        scores = np.array([float(t.get("score")) for t in found])
        assert [t.get("decision") == "YES" for t in found] == list(scores >= 0.5)
        terms.append(TermDetections(scores, judge(spans, occurrences), len(occurrences)))
    assert len(terms) == report["terms"] == report["queries"]
    assert report["atwv"] == pytest.approx(_twv_by_definition(terms, seconds, 0.5), abs=1e-6)
    assert report["mtwv"] >= report["atwv"] - 1e-9
    fused = runner.invoke(app, [*args[:-3], "--fuse", "--json"])
    assert fused.exit_code == 0, fused.output
    assert json.loads(fused.output)["terms"] == len(truth)
    table = runner.invoke(app, [a for a in args if a != "--json"])
    assert "MTWV" in table.output and "tuned on the other half" in table.output
