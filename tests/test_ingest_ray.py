"""``seqae ingest --engine ray``: the ingestion job on a real local Ray instance (Ray Data actors)
writes the same embedding directory as the local engine."""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.embed.ingest import ingest
from pipelines.embed.ingest_ray import _in_order
from seqae.cli import app

ray = pytest.importorskip("ray")
runner = CliRunner()


def _ray_ingest(folder: Path, run: Path, out: Path) -> str:
    args = ["ingest", str(folder), "--model", str(run), "--out", str(out), "--engine", "ray"]
    result = runner.invoke(app, [*args, "--workers", "2"])
    assert result.exit_code == 0, result.output
    return result.output


def _local_ingest(folder: Path, run: Path, out: Path) -> str:
    result = runner.invoke(app, ["ingest", str(folder), "--model", str(run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return result.output


def _report(output: str) -> str:
    """The CLI's closing lines without the speed and the output folder."""
    text = re.sub(r"\s+", " ", output[output.index("skipped") :])
    return re.sub(r"\d+ x real time", "", text).rsplit("->", 1)[0]


def _assert_same_directory(a: Path, b: Path) -> None:
    """Every file byte for byte (the command record names the engine, so it is left out)."""
    names = sorted(p.name for p in a.iterdir() if p.name != "command.json")
    assert names == sorted(p.name for p in b.iterdir() if p.name != "command.json")
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_ray_engine_writes_what_the_local_engine_writes(recordings, trained_run, tmp_path):
    assert not ray.is_initialized()
    output = _ray_ingest(recordings, trained_run, tmp_path / "ray")
    assert not ray.is_initialized()  # the job stopped the Ray instance it started
    assert "ingested 3 files" in output and "broken.wav: cannot decode" in output
    local = _local_ingest(recordings, trained_run, tmp_path / "local")
    assert _report(output) == _report(local)
    _assert_same_directory(tmp_path / "ray", tmp_path / "local")


@pytest.mark.slow  # two more Ray jobs on a Ray instance of its own: about 40 s on 2 cores
def test_ray_engine_adds_only_new_files(recordings, trained_run, tmp_path):
    ray.init("local", num_cpus=2, include_dashboard=False)
    try:
        _ray_ingest(recordings, trained_run, tmp_path / "ray")
        shutil.copy(recordings / "a.wav", recordings / "b" / "d.wav")
        output = _ray_ingest(recordings, trained_run, tmp_path / "ray")
        assert ray.is_initialized()  # a running instance is used, and left running
    finally:
        ray.shutdown()
    assert "ingested 1 files" in output and "kept 3 files" in output
    ingest(recordings, trained_run, tmp_path / "local")
    _assert_same_directory(tmp_path / "ray", tmp_path / "local")


def test_results_are_handed_on_in_job_order():
    order = list(range(20))
    random.Random(0).shuffle(order)
    assert list(_in_order((i, {"i": i}) for i in order)) == [{"i": i} for i in range(20)]


def test_engine_options_are_checked(recordings, trained_run, tmp_path):
    args = ["ingest", str(recordings), "--model", str(trained_run), "--out", str(tmp_path / "o")]
    result = runner.invoke(app, [*args, "--engine", "spark"])
    assert result.exit_code == 2 and "'spark' is not one of 'local', 'ray'" in result.output
    result = runner.invoke(app, [*args, "--ray-address", "auto"])
    assert result.exit_code == 2 and "only with --engine ray" in result.output
