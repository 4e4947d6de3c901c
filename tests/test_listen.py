"""`seqae listen`: live detection from a PCM pipe or a file, with the tiny trained model."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import soundfile as sf
from typer.testing import CliRunner

from pipelines.io.stream import Block
from pipelines.search.listen import ArrivalClock, pcm_blocks
from seqae.cli import app

runner = CliRunner()


def _truth(corpus) -> list[dict]:
    with open(corpus / "long.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _pcm(path) -> bytes:
    audio, rate = sf.read(str(path), dtype="int16")
    assert rate == 16000
    return audio.astype("<i2").tobytes()


def _overlaps(row: dict, start: float, end: float) -> bool:
    return min(end, float(row["end"])) - max(start, float(row["start"])) > 0


def test_pcm_blocks_decode_and_keep_an_odd_byte_for_the_next_read():
    samples = np.array([0, 16384, -32768, 32767, 1, -1, 5], dtype="<i2")
    data = samples.tobytes()

    class Trickle(io.RawIOBase):  # hands over 3 bytes at a time, like a slow pipe
        def __init__(self):
            self.left = data

        def read(self, n=-1):
            out, self.left = self.left[:3], self.left[3:]
            return out

    blocks = list(pcm_blocks(Trickle(), rate=10, block_seconds=0.2))  # 2 samples a block
    joined = np.concatenate([b.samples for b in blocks])
    np.testing.assert_allclose(joined, samples / 32768.0)
    before = np.cumsum([0] + [len(b.samples) for b in blocks[:-1]])
    np.testing.assert_allclose([b.start for b in blocks], before / 10)  # seconds into the stream


def test_arrival_clock_dates_samples_by_their_block():
    clock = ArrivalClock(rate=10)
    blocks = [Block(0.0, np.zeros(5, np.float32)), Block(0.5, np.zeros(5, np.float32))]
    list(clock.watch(blocks))
    assert clock.arrival(0.2) == clock.walls[0] and clock.arrival(0.7) == clock.walls[1]
    assert clock.arrival(5.0) == clock.walls[1]  # past the end: the last block


def test_listen_on_stdin_reports_each_spoken_word_with_its_time(corpus, archive_index, tmp_path):
    truth = _truth(corpus)
    recording = corpus / truth[0]["path"]
    first = truth[0]
    clip = tmp_path / "enrolled.wav"  # the first word, cut from the stream itself
    audio, rate = sf.read(str(recording))
    sf.write(
        str(clip), audio[int(float(first["start"]) * rate) : int(float(first["end"]) * rate)], rate
    )
    result = runner.invoke(
        app,
        [
            "listen",
            str(archive_index),
            "--input",
            "-",
            "--threshold",
            "-1",
            "--json",
            "--term",
            f"cut-{first['label']}={clip}",
        ],  # fmt: skip
        input=_pcm(recording),
    )
    assert result.exit_code == 0, result.output
    found = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert len(found) == len(truth)  # threshold -1: every word is some term
    for row, hit in zip(truth, found, strict=True):
        assert _overlaps(row, hit["start"], hit["end"])
        assert 0.0 <= hit["latency"] < 1.0
    # the enrolled cut, or the index's own example of the word in this voice
    assert found[0]["label"] in (f"cut-{first['label']}", first["label"])
    assert found[0]["score"] > 0.6  # the word cut from the stream clears the default threshold
    with open(corpus / "archive.csv", newline="") as handle:
        words = {row["label"] for row in csv.DictReader(handle)}  # the index's labels
    assert {h["label"] for h in found} <= words | {f"cut-{first['label']}"}


def test_listen_to_a_file_with_a_threshold_and_bad_input(corpus, archive_index, tmp_path):
    truth = _truth(corpus)
    recording = corpus / truth[0]["path"]
    result = runner.invoke(
        app,
        [
            "listen",
            str(archive_index),
            "--input",
            str(recording),
            "--no-real-time",
            "--threshold",
            "1.01",
        ],  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    assert " s  " not in result.output  # no similarity reaches 1.01: nothing reported
    result = runner.invoke(app, ["listen", str(archive_index), "--input", str(tmp_path / "no.wav")])
    assert result.exit_code == 2 and "no.wav: no such file" in result.output
