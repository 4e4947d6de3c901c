from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from seqae.audio import load_audio
from seqae.errors import InputError


def test_resamples_stereo_to_mono_16k(tone_wav):
    audio = load_audio(tone_wav)
    assert audio.dtype == np.float32
    assert audio.ndim == 1
    assert abs(len(audio) - 8000) <= 2
    # the mono mix of a full and a half-amplitude tone peaks near 0.75 * 0.3
    assert 0.2 < np.max(np.abs(audio)) < 0.25


def test_span_is_cut(tone_wav):
    audio = load_audio(tone_wav, start=0.1, end=0.3)
    assert abs(len(audio) - 3200) <= 2


@pytest.mark.parametrize("fmt", ["FLAC", "OGG"])
def test_other_containers(tmp_path, fmt):
    path = tmp_path / f"x.{fmt.lower()}"
    rate = 22050
    t = np.arange(rate // 4) / rate
    sf.write(str(path), 0.3 * np.sin(2 * np.pi * 300 * t), rate, format=fmt)
    audio = load_audio(path)
    assert abs(len(audio) - 4000) <= 40


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_audio(tmp_path / "nope.wav")


def test_corrupt_file(tmp_path):
    path = tmp_path / "bad.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEgarbage" * 3)
    with pytest.raises(InputError, match="bad.wav: cannot decode"):
        load_audio(path)


def test_empty_and_silent(tmp_path):
    empty = tmp_path / "empty.wav"
    sf.write(str(empty), np.zeros(0), 16000)
    with pytest.raises(InputError, match="empty"):
        load_audio(empty)
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(16000), 16000)
    with pytest.raises(InputError, match="silent"):
        load_audio(silent)


def test_bad_span(tone_wav):
    with pytest.raises(InputError, match="not after start"):
        load_audio(tone_wav, start=0.3, end=0.2)
    with pytest.raises(InputError, match="past the end"):
        load_audio(tone_wav, start=5.0)
