"""The audio front end: file -> waveform -> log-mel spectrogram -> model frames.

One module, so training (whose augmentation warps the log-mel spectrogram), embedding and
search compute features the same way: reading and resampling a file, the log-mel spectrogram
(trimmed of leading and trailing non-speech), and the frames a model reads (cepstra, deltas,
normalisation per segment, speaker or recording).
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import librosa
import numpy as np
import scipy.fft

# librosa loads its submodules (scipy.signal, numba kernels) on first use; naming one here
# moves that second or two to import time, so the first query costs what the others do.
from librosa.feature import melspectrogram

from seqae.config import FeatureConfig
from seqae.errors import InputError
from seqae.runs import replaced_atomically

logger = logging.getLogger(__name__)

SILENCE_PEAK = 1e-4  # about -80 dBFS: nothing audible to encode


def _read(path: Path, start: float | None, end: float | None) -> tuple[np.ndarray, int]:
    """Decode part of a file with soundfile, falling back to librosa for other formats."""
    import soundfile as sf

    try:
        with sf.SoundFile(str(path)) as f:
            rate = f.samplerate
            first = int(round((start or 0.0) * rate))
            last = f.frames if end is None else min(f.frames, int(round(end * rate)))
            if first > f.frames:
                raise InputError(f"{path}: start {start:.3f}s is past the end of the file")
            f.seek(first)
            data = f.read(max(0, last - first), dtype="float32", always_2d=True)
            return data.mean(axis=1), rate
    except InputError:
        raise
    except Exception as error:  # libsndfile cannot decode it: try librosa's audioread fallback
        soundfile_error = error
    import librosa

    try:
        duration = None if end is None else max(0.0, end - (start or 0.0))
        with warnings.catch_warnings():  # librosa warns that audioread is its last resort
            warnings.simplefilter("ignore")
            data, rate = librosa.load(
                str(path), sr=None, mono=True, offset=start or 0.0, duration=duration
            )
        return data.astype(np.float32), int(rate)
    except Exception as error:
        reason = str(soundfile_error).splitlines()[0] if str(soundfile_error) else str(error)
        raise InputError(f"{path}: cannot decode audio ({reason})") from None


def missing_reason(path: Path) -> str:
    """Why ``path`` is not a file one can read: a folder, a dangling link, or nothing."""
    if path.is_dir():
        return "is a folder, not an audio file"
    if path.is_symlink():
        return f"dangling symbolic link (its target {os.readlink(path)} does not exist)"
    return "no such file"


def load_audio(
    path: str | Path,
    sample_rate: int = 16000,
    start: float | None = None,
    end: float | None = None,
) -> np.ndarray:
    """Samples of ``path`` (optionally ``start``..``end`` s), mono, at ``sample_rate``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {missing_reason(path)}")
    for name, value in (("start", start), ("end", end)):
        if value is not None and not math.isfinite(value):
            raise InputError(f"{path}: {name} is {value}, not a time in seconds")
    if start is not None and end is not None and end <= start:
        raise InputError(f"{path}: end {end:.3f}s is not after start {start:.3f}s")
    if start is not None and start < 0:
        raise InputError(f"{path}: negative start {start:.3f}s")
    data, rate = _read(path, start, end)
    if data.size == 0:
        raise InputError(f"{path}: empty (no audio samples in the requested span)")
    if not np.all(np.isfinite(data)):
        raise InputError(f"{path}: audio holds NaN or infinite samples")
    if float(np.max(np.abs(data))) < SILENCE_PEAK:
        raise InputError(f"{path}: silent (peak below -80 dBFS)")
    if rate != sample_rate:
        import librosa

        data = librosa.resample(data, orig_sr=rate, target_sr=sample_rate, res_type="soxr_hq")
    return np.ascontiguousarray(data, dtype=np.float32)


def write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    """16-bit mono WAV, written whole or not at all (a temporary file, then a rename)."""
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_atomically(path) as tmp:
        sf.write(str(tmp), samples, sample_rate, subtype="PCM_16", format="WAV")


# waveform -> log-mel spectrogram

MANY_SECONDS = 60.0  # audio per spectrogram of compute_features_many


