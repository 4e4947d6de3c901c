"""Live detection latency and accuracy: `seqae listen` on recordings played at real speed.

Terms are enrolled as an index of the query voices' clips (`seqae embed` + `seqae index build`
of queries.csv: 60 words x 4 voices); the streams are held-out long recordings of the
spoken-term detection benchmark (bench/std.py: archive voices only, so no stream shares a voice
with an enrolled clip). Each recording is played at real speed (`--input FILE`, paced block by
block) and every printed detection is matched with the true words:

  latency     wall time from the true end of the word to the printed detection (the stream
              starts at wall time 0, so a word ending at t s of audio has ended at t s)
  correct     the detection overlaps a true word with the same label
  per hour    detections that are not correct, per hour of audio (false alarms)

    python bench/listen.py --run demo/run --corpus bench/out/std/corpus --recordings 3
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf


def seqae(*args: object) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).with_name("seqae")), *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return result


def score(detections: list[dict], truth: list[dict]) -> dict:
    """Match detections with true words (overlap and same label)."""
    latencies, correct = [], 0
    for found in detections:
        match = [t for t in truth if t["label"] == found["label"]
                 and min(found["end"], t["end"]) > max(found["start"], t["start"])]  # fmt: skip
        if match:
            correct += 1
            latencies.append(found["at"] - match[0]["end"])
    return {"detections": len(detections), "correct": correct, "latencies": latencies}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("demo/run"))
    parser.add_argument("--corpus", type=Path, default=Path("bench/out/std/corpus"))
    parser.add_argument("--recordings", type=int, default=3)
    parser.add_argument("--threshold", type=float, default=0.6)
    parser.add_argument("--out", type=Path, default=Path("bench/out/listen"))
    args = parser.parse_args()
    terms = args.out / "terms"
    if not (terms / "index.json").is_file():
        seqae("embed", args.run, args.corpus / "queries.csv", "--out", args.out / "terms-emb")
        seqae("index", "build", args.out / "terms-emb", "--out", terms, "--overwrite")
    with open(args.corpus / "long.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    files = sorted({r["path"] for r in rows})[: args.recordings]
    totals = {"detections": 0, "correct": 0, "words": 0, "latencies": [], "seconds": 0.0}
    for name in files:
        truth = [{"label": r["label"], "start": float(r["start"]), "end": float(r["end"])}
                 for r in rows if r["path"] == name]  # fmt: skip
        result = seqae("listen", terms, "--input", args.corpus / name, "--json",
                       "--threshold", args.threshold)  # fmt: skip
        found = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        scored = score(found, truth)
        for key in ("detections", "correct", "latencies"):
            totals[key] += scored[key]
        totals["words"] += len(truth)
        totals["seconds"] += sf.info(str(args.corpus / name)).duration
        print(json.dumps({"file": name, **scored}), flush=True)
    latency = np.asarray(totals["latencies"])
    hours = totals["seconds"] / 3600
    summary = {
        "command": sys.argv,
        "recordings": len(files),
        "audio_s": round(totals["seconds"], 1),
        "words": totals["words"],
        "detections": totals["detections"],
        "correct": totals["correct"],
        "recall": round(totals["correct"] / totals["words"], 3),
        "false_alarms_per_hour": round((totals["detections"] - totals["correct"]) / hours, 1),
        "latency_median_s": round(float(np.median(latency)), 3),
        "latency_p95_s": round(float(np.percentile(latency, 95)), 3),
        "latency_max_s": round(float(latency.max()), 3),
        "load_average_end": os.getloadavg(),
    }
    print(json.dumps(summary), flush=True)
    (args.out / "report.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
