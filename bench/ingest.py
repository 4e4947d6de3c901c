"""Ingestion speed and memory on long recordings: `seqae ingest` in `vad` mode.

Builds (once, seeded) an archive of long recordings made of the demo corpus's spoken words:
words picked at random among all 720 clips (60 words x 12 voices), each followed by a pause of
0.15 to 0.8 s, over a faint noise floor (-60 dBFS), written as 16 kHz 16-bit WAV files of one
hour each. Then runs `seqae ingest` on 1 hour and on 10 hours in a fresh process and records
the wall time, audio hours per second and the peak resident memory of the whole process tree
(the main process and its workers, sampled every 0.1 s).

    python bench/ingest.py --run demo/run --corpus demo/corpus --hours 1 10 --workers 2
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 16000
PAUSE = (0.15, 0.8)  # seconds of silence after each word
NOISE_DBFS = -60.0


def load_clips(corpus: Path) -> list[np.ndarray]:
    """Every segment clip of the corpus as 16 kHz float32."""
    import librosa

    with open(corpus / "segments.csv", newline="") as handle:
        paths = [corpus / row["path"] for row in csv.DictReader(handle)]
    return [librosa.load(str(p), sr=RATE)[0].astype(np.float32) for p in paths]


def write_recording(path: Path, clips: list[np.ndarray], seconds: float, seed: int) -> None:
    """One long WAV of random words and pauses, written a minute at a time."""
    rng = np.random.default_rng(seed)
    noise = 10 ** (NOISE_DBFS / 20)
    total, pending = int(seconds * RATE), []
    tmp = path.with_suffix(".part.wav")
    with sf.SoundFile(str(tmp), "w", RATE, 1, subtype="PCM_16") as out:
        written = 0
        while written < total:
            clip = clips[rng.integers(len(clips))]
            pause = np.zeros(int(rng.uniform(*PAUSE) * RATE), dtype=np.float32)
            pending += [clip, pause]
            if sum(len(p) for p in pending) >= 60 * RATE or written + 60 * RATE >= total:
                block = np.concatenate(pending)[: total - written]
                block = block + noise * rng.standard_normal(len(block)).astype(np.float32)
                out.write(np.clip(block, -1, 1))
                written += len(block)
                pending = []
    tmp.replace(path)


def make_archive(corpus: Path, folder: Path, hours: int) -> Path:
    """``folder`` holding ``hours`` one-hour recordings (made once, reused)."""
    folder.mkdir(parents=True, exist_ok=True)
    missing = [h for h in range(hours) if not (folder / f"hour-{h:03d}.wav").is_file()]
    if missing:
        clips = load_clips(corpus)
        for h in missing:
            write_recording(folder / f"hour-{h:03d}.wav", clips, 3600.0, seed=h)
    return folder


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, MB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += rss.get(current, 0)
        todo += children.get(current, [])
    return total / 1e6


def run_ingest(seqae: str, audio: Path, run: Path, out: Path, options: list[str]) -> dict:
    """Time one `seqae ingest` and sample its process tree's memory."""
    shutil.rmtree(out, ignore_errors=True)
    command = [seqae, "ingest", str(audio), "--model", str(run), "--out", str(out), *options]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, tree_rss_mb(process.pid))
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode()[-2000:]}")
    info = json.loads((out / "embeddings.json").read_text())
    audio_seconds = sum(sf.info(str(p)).duration for p in audio.glob("*.wav"))
    return {
        "command": " ".join(command),
        "audio_hours": round(audio_seconds / 3600, 2),
        "segments": info["count"],
        "wall_s": round(seconds, 1),
        "times_real_time": round(audio_seconds / seconds, 1),
        "peak_rss_mb": round(peak, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("demo/run"))
    parser.add_argument("--corpus", type=Path, default=Path("demo/corpus"))
    parser.add_argument("--hours", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--options", default="", help="More `seqae ingest` options.")
    parser.add_argument("--out", type=Path, default=Path("bench/out/ingest"))
    args = parser.parse_args()
    seqae = str(Path(sys.executable).with_name("seqae"))
    archive = make_archive(args.corpus, args.out / "audio", max(args.hours))
    results = []
    for hours in args.hours:
        subset = args.out / f"audio-{hours}h"  # links to the first `hours` recordings
        shutil.rmtree(subset, ignore_errors=True)
        subset.mkdir(parents=True)
        for h in range(hours):
            (subset / f"hour-{h:03d}.wav").symlink_to((archive / f"hour-{h:03d}.wav").resolve())
        options = ["--workers", str(args.workers), *args.options.split()]
        result = run_ingest(seqae, subset, args.run, args.out / f"emb-{hours}h", options)
        results.append(result)
        print(json.dumps(result), flush=True)
    machine = {"cores": os.cpu_count(), "load_average_end": os.getloadavg()}
    report = {"command": sys.argv, "machine": machine, "results": results}
    (args.out / "report.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
