"""`seqae index build / add / check` through the real Typer app on a tiny trained model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from index import open_index_dir
from index.frames import FrameStore
from seqae.cli import app

runner = CliRunner()


def run(*args: object):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def embedded(corpus, trained_run, tmp_path_factory) -> Path:
    """The archive side (18 segments, shards of 5) and the query side (6) embedded."""
    root = tmp_path_factory.mktemp("index-cli")
    for name, manifest in (("archive", "archive.csv"), ("queries", "queries.csv")):
        result = run("embed", trained_run, corpus / manifest, "--out", root / name,
                     "--shard-size", "5")  # fmt: skip
        assert result.exit_code == 0, result.output
    return root


def build(embedded: Path, out: Path, *options: str) -> None:
    result = run("index", "build", embedded / "archive", "--out", out, *options)
    assert result.exit_code == 0, result.output


def test_auto_builds_flat_for_a_small_archive(embedded, tmp_path):
    result = run("index", "build", embedded / "archive", "--out", tmp_path / "idx")
    assert result.exit_code == 0 and "indexed 18 vectors with Flat" in result.output
    info = json.loads((tmp_path / "idx" / "index.json").read_text())
    assert info["factory"] == "Flat" and info["memory_budget"] == 4 * 10**9
    command = json.loads((tmp_path / "idx" / "command.json").read_text())
    assert command["config"]["chosen_factory"] == "Flat"


def test_add_appends_rows_frames_and_refuses_a_repeat(embedded, tmp_path):
    idx = tmp_path / "idx"
    build(embedded, idx, "--factory", "HNSW8")
    result = run("index", "add", idx, embedded / "queries")
    assert result.exit_code == 0 and "added 6 vectors: 24 in all, HNSW8" in result.output
    opened = open_index_dir(idx)
    assert len(opened) == 24 and opened.info.ef_search is not None
    new_rows = pq.read_table(embedded / "queries" / "metadata-00001.parquet").to_pylist()
    vectors = np.load(embedded / "queries" / "embeddings-00001.npy")  # rows 5.. of the queries
    hits = opened.search(vectors, 1, ef_search=64)
    assert [row[0].id for row in hits] == [18 + 5 + i for i in range(len(vectors))]
    assert [row[0].metadata["path"] for row in hits] == [row["path"] for row in new_rows]
    frames = FrameStore(idx, "frames")
    query_frames = FrameStore(embedded / "queries", "frames-00001")
    assert len(frames) == 24
    np.testing.assert_array_equal(frames[23], query_frames[len(query_frames) - 1])
    assert (idx / "command-add-1.json").is_file() and (idx / "model.pt").is_file()
    before = files(idx)
    result = run("index", "add", idx, embedded / "queries")
    assert result.exit_code == 2 and "already added to index" in result.output
    assert files(idx) == before


def test_add_refuses_another_models_vectors(embedded, corpus, tmp_path):
    from pipelines.train.speech import load_training_data, run_training
    from tests.conftest import tiny_job

    job = tiny_job(corpus / "archive.csv", tmp_path / "other", epochs=1)  # other weights
    run_training(job, load_training_data(job), bars=False)
    run("embed", tmp_path / "other", corpus / "queries.csv", "--out", tmp_path / "emb")
    idx = tmp_path / "idx"
    build(embedded, idx)
    before = files(idx)
    result = run("index", "add", idx, tmp_path / "emb")
    assert result.exit_code == 2 and "embedded by model" in result.output
    assert "Traceback" not in result.output and files(idx) == before


def test_a_bad_shard_midway_leaves_the_index_intact(embedded, tmp_path):
    idx, broken = tmp_path / "idx", tmp_path / "broken"
    build(embedded, idx)
    shutil.copytree(embedded / "queries", broken)
    vectors = np.load(broken / "embeddings-00001.npy")
    vectors[0, 0] = np.nan
    np.save(broken / "embeddings-00001.npy", vectors)  # the first shard is fine
    before = files(idx)
    result = run("index", "add", idx, broken)
    assert result.exit_code == 2 and "shard 00001 differs from its record" in result.output
    assert files(idx) == before and sorted(p.name for p in tmp_path.iterdir()) == [
        "broken",
        "idx",
    ]


def test_check_reports_recall_and_latency(embedded, tmp_path):
    build(embedded, tmp_path / "flat")
    result = run("index", "check", tmp_path / "flat", "--sample", "10", "-k", "3")
    assert result.exit_code == 0 and "recall@3 1.0000" in result.output
    assert "exact vectors from the index" in result.output and "ms median" in result.output
    build(embedded, tmp_path / "pq", "--factory", "IVF2,PQ4x4")  # codes: not exact
    result = run("index", "check", tmp_path / "pq", "--sample", "10", "-k", "3", "--nprobe", "2")
    assert result.exit_code == 0 and "exact vectors from the embeddings" in result.output
    assert "IVF2,PQ4x4 (nprobe 2)" in result.output
    result = run("index", "check", tmp_path / "pq", "--ef-search", "8")
    assert result.exit_code == 2 and "ef_search applies to HNSW" in result.output


def test_search_a_memory_mapped_hnsw_index(embedded, corpus, tmp_path):
    build(embedded, tmp_path / "idx", "--factory", "HNSW8")
    query = sorted((corpus / "segments").iterdir())[0]
    result = run("search", tmp_path / "idx", query, "-k", "2", "--json")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["rank"] for line in result.output.splitlines()] == [1, 2]


def test_build_errors_are_one_line(embedded, tmp_path):
    result = run("index", "build", embedded / "archive", "--out", tmp_path / "a",
                 "--factory", "IVF4,PQ5")  # fmt: skip
    assert result.exit_code == 2 and "factory 'IVF4,PQ5' cannot index 16-dim" in result.output
    result = run("index", "build", embedded / "archive", "--out", tmp_path / "b",
                 "--memory", "1KB")  # fmt: skip
    assert result.exit_code == 2 and "too small for 18 vectors" in result.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_search_takes_per_query_search_depth(corpus, embedded, tmp_path):
    idx = tmp_path / "idx"
    build(embedded, idx, "--factory", "HNSW8")
    query = sorted((corpus / "segments").iterdir())[0]
    result = run("search", idx, query, "-k", "3", "--ef-search", "4", "--json")
    assert result.exit_code == 0, result.output
    assert len([json.loads(line) for line in result.output.splitlines()]) == 3
    result = run("search", idx, query, "--nprobe", "4")
    assert result.exit_code == 2 and "nprobe applies to IVF indexes" in result.output
