"""Spoken-term detection in held-out long recordings against isolated-segment search.

Synthesises the demo corpus again (same seed: the same 60 words and 12 voices as `make demo`)
with more and longer recordings: words separated by pauses of 0.25 to 0.7 s, spoken only by
archive voices, so no recording shares a voice with the queries, and never seen in training
(the model learnt from isolated words). Then, with one trained run:

  isolated   `seqae eval qbe RUN --queries queries.csv --archive archive.csv`
  std        `seqae ingest long/ --segment vad|windows`, `seqae index build`,
             `seqae eval std IDX --queries queries.csv --truth long.csv --depth 100000`
             (every segment ranked, as the isolated MAP ranks the whole archive)

and reports each STD MAP as a share of the isolated MAP.

    python bench/std.py --run demo/run --long 16 --words-per-long 40
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


def seqae(*args: object) -> str:
    command = [str(Path(sys.executable).with_name("seqae")), *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def first_json(output: str) -> dict:
    return json.JSONDecoder().raw_decode(output[output.index("{") :])[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("demo/run"))
    parser.add_argument("--long", type=int, default=16)
    parser.add_argument("--words-per-long", type=int, default=40)
    parser.add_argument("--modes", nargs="+", default=["vad", "windows"])
    parser.add_argument(
        "--depth",
        type=int,
        default=100_000,
        help="Hits judged per query; "
        "the default judges every segment, as the isolated MAP ranks all.",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/out/std"))
    args = parser.parse_args()
    corpus = args.out / "corpus"
    if not (corpus / "long.csv").is_file():
        sizes = ["--long", args.long, "--words-per-long", args.words_per_long]
        seqae("synth", corpus, "--words", 60, "--speakers", 12, "--query-speakers", 4,
              "--seed", 0, *sizes)  # fmt: skip
    queries, archive = corpus / "queries.csv", corpus / "archive.csv"
    qbe = first_json(seqae("eval", "qbe", args.run, "--queries", queries, "--archive", archive,
                           "--no-baselines", "--rerank-k", 0, "--no-pairs", "--json"))  # fmt: skip
    isolated = next(m for m in qbe["methods"] if m["method"].startswith("model"))
    report = {"command": sys.argv, "run": str(args.run), "isolated": isolated, "std": {}}
    print(json.dumps({"isolated": isolated}), flush=True)
    for mode in args.modes:
        emb, idx = args.out / f"emb-{mode}", args.out / f"index-{mode}"
        shutil.rmtree(emb, ignore_errors=True)  # ingest from scratch, with today's settings
        started = time.perf_counter()
        seqae("ingest", corpus / "long", "--model", args.run, "--out", emb, "--segment", mode)
        seqae("index", "build", emb, "--out", idx, "--overwrite")
        built = time.perf_counter() - started
        std = first_json(seqae("eval", "std", idx, "--queries", queries, "--truth",
                               corpus / "long.csv", "--depth", args.depth, "--json"))  # fmt: skip
        std["share_of_isolated_map"] = round(std["map"] / isolated["map"], 3)
        std["ingest_and_index_s"] = round(built, 1)
        report["std"][mode] = std
        print(json.dumps({mode: std}), flush=True)
    report["load_average_end"] = os.getloadavg()
    (args.out / "report.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
