"""Nothing a user owns is deleted or corrupted: --overwrite, --no-resume, locks, shard checks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from pipelines.embed.ingest import ingest
from pipelines.embed.shards import read_embeddings
from pipelines.embed.speech import embed_archive
from seqae.cli import app
from seqae.errors import SeqaeError
from seqae.runs import directory_kind, lock_path, writer_lock

runner = CliRunner()


def _precious(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "thesis.txt").write_text("precious\n")
    return folder / "thesis.txt"


def _build(embeddings, out, *extra):
    return runner.invoke(app, ["index", "build", str(embeddings), "--out", str(out), *extra])


def test_overwrite_never_deletes_a_users_folder(archive_embeddings, tmp_path):
    thesis = _precious(tmp_path / "d")
    result = _build(archive_embeddings, tmp_path / "d", "--overwrite")
    assert result.exit_code == 2 and "is not a seqae index directory" in result.output
    assert thesis.read_text() == "precious\n"


def test_overwrite_never_replaces_the_input_or_what_holds_it(archive_embeddings, tmp_path):
    emb = tmp_path / "holder" / "emb"
    shutil.copytree(archive_embeddings, emb)
    before = sorted(p.name for p in emb.iterdir())
    for target in (emb, emb.parent):
        result = _build(emb, target, "--overwrite")
        assert result.exit_code == 2, result.output
        assert "holds the input" in result.output
    assert sorted(p.name for p in emb.iterdir()) == before
    assert len(read_embeddings(emb).vectors) > 0


def test_overwrite_never_replaces_a_run_directory(archive_embeddings, trained_run, tmp_path):
    result = _build(archive_embeddings, trained_run, "--overwrite")
    assert result.exit_code == 2 and "holds the input" in result.output  # the index's model
    other = tmp_path / "other-run"
    shutil.copytree(trained_run, other)
    before = sorted(p.name for p in other.iterdir())
    result = _build(archive_embeddings, other, "--overwrite")
    assert result.exit_code == 2 and "is not a seqae index directory" in result.output
    assert sorted(p.name for p in other.iterdir()) == before


def test_overwrite_replaces_an_index(archive_embeddings, tmp_path):
    out = tmp_path / "idx"
    assert _build(archive_embeddings, out).exit_code == 0
    assert directory_kind(out) == "index"
    result = _build(archive_embeddings, out, "--overwrite")
    assert result.exit_code == 0, result.output
    assert directory_kind(out) == "index"
    assert not list(tmp_path.glob(".idx.*")), "no lock or temporary left beside the index"


def test_overwrite_of_the_current_folder_is_one_line(archive_embeddings, tmp_path, monkeypatch):
    out = tmp_path / "idx"
    assert _build(archive_embeddings, out).exit_code == 0
    monkeypatch.chdir(out)
    result = _build(archive_embeddings, ".", "--overwrite")
    assert result.exit_code == 2 and "current folder" in result.output
    assert directory_kind(out) == "index"


def test_no_resume_never_deletes_a_users_folders(corpus, tmp_path):
    out = tmp_path / "mine"
    (out / "logs").mkdir(parents=True)
    (out / "logs" / "diary.txt").write_text("mine\n")
    args = ["train", str(corpus / "archive.csv"), "--out", str(out), "--no-resume"]
    result = runner.invoke(app, [*args, "--epochs", "1"])
    assert result.exit_code == 2 and "not a seqae run directory" in result.output
    assert (out / "logs" / "diary.txt").read_text() == "mine\n"


def test_no_resume_never_deletes_an_input(corpus, trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    (run / "logs").mkdir(exist_ok=True)
    manifest = run / "logs" / "archive.csv"
    rows = (corpus / "archive.csv").read_text().replace("segments/", f"{corpus}/segments/")
    manifest.write_text(rows)
    result = runner.invoke(app, ["train", str(manifest), "--out", str(run), "--no-resume"])
    assert result.exit_code == 2 and "holds the input" in result.output
    assert manifest.read_text() == rows


def test_embed_refuses_a_folder_with_other_files(corpus, trained_run, tmp_path):
    thesis = _precious(tmp_path / "d")
    with pytest.raises(SeqaeError, match="not a seqae embedding directory"):
        embed_archive(trained_run, corpus / "queries.csv", tmp_path / "d")
    assert sorted(p.name for p in thesis.parent.iterdir()) == ["thesis.txt"]


@pytest.mark.parametrize("command", ["embed", "ingest", "train", "index build", "index add"])
def test_a_second_writer_is_refused(command, corpus, trained_run, archive_embeddings, tmp_path):
    from pipelines.search.build import build_index_dir

    index = tmp_path / "idx"
    build_index_dir(archive_embeddings, index)
    out = {"index add": index}.get(command, tmp_path / "out")
    args = {
        "embed": ["embed", str(trained_run), str(corpus / "queries.csv"), "--out", str(out)],
        "ingest": ["ingest", str(corpus / "long"), "--model", str(trained_run), "--out", str(out)],
        "train": ["train", str(corpus / "archive.csv"), "--out", str(out), "--epochs", "1"],
        "index build": ["index", "build", str(archive_embeddings), "--out", str(out)],
        "index add": ["index", "add", str(index), str(archive_embeddings)],
    }[command]
    with writer_lock(out):
        result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "another seqae job is writing it" in result.output
    assert f"pid {os.getpid()}" in result.output  # the holder is named
    assert not lock_path(out).exists()


def test_two_ingest_processes_into_one_folder(corpus, trained_run, tmp_path):
    folder = tmp_path / "audio"
    folder.mkdir()
    long = next((corpus / "long").glob("*.wav"))
    for n in range(8):
        shutil.copy(long, folder / f"{n}.wav")
    out = tmp_path / "emb"
    command = [sys.executable, "-m", "seqae", "ingest", str(folder), "--model", str(trained_run),
               "--out", str(out)]  # fmt: skip
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (out / "embeddings.json").is_file() and first.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    second = subprocess.run(command, capture_output=True, text=True)
    first.wait()
    assert first.returncode == 0
    if second.returncode == 0:
        pytest.skip("the first job finished before the second started")
    assert second.returncode == 2 and "another seqae job is writing it" in second.stderr
    assert f"pid {first.pid}" in second.stderr
    assert second.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "Traceback" not in second.stderr
    info = json.loads((out / "embeddings.json").read_text())
    assert info["complete"] and len(info["ingest"]["files"]) == 8
    assert len(read_embeddings(out).vectors) == info["count"] > 0


def test_folders_with_the_same_file_names_never_collide(corpus, trained_run, tmp_path):
    long = next((corpus / "long").glob("*.wav"))
    audio, rate = sf.read(long)
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, part in ((first, audio), (second, audio[: len(audio) // 2])):
        folder.mkdir()
        sf.write(folder / "a.wav", part, rate)
    out = tmp_path / "emb"
    one = ingest(first, trained_run, out)
    alone = read_embeddings(out)
    two = ingest(second, trained_run, out)
    both = read_embeddings(out)
    assert (one.files, two.files, two.reused) == (1, 1, 1)
    assert len(both.vectors) == len(alone.vectors) + two.segments
    paths = set(both.metadata.column("path").to_pylist())
    assert paths == {str((first / "a.wav").resolve()), str((second / "a.wav").resolve())}
    np.testing.assert_array_equal(both.vectors[: len(alone.vectors)], alone.vectors)
    again = ingest(first, trained_run, out)
    assert (again.files, again.reused) == (0, 2)


def test_ingest_directory_keyed_by_relative_names_still_resumes(corpus, trained_run, tmp_path):
    folder = tmp_path / "audio"
    shutil.copytree(corpus / "long", folder)
    out = tmp_path / "emb"
    ingest(folder, trained_run, out)
    info = json.loads((out / "embeddings.json").read_text())
    record = info["ingest"]
    del record["keys"]  # as written before keys were absolute paths
    record["files"] = {
        str(Path(k).relative_to(folder.resolve())): v for k, v in record["files"].items()
    }
    (out / "embeddings.json").write_text(json.dumps(info))
    again = ingest(folder, trained_run, out)
    assert (again.files, again.reused) == (0, len(record["files"]))


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_embed_redoes_a_truncated_shard(corpus, trained_run, tmp_path):
    out = tmp_path / "emb"
    embed_archive(trained_run, corpus / "archive.csv", out, shard_size=4)
    whole = read_embeddings(out)
    for name in ("embeddings-00001.npy", "frames-00002.npy"):
        _truncate(out / name)
    summary = embed_archive(trained_run, corpus / "archive.csv", out, shard_size=4)
    assert summary.embedded == 8, "both damaged shards are embedded again"
    again = read_embeddings(out)
    np.testing.assert_array_equal(again.vectors, whole.vectors)
    np.testing.assert_array_equal(again.frames[0], whole.frames[0])


def test_embed_redoes_a_shard_changed_in_place(corpus, trained_run, tmp_path):
    out = tmp_path / "emb"
    embed_archive(trained_run, corpus / "archive.csv", out, shard_size=4)
    path = out / "embeddings-00000.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # same size, one byte changed
    path.write_bytes(bytes(data))
    summary = embed_archive(trained_run, corpus / "archive.csv", out, shard_size=4)
    assert summary.embedded == 4


def test_ingest_redoes_a_file_whose_shard_was_truncated(corpus, trained_run, tmp_path):
    folder = tmp_path / "audio"
    shutil.copytree(corpus / "long", folder)
    out = tmp_path / "emb"
    ingest(folder, trained_run, out)
    whole = read_embeddings(out)
    _truncate(next(out.glob("embeddings-*.npy")))
    again = ingest(folder, trained_run, out)
    assert again.files == 1
    np.testing.assert_array_equal(read_embeddings(out).vectors, whole.vectors)


def test_text_embed_redoes_a_truncated_shard(tmp_path):
    from pipelines.embed.text import embed_corpus
    from tests.test_text_cli import TINY

    corpus = tmp_path / "lines.txt"
    words = "the cat sat on a mat while dogs ran far away".split()
    corpus.write_text("".join(" ".join(words[i : i + 4]) + "\n" for i in range(8)))
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", str(corpus), "--out", str(run), *TINY])
    assert result.exit_code == 0, result.output
    out = tmp_path / "emb"
    embed_corpus(run, corpus, out, shard_size=3)
    whole = read_embeddings(out)
    _truncate(out / "embeddings-00000.npy")
    summary, _ = embed_corpus(run, corpus, out, shard_size=3)
    assert summary.embedded == 3
    np.testing.assert_array_equal(read_embeddings(out).vectors, whole.vectors)


def test_killed_index_build_leaves_nothing_behind(archive_embeddings, tmp_path):
    out = tmp_path / "idx"
    stale = tmp_path / ".idx.abcd1234.tmp"
    stale.mkdir()
    (stale / "index.faiss").write_bytes(b"\0" * 1000)  # what a killed build leaves
    other = tmp_path / ".idx2.abcd1234.tmp"  # another target's: not ours to remove
    other.mkdir()
    assert _build(archive_embeddings, out).exit_code == 0
    assert not stale.exists() and other.exists()
