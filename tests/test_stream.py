"""Long recordings: block streaming, voice-activity regions and dense windows."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import soundfile as sf

from pipelines.io.stream import audio_duration, stream_audio
from pipelines.segment.vad import RegionRules, SpeechRegions, speech_regions
from pipelines.segment.windows import window_spans
from seqae.audio import load_audio
from seqae.errors import InputError, SeqaeError


def test_blocks_join_into_the_whole_resampled_file(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "x.wav"
    sf.write(path, (rng.standard_normal(22050 * 3) * 0.1).astype(np.float32), 22050)
    blocks = list(stream_audio(path, 16000, block_seconds=0.7))
    assert len(blocks) == 5 and blocks[0].start == 0.0
    assert blocks[1].start == pytest.approx(len(blocks[0].samples) / 16000)
    joined = np.concatenate([b.samples for b in blocks])
    whole = load_audio(path, 16000)
    assert len(joined) == len(whole) == 48000
    np.testing.assert_allclose(joined, whole, atol=1e-5)
    assert audio_duration(path) == pytest.approx(3.0)


def test_unreadable_file_is_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really")
    with pytest.raises(InputError, match=r"bad\.wav: cannot decode audio") as error:
        list(stream_audio(bad))
    assert "\n" not in str(error.value)


def test_regions_bridge_short_pauses_and_drop_blips():
    regions = SpeechRegions(0.01, RegionRules(min_speech=0.05, min_silence=0.05, pad=0.0))
    decisions = np.zeros(100, dtype=bool)
    decisions[10:20] = decisions[23:30] = True  # a 3-frame pause: bridged
    decisions[50:52] = True  # a 2-frame blip: dropped
    decisions[80:90] = True
    found = regions.push(decisions[:85]) + regions.push(decisions[85:]) + regions.finish()
    assert found == [(pytest.approx(0.10), pytest.approx(0.30)), (0.8, pytest.approx(0.9))]


def test_regions_longer_than_the_limit_are_cut():
    regions = SpeechRegions(0.1, RegionRules(min_speech=0.1, pad=0.0, max_speech=1.0))
    found = regions.push(np.ones(25, dtype=bool)) + regions.finish()
    assert [round(e - s, 6) for s, e in found] == [1.0, 1.0, 0.5]


@pytest.mark.parametrize("method", ["webrtc", "silero", "energy"])
def test_vad_finds_every_word_of_a_long_recording(corpus, method):
    rows = list(csv.DictReader(open(corpus / "long.csv")))
    blocks = (b.samples for b in stream_audio(corpus / rows[0]["path"], block_seconds=0.5))
    found = list(speech_regions(blocks, method))
    assert len(found) == len(rows)  # one region per word: no word split, none joined
    for row, (start, end) in zip(rows, found, strict=True):
        word = float(row["start"]), float(row["end"])
        overlap = min(word[1], end) - max(word[0], start)
        assert overlap >= 0.8 * (word[1] - word[0])


def test_unknown_vad_method():
    with pytest.raises(SeqaeError, match="VAD method must be one of"):
        list(speech_regions([np.zeros(16000, dtype=np.float32)], "psychic"))


def test_windows_cover_the_recording_at_each_duration():
    spans = list(window_spans(1.0, durations=(0.4, 0.6), hop=0.2))
    assert spans[:3] == [(0.0, 0.4), (0.0, 0.6), (0.2, 0.6)]
    assert (0.6, 1.0) in spans and all(end <= 1.0 for _, end in spans)
    assert len(spans) == 4 + 3  # starts 0..0.6 for 0.4 s, 0..0.4 for 0.6 s
    assert list(window_spans(0.3, durations=(0.4,))) == []
    with pytest.raises(SeqaeError):
        list(window_spans(1.0, hop=0.0))
