"""Training speed on 1,500 one-second real clips: where the time goes, threads, two at once.

The clips are bench/real.py's fsdd-loose takes of the archive speakers (each FSDD take at a
random point of a clip of at least one second, with a noise floor). Modes:

  epochs    a few denoising epochs per setup of torch threads and loader workers (--setups)
  pair      two `seqae train` processes started side by side, each timed, against one alone
  default   the whole default `seqae train` (both stages, pair discovery), timed

    python bench/train_speed.py --modes epochs,pair,default
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "speed"
SEQAE = str(Path(sys.executable).with_name("seqae"))


def clips(count: int, seed: int = 0) -> Path:
    """A manifest of ``count`` fsdd-loose archive clips (made by bench/real.py if needed)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import real

    source = real.make_fsdd_loose(ROOT / "bench" / "out" / "real")["fsdd-loose"]
    with open(source / "archive.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    chosen = sorted(np.random.default_rng(seed).choice(len(rows), count, replace=False))
    manifest = OUT / f"clips-{count}.csv"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[i] for i in chosen)
    return manifest


def train_command(manifest: Path, run: Path, *args: object) -> list[str]:
    return [SEQAE, "train", str(manifest), "--out", str(run), "--no-resume", *map(str, args)]


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def fit_seconds(run: Path) -> dict:
    metrics = json.loads((run / "metrics.json").read_text())
    return {"fit_s": metrics["seconds"], "epochs": metrics["epochs"] + 1}


def epochs_mode(manifest: Path, args) -> list[dict]:
    """A few denoising epochs per setup "THREADS:LOADER_WORKERS"."""
    rows = []
    for setup in args.setups:
        threads, workers = setup.split(":")
        run = OUT / f"epochs-t{threads}-w{workers}"
        extra = ["--objective", "dae", "--epochs", args.epochs, "--patience", 100]
        command = train_command(manifest, run, *extra, "--threads", threads,
                                "--loader-workers", workers)  # fmt: skip
        seconds = timed(command)
        fit = fit_seconds(run)
        per_epoch = fit["fit_s"] / fit["epochs"]
        rows.append({"mode": "epochs", "threads": int(threads), "loader_workers": int(workers),
                     "command_s": seconds, **fit, "s_per_epoch": per_epoch})  # fmt: skip
    return rows


def pair_mode(manifest: Path, args) -> list[dict]:
    extra = ["--objective", "dae", "--epochs", args.epochs, "--patience", 100]
    extra += args.pair_args.split()
    alone = OUT / "pair-alone"
    alone_s = timed(train_command(manifest, alone, *extra))
    runs = [OUT / f"pair-{n}" for n in (0, 1)]
    started = time.perf_counter()
    jobs = [
        subprocess.Popen(train_command(manifest, run, *extra, "--seed", n),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for n, run in enumerate(runs)
    ]  # fmt: skip
    ends = []
    for job in jobs:
        job.wait()
        ends.append(time.perf_counter() - started)
    fits = [fit_seconds(run)["fit_s"] for run in runs]
    alone_fit = fit_seconds(alone)["fit_s"]
    return [{"mode": "pair", "args": args.pair_args, "alone_command_s": alone_s,
             "alone_fit_s": alone_fit, "side_by_side_command_s": ends,
             "side_by_side_fit_s": fits, "slowdown": [f / alone_fit for f in fits]}]  # fmt: skip


def default_mode(manifest: Path, args) -> list[dict]:
    run = OUT / "default"
    seconds = timed(train_command(manifest, run, *args.default_args.split()))
    metrics = json.loads((run / "metrics.json").read_text())
    return [{"mode": "default", "command_s": seconds, "fit_s": metrics["seconds"],
             "pretrain_s": metrics.get("pretrain_seconds"), "epochs": metrics["epochs"],
             "pairs": metrics.get("pairs")}]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1500)
    parser.add_argument("--modes", default="epochs,pair,default")
    parser.add_argument(
        "--setups", nargs="+", default=["2:0", "1:0", "1:1"], help="THREADS:LOADER_WORKERS"
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--default-args", default="", help="options for the default mode")
    parser.add_argument("--pair-args", default="", help="options for both runs of pair mode")
    args = parser.parse_args()
    manifest = clips(args.clips)
    modes = {"epochs": epochs_mode, "pair": pair_mode, "default": default_mode}
    for mode in args.modes.split(","):
        for row in modes[mode](manifest, args):
            print(json.dumps(row, default=str), flush=True)
            with open(OUT / "results.jsonl", "a") as handle:
                handle.write(json.dumps(row, default=str) + "\n")


if __name__ == "__main__":
    main()
