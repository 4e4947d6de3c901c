"""``seqae ingest``: long recordings -> segments -> embedding shards; resumable, incremental."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipelines.embed.ingest import IngestSettings, ingest
from pipelines.embed.shards import read_embeddings
from pipelines.segment.longform import SegmentSettings, long_segments
from pipelines.segment.windows import window_spans
from seqae.cli import app

runner = CliRunner()


def test_cli_ingest_then_index(recordings, trained_run, tmp_path):
    out, idx = tmp_path / "emb", tmp_path / "idx"
    args = ["ingest", str(recordings), "--model", str(trained_run), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "ingested 3 files" in result.output and "broken.wav: cannot decode" in result.output
    info = json.loads((out / "embeddings.json").read_text())
    names = {"a.wav", "b/c.wav", "b/broken.wav"}
    assert info["complete"] and set(info["ingest"]["files"]) == {
        str((recordings / name).resolve()) for name in names
    }
    emb = read_embeddings(out)
    assert emb.vectors.shape == (2 * 4, 16)  # 4 words per recording, one region each
    assert emb.metadata.column("path").to_pylist()[0].endswith("a.wav")
    result = runner.invoke(app, ["index", "build", str(out), "--out", str(idx)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, args)  # nothing new: nothing re-read
    assert "ingested 0 files" in result.output and "kept 3 files" in result.output


def test_grown_folder_adds_only_new_files(recordings, trained_run, tmp_path):
    out = tmp_path / "emb"
    first = ingest(recordings, trained_run, out)
    before = read_embeddings(out)
    shutil.copy(recordings / "a.wav", recordings / "d.wav")
    second = ingest(recordings, trained_run, out)
    after = read_embeddings(out)
    assert (first.files, second.files, second.reused) == (3, 1, 3)
    assert len(after.vectors) == len(before.vectors) + 4
    np.testing.assert_array_equal(after.vectors[: len(before.vectors)], before.vectors)
    np.testing.assert_array_equal(after.vectors[-4:], before.vectors[:4])  # d.wav == a.wav


def test_windows_stream_matches_the_window_plan(corpus):
    long = next((corpus / "long").glob("*.wav"))
    settings = SegmentSettings(mode="windows", durations=(0.3, 0.5), hop=0.25, block_seconds=0.4)
    got = [(s, e, len(x)) for s, e, x in long_segments(long, settings)]
    from pipelines.io.stream import audio_duration

    planned = list(window_spans(audio_duration(long), (0.3, 0.5), 0.25))
    assert [(s, e) for s, e, _ in got] == planned
    assert all(n == round((e - s) * 16000) for s, e, n in got)


def _ingest_command(folder: Path, run: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "seqae", "ingest", str(folder), "--model", str(run),
            "--out", str(out)]  # fmt: skip


def test_killed_ingest_resumes_to_the_same_embeddings(corpus, trained_run, tmp_path):
    folder = tmp_path / "audio"
    folder.mkdir()
    long = next((corpus / "long").glob("*.wav"))
    for n in range(12):
        shutil.copy(long, folder / f"{n}.wav")
    reference = tmp_path / "whole"
    subprocess.run(_ingest_command(folder, trained_run, reference), check=True)
    out = tmp_path / "killed"
    job = subprocess.Popen(_ingest_command(folder, trained_run, out), stderr=subprocess.DEVNULL)
    info = out / "embeddings.json"
    while job.poll() is None:
        if info.is_file():
            data = json.loads(info.read_text())
            if 1 <= len(data["ingest"]["files"]) < 12:
                os.kill(job.pid, signal.SIGKILL)
                break
        time.sleep(0.005)
    job.wait()
    assert job.returncode == -signal.SIGKILL, "the job finished before it could be killed"
    assert not json.loads(info.read_text())["complete"]
    subprocess.run(_ingest_command(folder, trained_run, out), check=True)
    resumed, whole = read_embeddings(out), read_embeddings(reference)
    np.testing.assert_array_equal(resumed.vectors, whole.vectors)
    assert (
        resumed.metadata.column("start").to_pylist() == whole.metadata.column("start").to_pylist()
    )


def test_settings_must_match_an_existing_directory(recordings, trained_run, tmp_path):
    out = tmp_path / "emb"
    ingest(recordings, trained_run, out)
    other = IngestSettings(segments=SegmentSettings(vad="energy"))
    from seqae.errors import SeqaeError

    with pytest.raises(SeqaeError, match="other segment settings"):
        ingest(recordings, trained_run, out, other)


def test_merging_keeps_the_best_of_overlapping_hits():
    from index import Hit
    from pipelines.search.speech import merge_overlaps

    def hit(score: float, path: str, start: float, end: float) -> Hit:
        return Hit(0, score, 0, {"path": path, "start": start, "end": end})

    hits = [hit(0.9, "a", 1.0, 1.6), hit(0.8, "a", 1.2, 1.8), hit(0.7, "b", 1.2, 1.8),
            hit(0.95, "a", 3.0, 3.4), hit(0.6, "a", 1.6, 2.0)]  # fmt: skip
    merged = merge_overlaps(hits, k=10)
    assert [(h.rank, h.score) for h in merged] == [(1, 0.95), (2, 0.9), (3, 0.7), (4, 0.6)]
    assert len(merge_overlaps(hits, k=2)) == 2


def test_search_over_windows_returns_separate_spans(recordings, trained_run, corpus, tmp_path):
    out, idx = tmp_path / "emb", tmp_path / "idx"
    windows = IngestSettings(segments=SegmentSettings(mode="windows", hop=0.05))
    ingest(recordings, trained_run, out, windows)
    assert runner.invoke(app, ["index", "build", str(out), "--out", str(idx)]).exit_code == 0
    query = corpus / "segments" / next((corpus / "segments").glob("*.wav")).name
    result = runner.invoke(app, ["search", str(idx), str(query), "-k", "5", "--json"])
    assert result.exit_code == 0, result.output
    hits = [json.loads(line) for line in result.output.splitlines()]
    assert len(hits) == 5
    for i, a in enumerate(hits):
        for b in hits[i + 1 :]:
            same_file = a["path"] == b["path"]
            assert not same_file or min(a["end"], b["end"]) <= max(a["start"], b["start"])


def test_eval_std_scores_hits_against_true_times(corpus, trained_run, tmp_path):
    out, idx = tmp_path / "emb", tmp_path / "idx"
    ingest(corpus / "long", trained_run, out)
    assert runner.invoke(app, ["index", "build", str(out), "--out", str(idx)]).exit_code == 0
    args = ["eval", "std", str(idx), "--queries", str(corpus / "queries.csv")]
    result = runner.invoke(app, [*args, "--truth", str(corpus / "long.csv"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    labels = {row.split(",")[3] for row in (corpus / "long.csv").read_text().splitlines()[1:]}
    assert report["queries"] == len(labels)  # one held-out voice: one query per word
    assert report["occurrences"] == 4 and 0.0 < report["map"] <= 1.0
    assert set(report["recall_at_fa"]) == {"1", "10"}
    table = runner.invoke(app, [*args, "--truth", str(corpus / "long.csv")])
    assert "spoken-term detection" in table.output


def test_std_judging_and_scores():
    from seqae.std_metrics import judge, overlaps_enough, term_scores

    assert overlaps_enough(("a", 1.0, 2.0), ("a", 1.4, 1.6))  # all of the shorter
    assert not overlaps_enough(("a", 1.0, 2.0), ("a", 1.9, 2.3))  # a quarter of the shorter
    assert not overlaps_enough(("a", 1.0, 2.0), ("b", 1.0, 2.0))
    truth = [("a", 1.0, 1.5), ("b", 3.0, 3.5)]
    detections = [("a", 1.1, 1.5), ("a", 1.0, 1.4), ("c", 0.0, 1.0), ("b", 3.1, 3.6)]
    correct = judge(detections, truth)
    assert correct.tolist() == [True, False, False, True]  # the same occurrence twice: a miss
    scores = term_scores(correct, occurrences=2, hours=1.0, fa_rates=(1.0, 2.0))
    assert scores.average_precision == (1 / 1 + 2 / 4) / 2
    assert scores.recall_at_fa == {1.0: 0.5, 2.0: 1.0}
    assert scores.precision_at_10 == 0.2


def test_a_decoder_failure_on_one_file_skips_only_that_file(
    recordings, trained_run, tmp_path, monkeypatch
):
    import pipelines.embed.ingest as ingest_module

    real = ingest_module.long_segments

    def failing(path, *args):
        for n, segment in enumerate(real(path, *args)):
            if path.name == "c.wav" and n == 1:
                raise RuntimeError("decoder lost sync\nat frame 123")
            yield segment

    monkeypatch.setattr(ingest_module, "long_segments", failing)
    out = tmp_path / "emb"
    summary = ingest(recordings, trained_run, out)
    assert summary.files == 3
    assert any(s.endswith("c.wav: RuntimeError: decoder lost sync") for s in summary.skipped)
    assert any("broken.wav: cannot decode" in s for s in summary.skipped)
    info = json.loads((out / "embeddings.json").read_text())
    assert info["complete"]
    emb = read_embeddings(out)
    assert {Path(p).name for p in emb.metadata.column("path").to_pylist()} == {"a.wav"}


def test_ingest_reads_recordings_at_the_models_sample_rate(corpus, trained_run, tmp_path):
    import soundfile as sf

    from seqae.audio import compute_features, load_audio
    from seqae.bundle import load_bundle, save_bundle

    bundle = load_bundle(trained_run)
    features = replace(bundle.features, sample_rate=8000)
    (tmp_path / "run8").mkdir()
    save_bundle(tmp_path / "run8" / "model.pt", bundle.model, features)
    folder = tmp_path / "audio"
    folder.mkdir()
    long = next((corpus / "long").glob("*.wav"))
    sf.write(folder / "long.wav", load_audio(long, 8000), 8000)
    settings = IngestSettings(SegmentSettings(mode="windows", durations=(0.5,), hop=0.5))
    ingest(folder, tmp_path / "run8", tmp_path / "emb", settings)
    emb = read_embeddings(tmp_path / "emb")
    starts, ends = (emb.metadata.column(c).to_pylist() for c in ("start", "end"))
    model8 = load_bundle(tmp_path / "run8")
    expected = model8.embed(
        [
            compute_features(load_audio(folder / "long.wav", 8000, s, e), features)
            for s, e in zip(starts, ends, strict=True)
        ]
    )
    assert len(expected) > 3
    cosine = np.sum(expected * emb.vectors, axis=1) / (
        np.linalg.norm(expected, axis=1) * np.linalg.norm(emb.vectors, axis=1)
    )
    assert cosine.min() > 0.999, cosine
