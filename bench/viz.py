"""Time `seqae viz` on 10,000 segments: PCA and UMAP maps as PNG (the targets: under 60 s and
under 5 minutes), a PCA map as HTML, and a t-SNE map for comparison.

The 10,000 vectors come from a real embedding run: the demo model over 10,000 real segments,
the demo corpus's 720 recorded words (60 words x 12 voices) cycled, each copy after the first
cut at a random start and end (the manifest of bench/search_speed.py, whose embedding
directory is reused when it is there). Each command runs once, as a user runs it, so its time
includes Python's start-up, the imports and numba's compilation for UMAP.

    python bench/viz.py --run demo/run --corpus demo/corpus
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

TARGETS = {"pca": 60.0, "umap": 300.0}  # seconds, for the PNG maps


def embeddings(run: Path, corpus: Path, out: Path, count: int) -> Path:
    """The embedding directory of ``count`` real segments (made once)."""
    from search_speed import make_manifest

    from pipelines.embed.shards import read_info
    from pipelines.embed.speech import embed_archive
    from seqae.bundle import load_bundle

    model_id = load_bundle(run).model_id
    for candidate in (Path("bench/out/search") / f"emb-{model_id}", out / f"emb-{model_id}"):
        if (candidate / "embeddings.json").is_file():
            info = read_info(candidate)
            if info.get("complete") and info["count"] == count:
                return candidate
    out.mkdir(parents=True, exist_ok=True)
    manifest = make_manifest(corpus, out, count, seed=0)
    target = out / f"emb-{model_id}"
    embed_archive(run, manifest, target, store_frames=False)
    return target


def time_viz(source: Path, out: Path, method: str) -> dict:
    command = [sys.executable, "-m", "seqae", "viz", str(source), "--out", str(out)]
    command += ["--method", method, "--sample", "0", "--seed", "0"]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    print(f"{method:5s} {out.suffix[1:]:4s} {seconds:7.1f} s  {result.stdout.strip()}", flush=True)
    return {
        "method": method,
        "format": out.suffix[1:],
        "seconds": round(seconds, 2),
        "target_seconds": TARGETS.get(method) if out.suffix == ".png" else None,
        "bytes": out.stat().st_size,
        "command": "seqae " + " ".join(command[3:]),
        "output": result.stdout.strip(),
    }


def machine() -> dict:
    model = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line),
        platform.processor(),
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "gpu": None,
        "python": platform.python_version(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("demo/run"))
    parser.add_argument("--corpus", type=Path, default=Path("demo/corpus"))
    parser.add_argument("--out", type=Path, default=Path("bench/out/viz"))
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--no-tsne", action="store_true", help="Skip the t-SNE map.")
    args = parser.parse_args()
    host = machine()  # its load average before this script's own work
    source = embeddings(args.run, args.corpus, args.out, args.count)
    print(f"{args.count} vectors in {source}", flush=True)
    runs = [("pca", ".png"), ("pca", ".html"), ("umap", ".png")]
    runs += [] if args.no_tsne else [("tsne", ".png")]
    results = [time_viz(source, args.out / f"map-{m}{suffix}", m) for m, suffix in runs]
    report = {"vectors": args.count, "source": str(source), "machine": host, "runs": results}
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    over = [r for r in results if r["target_seconds"] and r["seconds"] > r["target_seconds"]]
    for r in over:
        print(f"over target: {r['method']} {r['seconds']} s > {r['target_seconds']} s")
    print(f"report -> {args.out / 'report.json'}")
    sys.exit(1 if over else 0)


if __name__ == "__main__":
    main()
