"""Query-by-example on a synthesised corpus: the model with default settings beside the baselines.

Runs only `seqae` commands (synth, train, eval qbe), times them, and prints a Markdown row
set for docs/benchmarks.md. Queries come from voices absent from the archive.

    python bench/qbe.py --words 100 --speakers 14 --seed 1
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def seqae(*args: object) -> str:
    command = [sys.executable, "-m", "seqae", *map(str, args)]
    print("$ seqae", " ".join(map(str, args)), file=sys.stderr, flush=True)
    return subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=150)
    parser.add_argument("--speakers", type=int, default=14)
    parser.add_argument("--query-speakers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=None, help="default: seqae train's default")
    parser.add_argument("--out", type=Path, default=Path("bench/out/qbe"))
    args = parser.parse_args()
    corpus, run = args.out / f"corpus-{args.seed}", args.out / f"run-{args.seed}"
    if not (corpus / "archive.csv").is_file():
        seqae(
            "synth",
            corpus,
            "--words",
            args.words,
            "--speakers",
            args.speakers,
            "--query-speakers",
            args.query_speakers,
            "--seed",
            args.seed,
        )
    extra = ["--epochs", args.epochs] if args.epochs else []
    started = time.perf_counter()
    seqae("train", corpus / "archive.csv", "--out", run, "--no-resume", *extra)
    train_seconds = time.perf_counter() - started
    report = json.loads(
        seqae(
            "eval",
            "qbe",
            run,
            "--queries",
            corpus / "queries.csv",
            "--archive",
            corpus / "archive.csv",
            "--json",
        )
    )
    metrics = json.loads((run / "metrics.json").read_text())
    result = {
        "corpus": vars(args) | {"out": str(args.out)},
        "train_command_s": train_seconds,
        "train_fit_s": metrics["seconds"],
        "epochs": metrics["epochs"],
        **report,
    }
    (args.out / f"result-{args.seed}.json").write_text(json.dumps(result, indent=2, default=str))
    dtw = next(m["map"] for m in report["methods"] if m["method"] == "DTW")
    print(
        f"archive {report['archive']} segments; training {train_seconds:.0f} s "
        f"({metrics['epochs']} epochs)\n"
    )
    print("| method | MAP | P@10 | MAP / DTW's | s per query |\n|---|---|---|---|---|")
    for m in report["methods"]:
        print(
            f"| {m['method']} | {m['map']:.3f} | {m['precision_at_10']:.3f} | "
            f"{m['map'] / dtw:.2f} | {m['seconds_per_query']:.4f} |"
        )


if __name__ == "__main__":
    main()
