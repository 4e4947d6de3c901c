"""Archive work: several examples per query, term discovery, term-weighted value, detect.

On the demo (`make demo`'s DEMO folder: its run, corpus, embeddings and long-recording index)
and on FSDD (the default model of `bench/real.py`, trained here or reused):

  several     `seqae eval qbe --examples`: MAP with 1..N clips of one term per query, fused by
              the mean and by the max, beside DTW and downsampling fused the same way
  discover    `seqae discover` over the archive's embeddings (labels from the manifest) and,
              on the demo, over the long-recording index (labels from the true times):
              purity, coverage, NMI
  std         `seqae eval std` on the demo's long recordings: MAP, MTWV, ATWV (per clip, and
              with each word's clips fused into one term)
  detect      `seqae detect` on the demo's long recordings, every format, and its time

on the 16 long recordings of `bench/std.py --modes vad` (std16: eval std and discover), and
on fsdd-long (bench/real.py's long recordings of the FSDD archive speakers, its model
trained on them alone with --segment vad, trained here or reused): `seqae eval std` (MTWV,
ATWV) with the FSDD query speakers' clips, and `seqae discover` over its index against the
true times.

    python bench/std.py --run demo/run --modes vad     # for std16
    python bench/archives.py --demo demo --parts demo,fsdd,fsdd-long,std16
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real import make_fsdd, make_fsdd_long, seqae, train  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("csv", "jsonl", "eaf", "textgrid", "vtt", "audacity", "stdlist")


def several(run: Path, queries: Path, archive: Path, sizes: str) -> list[dict]:
    output = seqae(
        "eval", "qbe", run, "--queries", queries, "--archive", archive, "--no-pairs",
        "--rerank-k", "0", "--examples", sizes, "--json",
    )  # fmt: skip
    return json.loads(output[output.index("{") :])["several"]


def discover(source: Path, out: Path, *extra) -> dict:
    started = time.perf_counter()
    seqae("discover", source, "--out", out, *extra)
    record = json.loads((out / "discover.json").read_text())
    record["seconds"] = round(time.perf_counter() - started, 1)
    record.pop("clusters")
    return record


def std(index: Path, queries: Path, truth: Path, *extra) -> dict:
    output = seqae(
        "eval", "std", index, "--queries", queries, "--truth", truth, "--depth", "100000",
        "--json", *extra,
    )  # fmt: skip
    return json.loads(output)


def detect(index: Path, terms: Path, out: Path) -> dict:
    started = time.perf_counter()
    formats = [a for f in FORMATS for a in ("--format", f)]
    seqae("detect", index, "--terms", terms, "--out", out, "--limit", "20", *formats)
    record = json.loads((out / "detect.json").read_text())
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "terms": len(record["terms"]),
        "hits": sum(t["hits"] for t in record["terms"].values()),
        "files": sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=ROOT / "demo")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "archives")
    parser.add_argument("--real", type=Path, default=ROOT / "bench" / "out" / "real")
    parser.add_argument("--skip-fsdd", action="store_true")
    parser.add_argument("--parts", default="demo,fsdd,fsdd-long,std16")
    parser.add_argument(
        "--std", type=Path, default=ROOT / "bench" / "out" / "std",
        help="output of 'bench/std.py --modes vad' (16 long recordings), for the std16 part",
    )  # fmt: skip
    args = parser.parse_args()
    out, demo, parts = args.out, args.demo, args.parts.split(",")
    out.mkdir(parents=True, exist_ok=True)
    saved = out / "results.json"
    results: dict = json.loads(saved.read_text()) if saved.is_file() else {}
    corpus = demo / "corpus"
    if "demo" in parts:
        queries, truth, long_index = (
            corpus / "queries.csv",
            corpus / "long.csv",
            demo / "long-index",
        )
        results["demo"] = {
            "several": several(demo / "run", queries, corpus / "archive.csv", "1,2,3,4"),
            "discover": discover(demo / "embeddings", out / "demo-discover"),
            "discover_long": discover(long_index, out / "demo-discover-long", "--truth", truth),
            "std": std(long_index, queries, truth),
            "std_fused": std(long_index, queries, truth, "--fuse"),
            "detect": detect(long_index, queries, out / "demo-detect"),
        }
        saved.write_text(json.dumps(results, indent=2, default=str))
    fsdd = make_fsdd(args.real)["fsdd"]
    if "fsdd" in parts:
        run = args.real / "runs" / "fsdd-default"
        trained = train(fsdd / "archive.csv", run, [], reuse=True)
        seqae("embed", run, fsdd / "archive.csv", "--out", out / "fsdd-embeddings")
        results["fsdd"] = {
            "train_command_s": trained["train_command_s"],
            "several": several(run, fsdd / "queries.csv", fsdd / "archive.csv", "1,3,5"),
            "discover": discover(out / "fsdd-embeddings", out / "fsdd-discover"),
        }
        saved.write_text(json.dumps(results, indent=2, default=str))
    if "fsdd-long" in parts:
        folder = make_fsdd_long(args.real)
        run = args.real / "runs" / "fsdd-long-default"
        trained = train(folder / "long", run, ["--segment", "vad"], reuse=True)
        emb, idx = run / "long-emb", run / "long-idx"
        if not (idx / "index.json").is_file():
            seqae("ingest", folder / "long", "--model", run, "--out", emb)
            seqae("index", "build", emb, "--out", idx)
        truth = folder / "truth.csv"
        results["fsdd-long"] = {
            "train_command_s": trained["train_command_s"],
            "std": std(idx, fsdd / "queries.csv", truth),
            "std_fused": std(idx, fsdd / "queries.csv", truth, "--fuse"),
            "discover": discover(idx, out / "fsdd-long-discover", "--truth", truth),
        }
        saved.write_text(json.dumps(results, indent=2, default=str))
    if "std16" in parts:
        corpus16, idx16 = args.std / "corpus", args.std / "index-vad"
        truth16 = corpus16 / "long.csv"
        results["std16"] = {
            "std": std(idx16, corpus16 / "queries.csv", truth16),
            "std_fused": std(idx16, corpus16 / "queries.csv", truth16, "--fuse"),
            "discover": discover(idx16, out / "std16-discover", "--truth", truth16),
        }
        saved.write_text(json.dumps(results, indent=2, default=str))
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
