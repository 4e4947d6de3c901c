"""Do two versions of seqae give the same results? Train, embed, ingest and evaluate with both.

Each version (a git revision, unpacked to a temporary folder, or this working tree: ".") runs
the same commands on the same synthesised corpora in its own process; the model ids (a hash of
the trained weights) of a speech and a sentence autoencoder, the MAP of `seqae eval qbe`, and
the embedded, ingested and sentence vectors and metadata are compared. A restructuring that
moves no figure gives identical ones.

    python bench/same_results.py d7fe27c .
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ["--epochs", "3", "--pretrain-epochs", "2", "--no-resume"]
TEXT = ["--modality", "text", "--epochs", "2", "--hidden", "64", "--dim", "64", "--no-resume"]


def source_tree(revision: str, scratch: Path) -> Path:
    if revision == ".":
        return ROOT
    tree = scratch / f"src-{revision}"
    tree.mkdir()
    command = ["git", "archive", revision]
    archive = subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def seqae(tree: Path, *args: object) -> str:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-m", "seqae", *map(str, args)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{tree}: seqae {' '.join(map(str, args))} failed:\n{done.stderr}")
    return done.stdout


def run_text(tree: Path, corpus: Path, out: Path) -> str:
    """Train a small sentence autoencoder and embed the held-out sentences; its model id."""
    seqae(tree, "train", corpus / "train.csv", "--out", out / "text-run", *TEXT)
    seqae(tree, "embed", out / "text-run", corpus / "heldout.csv", "--out", out / "text-emb")
    return json.loads((out / "text-run" / "metrics.json").read_text())["model_id"]


def run_version(tree: Path, corpus: Path, out: Path) -> dict:
    run = out / "run"
    seqae(tree, "train", corpus / "archive.csv", "--out", run, *TRAIN)
    report = seqae(tree, "eval", "qbe", run, "--queries", corpus / "queries.csv", "--archive",
                   corpus / "archive.csv", "--json")  # fmt: skip
    seqae(tree, "embed", run, corpus / "segments.csv", "--out", out / "emb")
    seqae(tree, "ingest", corpus / "long", "--model", run, "--out", out / "ingest")
    methods = json.loads(report[report.index("{") :])["methods"]
    model_id = json.loads((run / "metrics.json").read_text())["model_id"]
    names = [m["method"].replace(f" {model_id}", "") for m in methods]
    return {
        "model_id": model_id,
        "map": {n: round(m["map"], 6) for n, m in zip(names, methods, strict=True)},
    }


def same_directory(a: Path, b: Path) -> bool:
    sys.path.insert(0, str(ROOT))
    from pipelines.embed.shards import read_embeddings

    x, y = read_embeddings(a), read_embeddings(b)
    return bool(np.array_equal(x.vectors, y.vectors) and x.metadata.equals(y.metadata))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after", nargs="?", default=".")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        corpus = scratch / "corpus"
        seqae(ROOT, "synth", corpus, "--words", 20, "--speakers", 6, "--seed", 0)
        sentences = scratch / "sentences"
        seqae(ROOT, "synth-text", sentences, "--sentences", 400, "--seed", 0)
        results = {}
        for name in (args.before, args.after):
            tree, out = source_tree(name, scratch), scratch / f"out-{name}"
            results[name] = run_version(tree, corpus, out)
            results[name]["text model_id"] = run_text(tree, sentences, out)
        a, b = (scratch / f"out-{n}" for n in (args.before, args.after))
        results["same embeddings"] = same_directory(a / "emb", b / "emb")
        results["same ingested"] = same_directory(a / "ingest", b / "ingest")
        results["same sentence embeddings"] = same_directory(a / "text-emb", b / "text-emb")
        print(json.dumps(results, indent=2))
        same = results[args.before] == results[args.after]
        same = same and all(v for k, v in results.items() if k.startswith("same"))
        print("identical" if same else "DIFFERENT")


if __name__ == "__main__":
    main()