def compute_log_mel(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """(T, n_mels) log-mel spectrogram in dB, float32, trimmed as ``config`` asks."""
    return trim_log_mel(_full_log_mel(audio, config), config.trim_db)


def _full_log_mel(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    n_fft = 1 << (config.win_length - 1).bit_length()  # next power of two above the window
    with warnings.catch_warnings():  # segments shorter than one FFT are padded, and that is fine
        warnings.filterwarnings("ignore", message="n_fft=.*is too large")
        mel = _mel(audio, config, n_fft)
    return np.ascontiguousarray(librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None).T)


def compute_features(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """(frames, config.dim) float32 features of mono audio at config.sample_rate."""
    return frames_from_log_mel(compute_log_mel(audio, config), config)


def _mel(audio: np.ndarray, config: FeatureConfig, n_fft: int) -> np.ndarray:
    """Mel power spectrogram, (n_mels, T)."""
    return melspectrogram(
        y=audio,
        sr=config.sample_rate,
        n_fft=n_fft,
        win_length=config.win_length,
        hop_length=config.hop_length,
        n_mels=config.n_mels,
        fmax=config.top_frequency,
        center=True,
        power=2.0,
    )


def compute_features_many(
    segments: list[np.ndarray], config: FeatureConfig, one_speaker: bool = False
) -> list[np.ndarray]:
    """Features of many segments, each equal to ``compute_features`` of it alone, computed in
    a few large calls: per-segment calls spend most of their time in overhead.

    ``one_speaker``: the segments come from one recording, and with ``normalize`` "speaker"
    they are normalised together.
    """
    log_mels = compute_log_mels(segments, config)
    if not (one_speaker and config.normalize == "speaker"):
        return frames_from_log_mels(log_mels, config)
    stats = group_statistics(log_mels, ["recording"] * len(log_mels), config)
    return frames_from_log_mels(log_mels, config, stats)


def compute_log_mels(segments: list[np.ndarray], config: FeatureConfig) -> list[np.ndarray]:
    """``compute_log_mel`` of each segment, from one spectrogram per ~MANY_SECONDS of audio.

    The segments are laid end to end, each starting on a frame boundary, with enough silence
    between them that no analysis window reaches a neighbour: every frame then sees exactly the
    samples (and the zero padding) it sees when its segment is analysed alone.
    """
    n_fft = 1 << (config.win_length - 1).bit_length()
    out: list[np.ndarray] = []
    group: list[np.ndarray] = []
    length = 0
    for audio in segments:
        group.append(np.asarray(audio, dtype=np.float32))
        length += len(audio) + n_fft
        if length >= MANY_SECONDS * config.sample_rate:
            out += _log_mels_laid_out(group, config, n_fft)
            group, length = [], 0
    return out + (_log_mels_laid_out(group, config, n_fft) if group else [])


def _log_mels_laid_out(group: list[np.ndarray], config: FeatureConfig, n_fft: int) -> list:
    hop = config.hop_length
    frames = [1 + len(a) // hop for a in group]  # what a centred STFT of each alone yields
    # After a segment's last frame (centred on (frames - 1) * hop) half a window of zeros,
    # then half a window before the next segment's first frame: n_fft // hop + 1 hops.
    starts = np.cumsum([0] + [f + n_fft // hop + 1 for f in frames[:-1]])  # in frames
    laid = np.zeros(int(starts[-1] + frames[-1]) * hop + n_fft, dtype=np.float32)
    for first, audio in zip(starts, group, strict=True):
        laid[first * hop : first * hop + len(audio)] = audio
    log_mel = _full_log_mel(laid, config)  # (T, n_mels)
    return [
        trim_log_mel(log_mel[a : a + f], config.trim_db)
        for a, f in zip(starts, frames, strict=True)
    ]


# log-mel spectrogram -> model frames

Stats = tuple[np.ndarray, np.ndarray]  # (D,) mean and (D,) standard deviation of a group


def deltas(frames: np.ndarray) -> np.ndarray:
    """(T, D) -> (T, 2D) deltas and delta-deltas; short segments use a narrower window."""

    n = frames.shape[0]
    if n < 3:  # too short for any regression window: a zero slope is the honest estimate
        return np.zeros((n, frames.shape[1] * 2), dtype=frames.dtype)
    width = min(9, n if n % 2 == 1 else n - 1)
    d1 = librosa.feature.delta(frames, width=width, order=1, axis=0, mode="interp")
    d2 = librosa.feature.delta(frames, width=width, order=2, axis=0, mode="interp")
    return np.concatenate([d1, d2], axis=1)


TRIM_FLOOR_PERCENTILE = 10  # a band's background: its quietest tenth of frames
TRIM_FLOOR_MARGIN_DB = 6.0  # speech stands at least this far above a band's background
TRIM_BANDS = 3  # a frame is speech when this many bands say so (noise flickers in one or two)
TRIM_SILENT_BAND_DB = 50.0  # a band this far under the loudest carries nothing
TRIM_STEADY_DB = 15.0  # a band whose loudest frame is this close to its floor: steady noise
TRIM_SMOOTH = 3  # frames averaged in each band before judging (noise flickers less)
TRIM_PAD = 3  # frames kept beyond each edge
TRIM_MIN = 5  # a shorter span is not trusted: the segment is kept whole


def speech_frames(log_mel: np.ndarray, top_db: float) -> np.ndarray:
    """(T, n_mels) log-mel in dB -> (T,) True where a frame holds speech.

    Each band is judged against itself: a frame is loud in a band when it is within
    ``top_db`` of that band's loudest frame and clear of the band's background. A fricative
    (weak overall, but the loudest thing in its high bands) counts, as does a vowel; a
    steady noise, never far above its own floor, does not.
    """
    level = _smoothed(log_mel)  # (T, M)
    peak = level.max(axis=0)  # (M,)
    floor = np.percentile(level, TRIM_FLOOR_PERCENTILE, axis=0)  # (M,)
    loud = level > np.maximum(peak - top_db, floor + TRIM_FLOOR_MARGIN_DB)  # (T, M)
    # bands the recording never reaches (above 4 kHz in telephone audio), and bands where
    # nothing rises out of a steady noise, say nothing either way
    telling = (peak > peak.max() - TRIM_SILENT_BAND_DB) & (peak - floor > TRIM_STEADY_DB)
    if not telling.any():
        return np.ones(len(log_mel), dtype=bool)
    return loud[:, telling].sum(axis=1) >= min(TRIM_BANDS, int(telling.sum()))


def _smoothed(log_mel: np.ndarray) -> np.ndarray:
    """Each band's power averaged over TRIM_SMOOTH frames, in dB: (T, M) -> (T, M)."""
    if len(log_mel) < TRIM_SMOOTH:
        return log_mel
    power = np.power(10.0, log_mel.astype(np.float64) / 10.0)
    padded = np.pad(power, ((TRIM_SMOOTH // 2, TRIM_SMOOTH // 2), (0, 0)), mode="edge")
    window = np.lib.stride_tricks.sliding_window_view(padded, TRIM_SMOOTH, axis=0)
    return 10.0 * np.log10(window.mean(axis=-1) + 1e-10)


def speech_span(log_mel: np.ndarray, top_db: float) -> tuple[int, int]:
    """(first, last + 1): the frames from the first to the last that hold speech (see
    ``speech_frames``), padded by a few frames; the whole segment if too few do."""
    steps = len(log_mel)
    frames = np.flatnonzero(speech_frames(log_mel, top_db))
    if len(frames) == 0 or frames[-1] + 1 - frames[0] < TRIM_MIN:
        return 0, steps
    return max(0, int(frames[0]) - TRIM_PAD), min(steps, int(frames[-1]) + 1 + TRIM_PAD)


def trim_log_mel(log_mel: np.ndarray, top_db: float) -> np.ndarray:
    """The segment's frames without its leading and trailing non-speech (``top_db`` 0: all)."""
    if top_db <= 0 or len(log_mel) <= TRIM_MIN:
        return log_mel
    first, last = speech_span(log_mel, top_db)
    return log_mel[first:last]


def normalize_frames(frames: np.ndarray) -> np.ndarray:
    """Mean-variance normalise each feature dimension over the segment's frames."""
    mean = frames.mean(axis=0, keepdims=True)
    std = frames.std(axis=0, keepdims=True)
    return (frames - mean) / np.maximum(std, 1e-5)


def frames_from_log_mel(
    log_mel: np.ndarray, config: FeatureConfig, stats: Stats | None = None
) -> np.ndarray:
    """(T, n_mels) log-mel in dB -> (T, config.dim) float32 model frames; ``stats`` is the
    mean and deviation of the segment's speaker (``normalize`` "speaker")."""
    if config.kind == "mfcc":  # the orthonormal DCT-II, as librosa.feature.mfcc computes it
        base = scipy.fft.dct(log_mel, type=2, norm="ortho", axis=1)[:, : config.n_mfcc]
    else:
        base = log_mel
    frames = np.concatenate([base, deltas(base)], axis=1) if config.deltas else base
    return np.ascontiguousarray(_normalized(frames, config, stats), dtype=np.float32)


def _normalized(frames: np.ndarray, config: FeatureConfig, stats: Stats | None) -> np.ndarray:
    """Per-segment normalisation, or by the given group's mean and deviation (``speaker``)."""
    if config.normalize == "none":
        return frames
    if config.normalize == "speaker" and stats is not None:
        return (frames - stats[0]) / stats[1]
    return normalize_frames(frames)  # "utterance", or a segment with no known speaker


def group_statistics(
    log_mels: list[np.ndarray], groups: list[str], config: FeatureConfig
) -> list[Stats | None]:
    """For each segment, the mean and standard deviation of its group's frames (a speaker,
    or a recording), before normalisation; None for a segment of no group ("")."""
    raw = frames_from_log_mels(log_mels, replace(config, normalize="none"))
    found: dict[str, Stats] = {}
    for group in set(groups) - {""}:
        joined = np.concatenate([f for f, g in zip(raw, groups, strict=True) if g == group])
        found[group] = (joined.mean(axis=0), np.maximum(joined.std(axis=0), 1e-5))
    return [found.get(group) for group in groups]


def frames_from_log_mels(
    log_mels: list[np.ndarray],
    config: FeatureConfig,
    stats: Sequence[Stats | None] | None = None,
) -> list[np.ndarray]:
    """``frames_from_log_mel`` of each segment (with ``stats[i]`` its group's, if any); the
    deltas of all segments of one length are computed in one call (librosa's delta costs
    about a millisecond of overhead a call)."""
    if config.kind == "mfcc":
        bases = [
            scipy.fft.dct(m, type=2, norm="ortho", axis=1)[:, : config.n_mfcc] for m in log_mels
        ]
    else:
        bases = list(log_mels)
    if config.deltas:
        by_length: dict[int, list[int]] = {}
        for i, base in enumerate(bases):
            by_length.setdefault(len(base), []).append(i)
        slopes: list[np.ndarray | None] = [None] * len(bases)
        for rows in by_length.values():
            stacked = np.stack([bases[i] for i in rows])  # (n, T, D)
            for i, slope in zip(rows, _deltas_stacked(stacked), strict=True):
                slopes[i] = slope
        bases = [np.concatenate([b, d], axis=1) for b, d in zip(bases, slopes, strict=True)]
    stats = [None] * len(bases) if stats is None else stats
    return [
        np.ascontiguousarray(_normalized(b, config, s), dtype=np.float32)
        for b, s in zip(bases, stats, strict=True)
    ]


def _deltas_stacked(stacked: np.ndarray) -> np.ndarray:
    """(n, T, D) -> (n, T, 2D): ``deltas`` of each of the n segments (all T frames long)."""
    import librosa

    n, length, dim = stacked.shape
    if length < 3:
        return np.zeros((n, length, 2 * dim), dtype=stacked.dtype)
    width = min(9, length if length % 2 == 1 else length - 1)
    d1 = librosa.feature.delta(stacked, width=width, order=1, axis=1, mode="interp")
    d2 = librosa.feature.delta(stacked, width=width, order=2, axis=1, mode="interp")
    return np.concatenate([d1, d2], axis=2)
