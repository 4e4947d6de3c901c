"""Query-by-example on a synthesised corpus: one training setting beside the baselines.

Runs only `seqae` commands (synth, train, embed, eval qbe), times them, and prints Markdown
rows for docs/benchmarks.md. Queries come from voices absent from the archive.

    python bench/qbe.py --words 150 --speakers 14 --seed 1
    python bench/qbe.py --seed 1 --name gru-ae --train-args "--objective ae"
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path


def seqae(*args: object) -> str:
    command = [sys.executable, "-m", "seqae", *map(str, args)]
    print("$ seqae", " ".join(map(str, args)), file=sys.stderr, flush=True)
    return subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout


def make_corpus(args: argparse.Namespace) -> Path:
    corpus = args.out / f"corpus-{args.seed}"
    if not (corpus / "archive.csv").is_file():
        seqae(
            "synth", corpus, "--words", args.words, "--speakers", args.speakers,
            "--query-speakers", args.query_speakers, "--seed", args.seed,
        )  # fmt: skip
    return corpus


def run_setting(
    corpus: Path, run: Path, train_args: list[str], baselines: bool, rerank_k: int = 30
) -> dict:
    """Train with ``train_args``, embed the archive, evaluate; returns the timings and scores."""
    started = time.perf_counter()
    seqae("train", corpus / "archive.csv", "--out", run, "--no-resume", *train_args)
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    seqae("embed", run, corpus / "archive.csv", "--out", run / "emb")
    embed_seconds = time.perf_counter() - started
    report = json.loads(
        seqae(
            "eval",
            "qbe",
            run,
            "--queries",
            corpus / "queries.csv",
            "--archive",
            corpus / "archive.csv",
            "--rerank-k",
            rerank_k,
            "--json",
            *([] if baselines else ["--no-baselines"]),
        )  # fmt: skip
    )
    metrics = json.loads((run / "metrics.json").read_text())
    config = json.loads((run / "config.json").read_text())
    return {
        "learning_rate": config["train"]["learning_rate"],
        "train_args": train_args,
        "train_command_s": train_seconds,
        "train_fit_s": metrics["seconds"],
        "embed_command_s": embed_seconds,
        "embed_s_per_segment": json.loads((run / "emb" / "embeddings.json").read_text())["seconds"]
        / report["archive"],
        "epochs": metrics["epochs"],
        "pairs": metrics.get("pairs"),
        **report,
    }


def markdown(result: dict, dtw_map: float) -> str:
    rows = []
    for m in result["methods"]:
        pairs = (
            f"{m['same_different_ap']:.3f} | {m['equal_error_rate']:.3f}"
            if m["same_different_ap"] is not None
            else "- | -"
        )
        rows.append(
            f"| {m['method']} | {m['map']:.3f} | {m['map_at_r']:.3f} | "
            f"{m['precision_at_10']:.3f} | {m['map'] / dtw_map:.2f} | {pairs} | "
            f"{m['seconds_per_query']:.4f} |"
        )
    return "\n".join(rows)


HEADER = (
    "| method | MAP | MAP@R | P@10 | MAP / DTW's | same-diff AP | EER | s per query |\n"
    "|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=150)
    parser.add_argument("--speakers", type=int, default=14)
    parser.add_argument("--query-speakers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--name", default="default")
    parser.add_argument("--train-args", default="", help="extra 'seqae train' options")
    parser.add_argument("--out", type=Path, default=Path("bench/out/qbe"))
    args = parser.parse_args()
    corpus = make_corpus(args)
    run = args.out / f"run-{args.seed}-{args.name}"
    result = run_setting(corpus, run, shlex.split(args.train_args), baselines=True)
    result["corpus"] = vars(args) | {"out": str(args.out)}
    out = args.out / f"result-{args.seed}-{args.name}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    dtw = next(m["map"] for m in result["methods"] if m["method"] == "DTW")
    print(
        f"archive {result['archive']} segments; training {result['train_command_s']:.0f} s "
        f"({result['epochs']} epochs); pairs {result['pairs']}\n"
    )
    print(HEADER)
    print(markdown(result, dtw))


if __name__ == "__main__":
    main()
