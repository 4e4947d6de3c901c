"""A demo corpus made locally: English words spoken by espeak-ng (and flite) voices.

Each spoken instance is perturbed in speed, gain and additive noise, so that no two recordings
of a word are the same. The corpus is deterministic for a given seed.
"""

from __future__ import annotations

import io
import itertools
import logging
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqae.audio import write_wav
from seqae.errors import SeqaeError
from seqae.runs import write_csv_atomic

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
WORD_LISTS = (Path("/usr/share/dict/words"), Path("/usr/share/dict/american-english"))
ESPEAK_VOICES = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-029",
    "en-us-nyc",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
)
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m7", "f1", "f2", "f3", "f4", "klatt")
FLITE_VOICES = ("slt", "rms", "awb", "kal16")


@dataclass(frozen=True)
class Speaker:
    """A synthetic voice: an engine, a voice and (for espeak-ng) a variant."""

    engine: str
    voice: str
    variant: str = ""

    @property
    def name(self) -> str:
        suffix = f"+{self.variant}" if self.variant else ""
        return f"{self.engine}-{self.voice}{suffix}"


@dataclass(frozen=True)
class Utterance:
    """One rendering job: text, voice, and the perturbation to apply."""

    text: str
    speaker: Speaker
    rate_wpm: int
    pitch: int
    speed: float
    gain_db: float
    snr_db: float
    seed: int


@dataclass(frozen=True)
class SynthConfig:
    """What ``seqae synth`` makes."""

    words: int = 100
    speakers: int = 14
    query_speakers: int = 4
    repeats: int = 1
    long_recordings: int = 4
    words_per_long: int = 15
    seed: int = 0
    workers: int = 4
    word_list: Path | None = None


def available_speakers() -> list[Speaker]:
    """Every voice the installed engines offer, espeak-ng first."""
    if shutil.which("espeak-ng") is None:
        raise SeqaeError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    speakers = [Speaker("espeak", v, var) for v in ESPEAK_VOICES for var in ESPEAK_VARIANTS]
    if shutil.which("flite") is not None:
        speakers += [Speaker("flite", v) for v in FLITE_VOICES]
    return speakers


