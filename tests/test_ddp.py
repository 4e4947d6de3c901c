"""``seqae train --devices 2``: data-parallel training in two real CPU processes (gloo)."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from seqae.bundle import load_bundle
from seqae.data import BucketBatchSampler
from tests.conftest import TINY_MODEL


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _train_command(manifest: Path, out: Path, epochs: int, batch_size: int) -> list[str]:
    model = ["--hidden", str(TINY_MODEL["hidden_size"]), "--layers", str(TINY_MODEL["layers"]),
             "--dim", str(TINY_MODEL["embedding_dim"]),
             "--decoder-hidden", str(TINY_MODEL["decoder_hidden_size"])]  # fmt: skip
    return [sys.executable, "-m", "seqae", "train", str(manifest), "--out", str(out),
            "--objective", "dae", "--epochs", str(epochs), "--batch-size", str(batch_size),
            "--seed", "0", *model, "--devices", "2"]  # fmt: skip


def test_two_processes_share_the_batches_and_write_one_run(corpus, tmp_path):
    out, epochs, batch_size = tmp_path / "run", 2, 4
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port())}
    done = subprocess.run(
        _train_command(corpus / "archive.csv", out, epochs, batch_size),
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "process 0 of 2" in done.stderr and "process 1 of 2" in done.stderr
    assert done.stdout.count("trained on") == 1  # the second process reports nothing

    metrics = json.loads((out / "metrics.json").read_text())
    batches = math.ceil(metrics["train_segments"] / batch_size)
    checkpoint = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    assert batches >= 2
    assert checkpoint["global_step"] == epochs * math.ceil(batches / 2)  # each took half
    assert [p.name for p in (out / "logs").iterdir()] == ["version_0"]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.pt")) == ["model.pt"]
    assert not list(out.rglob(".*.tmp")) and not list(out.rglob("*.tmp"))

    bundle = load_bundle(out)
    assert bundle.model_id == metrics["model_id"]
    frames = [np.random.default_rng(0).standard_normal((30, bundle.features.dim)).astype("f4")]
    vectors = bundle.embed(frames)
    assert vectors.shape == (1, TINY_MODEL["embedding_dim"]) and np.isfinite(vectors).all()


def test_sampler_shards_batches_across_processes():
    lengths = np.random.default_rng(0).integers(5, 50, size=23)
    whole = list(BucketBatchSampler(lengths, batch_size=4, seed=3))  # 6 batches
    shards = [list(BucketBatchSampler(lengths, 4, seed=3, rank=r, replicas=4)) for r in range(4)]
    assert [len(s) for s in shards] == [2, 2, 2, 2]  # padded to the same number of steps
    taken = [batch for step in zip(*shards, strict=True) for batch in step]
    assert taken == whole + whole[:2]
