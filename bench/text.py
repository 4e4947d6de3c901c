"""Sentence autoencoder on the demo text: reconstruction and perturbed-sentence retrieval.

Runs only `seqae` commands (synth-text, train --modality text, embed, index build, search,
eval text), times them, and prints Markdown rows for docs/benchmarks.md. The held-out
sentences (at most 20 words) never occur in the training part.

    python bench/text.py
    python bench/text.py --name bpe --train-args "--tokens bpe --vocab-size 4000"
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_TRAIN = "--max-minutes 30"  # the text model's own defaults, 30 minutes of training


THREADS = {}  # OMP_NUM_THREADS for every command, when --threads is given


def seqae(*args: object) -> str:
    command = [sys.executable, "-m", "seqae", *map(str, args)]
    print("$ seqae", " ".join(map(str, args)), file=sys.stderr, flush=True)
    environment = {**os.environ, **THREADS}
    return subprocess.run(
        command, check=True, stdout=subprocess.PIPE, text=True, env=environment
    ).stdout


def load() -> str:
    """The machine's load averages (1, 5, 15 minutes) and core count, as text."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} cores"


def run(args: argparse.Namespace) -> dict:
    corpus, out = args.out / "corpus", args.out / f"run-{args.name}"
    if not (corpus / "heldout.csv").is_file():
        seqae("synth-text", corpus, "--max-words", 20, "--seed", args.seed)
    before = load()
    started = time.perf_counter()
    seqae("train", corpus / "train.csv", "--modality", "text", "--out", out, "--no-resume",
          "--seed", args.seed, *shlex.split(args.train_args))  # fmt: skip
    train_seconds = time.perf_counter() - started
    after = load()
    seqae("embed", out, corpus / "train.csv", "--out", out / "emb")
    seqae("index", "build", out / "emb", "--out", out / "idx", "--overwrite")
    query = "And God said unto Moses, Go down to the people."
    hits = seqae("search", out / "idx", "--text", query, "-k", 3, "--json")
    report = {}
    for decoding, beam in (("greedy", 1), *((("beam", args.beam),) if args.beam > 1 else ())):
        report[decoding] = json.loads(
            seqae(
                "eval", "text", out, "--corpus", corpus / "heldout.csv", "--beam", beam, "--json"
            )  # fmt: skip
        )
    metrics = json.loads((out / "metrics.json").read_text())
    return {
        "train_args": args.train_args,
        "train_command_s": train_seconds,
        "metrics": metrics,
        "load_before": before,
        "load_after": after,
        "search": [json.loads(line) for line in hits.splitlines()],
        **report,
    }


def markdown(result: dict) -> str:
    rows = []
    for decoding in ("greedy", "beam"):
        if decoding not in result:
            continue
        r = result[decoding]
        model, tfidf = r["retrieval"]
        rows.append(
            f"| {r['decoding']} | {r['sentences']} | {r['token_accuracy']:.3f} | "
            f"{r['exact_match']:.3f} | {r['bleu']:.3f} | {model['recall_at_1']:.3f} | "
            f"{model['recall_at_10']:.3f} | {tfidf['recall_at_1']:.3f} | "
            f"{tfidf['recall_at_10']:.3f} |"
        )
    return "\n".join(rows)


HEADER = (
    "| decoding | held-out sentences | token accuracy | exact match | BLEU | model R@1 | "
    "model R@10 | TF-IDF R@1 | TF-IDF R@10 |\n|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--beam", type=int, default=5, help="also decode with this beam width")
    parser.add_argument("--train-args", default=DEFAULT_TRAIN, help="'seqae train' options")
    parser.add_argument("--out", type=Path, default=Path("bench/out/text"))
    parser.add_argument(
        "--threads", type=int, default=0, help="CPU threads of every command (0: torch's choice)"
    )
    args = parser.parse_args()
    if args.threads:
        THREADS["OMP_NUM_THREADS"] = str(args.threads)
    result = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"result-{args.name}.json").write_text(json.dumps(result, indent=2, default=str))
    metrics = result["metrics"]
    print(
        f"training: {result['train_command_s']:.0f} s for the whole command, "
        f"{metrics['seconds']:.0f} s of fitting, {metrics['epochs']} epochs, "
        f"{metrics['train_sentences']} sentences, vocabulary {metrics['vocab_size']} "
        f"({metrics['unknown_share']:.2%} unknown); {result['load_before']} before, "
        f"{result['load_after']} after\n"
    )
    print(HEADER)
    print(markdown(result))


if __name__ == "__main__":
    main()