def choose_speakers(count: int, rng: np.random.Generator) -> list[Speaker]:
    """Pick ``count`` voices spreading over accents, variants and engines."""
    pool = available_speakers()
    flite = [s for s in pool if s.engine == "flite"]
    espeak = [s for s in pool if s.engine == "espeak"]
    rng.shuffle(espeak)
    # One espeak voice per accent first, so speakers differ in more than their variant.
    chosen: list[Speaker] = []
    for voice in ESPEAK_VOICES:
        chosen.append(next(s for s in espeak if s.voice == voice))
    chosen += [s for s in espeak if s not in chosen]
    n_flite = min(len(flite), count // 3)
    picked = list(rng.permutation(flite)[:n_flite]) + chosen[: count - n_flite]
    if len(picked) < count:
        raise SeqaeError(f"only {len(picked)} synthetic voices available, {count} asked for")
    order = rng.permutation(len(picked))
    return [picked[i] for i in order]


def read_word_list(path: Path | None, count: int, rng: np.random.Generator) -> list[str]:
    """Sample ``count`` distinct plain lower-case words (4-9 letters) from an offline word list."""
    candidates = [path] if path is not None else [p for p in WORD_LISTS if p.is_file()]
    if not candidates or not candidates[0].is_file():
        raise SeqaeError(
            "no word list found: install one (Debian: apt-get install wamerican) "
            "or pass --word-list"
        )
    text = candidates[0].read_text(encoding="utf-8", errors="ignore")
    words = sorted({w for w in text.split() if re.fullmatch(r"[a-z]{4,9}", w)})
    if len(words) < count:
        raise SeqaeError(f"{candidates[0]}: only {len(words)} usable words, {count} asked for")
    return [words[i] for i in rng.choice(len(words), size=count, replace=False)]


def _render_raw(utt: Utterance) -> tuple[np.ndarray, int]:
    """Run the speech engine; return its samples and sample rate."""
    import soundfile as sf

    if utt.speaker.engine == "espeak":
        voice = utt.speaker.voice + (f"+{utt.speaker.variant}" if utt.speaker.variant else "")
        cmd = [
            "espeak-ng",
            "--stdout",
            "-v",
            voice,
            "-s",
            str(utt.rate_wpm),
            "-p",
            str(utt.pitch),
            utt.text,
        ]
        wav = subprocess.run(cmd, check=True, capture_output=True).stdout
        data, rate = sf.read(io.BytesIO(wav), dtype="float32")
        return data, rate
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "x.wav"
        stretch = f"{160 / utt.rate_wpm:.3f}"
        cmd = [
            "flite",
            "-voice",
            utt.speaker.voice,
            "--setf",
            f"duration_stretch={stretch}",
            "--setf",
            f"int_f0_target_mean={60 + utt.pitch * 1.5:.0f}",
            "-t",
            utt.text,
            "-o",
            str(out),
        ]
        subprocess.run(cmd, check=True, capture_output=True)
        data, rate = sf.read(str(out), dtype="float32")
        return data, rate


def render(utt: Utterance) -> np.ndarray:
    """Speak ``utt`` and apply its perturbation; returns 16 kHz float32 samples."""
    import librosa

    data, rate = _render_raw(utt)
    if data.ndim > 1:
        data = data.mean(axis=1)
    data, _ = librosa.effects.trim(data, top_db=35)
    # Speed perturbation by resampling (tempo and pitch move together, as in Kaldi's recipe).
    target = int(round(SAMPLE_RATE / utt.speed))
    data = librosa.resample(data, orig_sr=rate, target_sr=target, res_type="soxr_hq")
    pad = np.zeros(int(0.03 * SAMPLE_RATE), dtype=np.float32)
    data = np.concatenate([pad, data.astype(np.float32), pad])
    peak = float(np.max(np.abs(data))) or 1.0
    data = data / peak * 0.5 * 10 ** (utt.gain_db / 20)
    rng = np.random.default_rng(utt.seed)
    noise = rng.standard_normal(len(data)).astype(np.float32)
    if rng.random() < 0.5:  # brown-ish noise: low-frequency rumble instead of hiss
        noise = np.cumsum(noise)
        noise -= np.convolve(noise, np.ones(801) / 801, mode="same")
    signal_power = float(np.mean(data**2))
    noise *= np.sqrt(signal_power / (10 ** (utt.snr_db / 10)) / float(np.mean(noise**2)))
    return np.clip(data + noise, -1.0, 1.0).astype(np.float32)


def plan_utterance(text: str, speaker: Speaker, rng: np.random.Generator) -> Utterance:
    """Draw the speaking rate, pitch and perturbation of one instance."""
    return Utterance(
        text=text,
        speaker=speaker,
        rate_wpm=int(rng.integers(135, 196)),
        pitch=int(rng.integers(25, 76)),
        speed=float(rng.uniform(0.9, 1.1)),
        gain_db=float(rng.uniform(-8.0, 2.0)),
        snr_db=float(rng.uniform(12.0, 35.0)),
        seed=int(rng.integers(0, 2**31 - 1)),
    )


def _make_long(
    out: Path,
    index: int,
    speaker: Speaker,
    words: list[str],
    config: SynthConfig,
    rng: np.random.Generator,
    pool: ThreadPoolExecutor,
) -> list[dict]:
    """Write one long recording of words separated by short pauses; return its ground truth."""
    chosen = [words[i] for i in rng.choice(len(words), size=config.words_per_long)]
    plans = [plan_utterance(w, speaker, rng) for w in chosen]
    pauses = rng.uniform(0.25, 0.7, size=len(plans) + 1)
    pieces, rows, clock = [], [], 0.0
    name = f"long/{index:03d}_{speaker.name}.wav"
    for word, samples, pause in zip(chosen, pool.map(render, plans), pauses, strict=False):
        gap = np.zeros(int(pause * SAMPLE_RATE), dtype=np.float32)
        pieces += [gap, samples]
        start = clock + len(gap) / SAMPLE_RATE
        clock = start + len(samples) / SAMPLE_RATE
        rows.append(
            {
                "path": name,
                "start": f"{start:.3f}",
                "end": f"{clock:.3f}",
                "label": word,
                "speaker": speaker.name,
            }
        )
    tail = np.zeros(int(pauses[-1] * SAMPLE_RATE), dtype=np.float32)
    audio = np.concatenate(pieces + [tail])
    floor = np.random.default_rng(plans[0].seed).standard_normal(len(audio)) * 1e-3
    write_wav(out / name, (audio + floor).astype(np.float32), SAMPLE_RATE)
    return rows


def make_corpus(out: Path, config: SynthConfig, progress=None) -> dict[str, int]:
    """Write the demo corpus to ``out``; ``progress(advance)`` is called per finished file."""
    rng = np.random.default_rng(config.seed)
    words = read_word_list(config.word_list, config.words, rng)
    speakers = choose_speakers(config.speakers, rng)
    query_names = {s.name for s in speakers[len(speakers) - config.query_speakers :]}
    (out / "segments").mkdir(parents=True, exist_ok=True)
    (out / "long").mkdir(parents=True, exist_ok=True)
    jobs = []
    for word in words:
        for speaker in speakers:
            for repeat in range(config.repeats):
                name = f"segments/{word}_{speaker.name}_{repeat}.wav"
                jobs.append((name, word, speaker, plan_utterance(word, speaker, rng)))
    rows = []

    def work(job: tuple) -> dict:
        name, word, speaker, utt = job
        write_wav(out / name, render(utt), SAMPLE_RATE)
        return {"path": name, "label": word, "speaker": speaker.name}

    # The first job runs alone: librosa compiles its kernels then, once, not in every thread.
    with ThreadPoolExecutor(max_workers=max(1, config.workers)) as pool:
        for row in itertools.chain([work(jobs[0])], pool.map(work, jobs[1:])):
            rows.append(row)
            if progress:
                progress(1)
        long_rows = []
        archive_voices = [s for s in speakers if s.name not in query_names] or speakers
        for i in range(config.long_recordings):  # never in a query voice: held out from them
            speaker = archive_voices[i % len(archive_voices)]
            long_rows += _make_long(out, i, speaker, words, config, rng, pool)
            if progress:
                progress(1)
    columns = ["path", "label", "speaker"]
    write_csv_atomic(out / "segments.csv", columns, rows)
    write_csv_atomic(
        out / "archive.csv", columns, [r for r in rows if r["speaker"] not in query_names]
    )
    write_csv_atomic(out / "queries.csv", columns, [r for r in rows if r["speaker"] in query_names])
    write_csv_atomic(out / "long.csv", ["path", "start", "end", "label", "speaker"], long_rows)
    return {
        "segments": len(rows),
        "long": config.long_recordings,
        "words": len(words),
        "speakers": len(speakers),
    }
