"""``seqae train`` stopped by SIGTERM (a scheduler's preemption) or Ctrl-C: it stops within a
batch, leaves a whole ``last.ckpt``, says so in one line, and the same command resumes."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

SEQAE = str(Path(sys.executable).with_name("seqae"))
TINY = ["--hidden", "32", "--layers", "1", "--dim", "16",
        "--decoder-hidden", "32", "--batch-size", "4", "--objective", "dae",
        "--patience", "1000", "--seed", "0", "--threads", "1"]  # fmt: skip


def _command(corpus: Path, run: Path, epochs: int) -> list[str]:
    return [SEQAE, "train", str(corpus / "archive.csv"), "--out", str(run),
            "--epochs", str(epochs), *TINY]  # fmt: skip


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_training_with_last_ckpt_and_the_same_command_resumes(
    corpus, tmp_path, signum
):
    run = tmp_path / "run"
    job = subprocess.Popen(
        _command(corpus, run, 200), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    last = run / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while not last.is_file() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the first epoch is done
    assert job.poll() is None, job.communicate()
    job.send_signal(signum)
    sent = time.monotonic()
    _, err = job.communicate(timeout=60)
    assert time.monotonic() - sent < 10  # within a batch, not at the end of 200 epochs
    assert job.returncode == 128 + signum, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "run the same command again to resume" in lines[0], err
    assert "Traceback" not in err
    stopped = torch.load(last, map_location="cpu", weights_only=False)
    assert 0 <= stopped["epoch"] < 200 and not list(last.parent.glob(".*.tmp"))
    epochs = stopped["epoch"] + 2  # resume and finish one more epoch than was started
    result = subprocess.run(_command(corpus, run, epochs), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads((run / "metrics.json").read_text())["epochs"] == epochs
    with open(run / "logs" / "version_1" / "metrics.csv", newline="") as handle:
        resumed = {int(row["epoch"]) for row in csv.DictReader(handle) if row["epoch"]}
    assert min(resumed) == stopped["epoch"]  # the second run went on where the first stopped
    assert (run / "model.pt").is_file()
