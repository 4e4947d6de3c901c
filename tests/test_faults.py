"""Fault injection: every writing command killed with SIGKILL at several points of its run.

The invariant, wherever the kill lands: what was there before is intact, or the next run of
the same command ends with the same result as an uninterrupted run, and no temporary file or
lock is left once that next run is done.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from index.store import open_index_dir
from pipelines.embed.shards import read_embeddings

SEQAE = str(Path(sys.executable).with_name("seqae"))
# kill after these shares of an uninterrupted run's time (the later one among the slow checks)
POINTS = (0.45, pytest.param(0.8, marks=pytest.mark.slow))


def _run(args: list[object]) -> float:
    started = time.perf_counter()
    result = subprocess.run([SEQAE, *map(str, args)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return time.perf_counter() - started


def _killed(args: list[object], after: float) -> None:
    job = subprocess.Popen(
        [SEQAE, *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        job.wait(timeout=after)
    except subprocess.TimeoutExpired:
        job.send_signal(signal.SIGKILL)
        job.wait()


def _leftovers(folder: Path) -> list[Path]:
    """Temporary files and folders, and locks, anywhere under ``folder``."""
    return [p for p in folder.rglob(".*") if p.name.endswith((".tmp", ".old", ".lock"))]


def _same_embeddings(a: Path, b: Path) -> None:
    first, second = read_embeddings(a), read_embeddings(b)
    np.testing.assert_array_equal(first.vectors, second.vectors)
    assert first.metadata.equals(second.metadata)


def _same_index(a: Path, b: Path) -> None:
    first, second = open_index_dir(a, mmap=False), open_index_dir(b, mmap=False)
    assert len(first) == len(second)
    ids = np.arange(len(first))
    np.testing.assert_array_equal(
        first.index.reconstruct_batch(ids), second.index.reconstruct_batch(ids)
    )
    assert first.metadata.equals(second.metadata)


def _killed_run_resumes_to_the_whole_one(args, tmp_path: Path, point: float) -> None:
    """``args(out)`` run whole, then killed at ``point`` of that time and run again: the
    embeddings equal, and nothing temporary is left."""
    whole = tmp_path / "whole"
    seconds = _run(args(whole))
    out = tmp_path / "out"
    _killed(args(out), seconds * point)
    _run(args(out))
    _same_embeddings(out, whole)
    assert not _leftovers(tmp_path)


@pytest.fixture
def folder(corpus, tmp_path) -> Path:
    """Eight long recordings, so that ingest has files to be killed between."""
    audio = tmp_path / "audio"
    audio.mkdir()
    long = next((corpus / "long").glob("*.wav"))
    for n in range(8):
        shutil.copy(long, audio / f"{n}.wav")
    return audio


@pytest.mark.parametrize("point", POINTS)
def test_killed_embed_resumes_to_the_uninterrupted_result(corpus, trained_run, tmp_path, point):
    args = lambda out: ["embed", trained_run, corpus / "archive.csv", "--out", out,  # noqa: E731
                        "--shard-size", 2]  # fmt: skip
    _killed_run_resumes_to_the_whole_one(args, tmp_path, point)


@pytest.mark.parametrize("point", POINTS)
def test_killed_ingest_resumes_to_the_uninterrupted_result(folder, trained_run, tmp_path, point):
    args = lambda out: ["ingest", folder, "--model", trained_run, "--out", out]  # noqa: E731
    _killed_run_resumes_to_the_whole_one(args, tmp_path, point)


@pytest.mark.parametrize("point", POINTS)
def test_killed_index_build_keeps_the_old_index_or_ends_as_a_whole_build(
    archive_embeddings, corpus, trained_run, tmp_path, point
):
    small = tmp_path / "small-emb"  # an older index over fewer vectors
    _run(["embed", trained_run, corpus / "queries.csv", "--out", small])
    out, whole = tmp_path / "idx", tmp_path / "whole"
    _run(["index", "build", small, "--out", out])
    old = open_index_dir(out, mmap=False)
    args = lambda target: ["index", "build", archive_embeddings, "--out", target,  # noqa: E731
                           "--overwrite"]  # fmt: skip
    seconds = _run(args(whole))
    _killed(args(out), seconds * point)
    now = open_index_dir(out, mmap=False)  # whatever moment it was killed at, it opens
    assert len(now) in (len(old), len(open_index_dir(whole)))
    _run(args(out))
    _same_index(out, whole)
    assert not _leftovers(tmp_path)


@pytest.mark.parametrize("point", POINTS)
def test_killed_index_add_keeps_the_old_index_or_the_whole_addition(
    archive_embeddings, corpus, trained_run, tmp_path, point
):
    extra = tmp_path / "extra-emb"
    _run(["embed", trained_run, corpus / "queries.csv", "--out", extra])
    base, whole, out = tmp_path / "base", tmp_path / "whole", tmp_path / "idx"
    _run(["index", "build", archive_embeddings, "--out", base])
    shutil.copytree(base, whole)
    seconds = _run(["index", "add", whole, extra])
    shutil.copytree(base, out)
    _killed(["index", "add", out, extra], seconds * point)
    now = open_index_dir(out, mmap=False)
    if len(now) == len(open_index_dir(base)):  # killed before the swap: the old index
        _same_index(out, base)
        _run(["index", "add", out, extra])
    _same_index(out, whole)
    assert not _leftovers(tmp_path)


@pytest.mark.parametrize("point", POINTS)
def test_killed_train_resumes_and_finishes(corpus, tmp_path, point):
    from seqae.bundle import load_bundle

    run = tmp_path / "run"
    args = ["train", corpus / "archive.csv", "--out", run, "--epochs", 6, "--objective", "dae",
            "--hidden", 32, "--layers", 1, "--dim", 16, "--decoder-hidden", 32,
            "--batch-size", 4, "--seed", 0, "--threads", 1]  # fmt: skip
    whole = tmp_path / "whole"
    seconds = _run([*args[:3], whole, *args[4:]])
    _killed(args, seconds * point)
    _run(args)
    resumed, uninterrupted = load_bundle(run), load_bundle(whole)
    assert resumed.features == uninterrupted.features
    assert resumed.embedding_dim == uninterrupted.embedding_dim
    assert not _leftovers(tmp_path)
