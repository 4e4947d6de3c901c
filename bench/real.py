"""Query-by-example on real human speech: FSDD and Debian's Asterisk voice prompts.

Corpora (queries always come from speakers the model never heard; no labels in training):

  fsdd        the Free Spoken Digit Dataset (../shared/data/fsdd): queries from 2 speakers,
              the archive from the other 4 (8 kHz, clips cut tightly around each digit)
  fsdd-loose  the same takes, each placed at a random point of a longer clip (at least 1 s)
              with a noise floor and a random level: clips cut loosely, as archives have them
  asterisk    `seqae prompts` (two voices per language, Italian, French, Spanish): queries
              in one voice, the archive in the other; one model on the archive of all three
              languages, scored per language and on all of them together
  fsdd-long   long recordings of the archive speakers' takes with pauses and a noise floor:
              a model trained on them alone (`seqae train DIR --segment vad`), `seqae ingest`,
              `seqae eval std` with the query speakers' clips, and isolated-word MAP beside it

For each corpus, `seqae train` on the archive side (with --train-args), then `seqae eval qbe`
(model, model + DTW re-rank, DTW and downsampling); the JSON results go to OUT and a Markdown
table is printed.

    python bench/real.py --corpora fsdd,asterisk --name default
    python bench/real.py --corpora fsdd-loose --name no-trim --train-args "--no-trim"
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FSDD = ROOT.parent / "shared" / "data" / "fsdd"
QUERY_SPEAKERS = ("george", "jackson")
LANGUAGES = ("it", "fr", "es", "all")


def seqae(*args: object, capture: bool = True) -> str:
    command = [str(Path(sys.executable).with_name("seqae")), *map(str, args)]
    print("$ seqae", " ".join(map(str, args)), file=sys.stderr, flush=True)
    result = subprocess.run(command, stdout=subprocess.PIPE if capture else None, text=True)
    if result.returncode != 0:
        raise SystemExit(f"seqae {' '.join(map(str, args))} failed ({result.returncode})")
    return result.stdout or ""


def _write_manifest(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def fsdd_rows() -> list[dict[str, str]]:
    if not (FSDD / "segments.csv").is_file():
        raise SystemExit(f"{FSDD}: the FSDD benchmark data is not here")
    with open(FSDD / "segments.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [{**row, "path": str(FSDD / row["path"])} for row in rows]


def split(rows: list[dict[str, str]], out: Path) -> Path:
    """archive.csv (4 speakers) and queries.csv (QUERY_SPEAKERS) under ``out``."""
    _write_manifest(out / "archive.csv", [r for r in rows if r["speaker"] not in QUERY_SPEAKERS])
    _write_manifest(out / "queries.csv", [r for r in rows if r["speaker"] in QUERY_SPEAKERS])
    return out


def make_fsdd(out: Path) -> dict[str, Path]:
    return {"fsdd": split(fsdd_rows(), out / "fsdd")}


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Pink-ish noise: white noise through a one-pole low-pass, unit peak."""
    white = rng.standard_normal(n)
    from scipy.signal import lfilter

    pink = lfilter([1.0], [1.0, -0.95], white)
    return pink / np.max(np.abs(pink))


def make_fsdd_loose(out: Path, seed: int = 0) -> dict[str, Path]:
    """Each FSDD take at a random offset in a clip of max(1 s, take + 0.4 s), with a noise
    floor 25-40 dB under the take's peak and a level change of up to 12 dB."""
    import soundfile as sf

    folder = out / "fsdd-loose"
    rng = np.random.default_rng(seed)
    rows = []
    for row in fsdd_rows():
        audio, rate = sf.read(row["path"], dtype="float32")
        target = folder / "wav" / Path(row["path"]).name
        length = max(rate, len(audio) + int(0.4 * rate))
        offset = int(rng.integers(0, length - len(audio) + 1))
        snr_db, gain_db = rng.uniform(25, 40), rng.uniform(-12, 0)
        clip = _noise(rng, length) * np.max(np.abs(audio)) * 10 ** (-snr_db / 20)
        clip[offset : offset + len(audio)] += audio
        clip *= 10 ** (gain_db / 20) * 0.9 / max(1e-6, np.max(np.abs(clip)))
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            sf.write(target, clip.astype(np.float32), rate, subtype="PCM_16")
        rows.append({**row, "path": str(target)})
    return {"fsdd-loose": split(rows, folder)}


def make_asterisk(out: Path) -> dict[str, Path]:
    folder = out / "asterisk"
    if not (folder / "all" / "archive.csv").is_file():
        seqae("prompts", folder)
    return {f"asterisk-{lang}": folder / lang for lang in LANGUAGES}


def make_fsdd_long(out: Path, seed: int = 0, per_recording: int = 25) -> Path:
    """Long recordings of the 4 archive speakers' FSDD takes (25 takes each, 0.3-1.0 s
    pauses, a noise floor 30-45 dB under the speech) and their true times (truth.csv)."""
    import soundfile as sf

    folder = out / "fsdd-long"
    if (folder / "truth.csv").is_file():
        return folder
    rng = np.random.default_rng(seed)
    takes = [r for r in fsdd_rows() if r["speaker"] not in QUERY_SPEAKERS]
    truth = []
    for speaker in sorted({r["speaker"] for r in takes}):
        mine = [takes[i] for i in rng.permutation(len(takes)) if takes[i]["speaker"] == speaker]
        for number, first in enumerate(range(0, len(mine), per_recording)):
            path = folder / "long" / f"{speaker}-{number:02d}.wav"
            pieces, cursor, rate = [], 0, 8000
            for row in mine[first : first + per_recording]:
                audio, rate = sf.read(row["path"], dtype="float32")
                pause = np.zeros(int(rng.uniform(0.3, 1.0) * rate), np.float32)
                pieces += [pause, audio]
                start = cursor + len(pause)
                cursor = start + len(audio)
                truth.append({"path": str(path), "start": f"{start / rate:.4f}",
                              "end": f"{cursor / rate:.4f}", "label": row["label"],
                              "speaker": speaker})  # fmt: skip
            speech = np.concatenate(pieces + [np.zeros(int(0.5 * rate), np.float32)])
            floor = _noise(rng, len(speech)) * 10 ** (-rng.uniform(30, 45) / 20)
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, (speech + floor * np.max(np.abs(speech))) * 0.9, rate, "PCM_16")
    _write_manifest(folder / "truth.csv", truth)
    return folder


def run_long(args) -> list[str]:
    """Train on the long recordings alone (--segment vad), ingest them, score spoken-term
    detection with the FSDD query speakers' clips, and isolated-word search beside it."""
    folder, fsdd = make_fsdd_long(args.out), make_fsdd(args.out)["fsdd"]
    run = args.out / "runs" / f"fsdd-long-{args.name}"
    trained = train(folder / "long", run, ["--segment", "vad", *shlex.split(args.train_args)],
                    args.reuse)  # fmt: skip
    emb, idx = run / "long-emb", run / "long-idx"
    if not (idx / "index.json").is_file():
        seqae("ingest", folder / "long", "--model", run, "--out", emb)
        seqae("index", "build", emb, "--out", idx)
    output = seqae("eval", "std", idx, "--queries", fsdd / "queries.csv", "--truth",
                   folder / "truth.csv", "--depth", 100000, "--json")  # fmt: skip
    std = json.loads(output[output.index("{") :])
    isolated = evaluate(run, fsdd, False, ["--rerank-k", "0"])["methods"][0]
    record = {"corpus": "fsdd-long", "name": args.name, **trained, "std": std,
              "isolated": isolated}  # fmt: skip
    (args.out / "results").mkdir(parents=True, exist_ok=True)
    (args.out / "results" / f"fsdd-long-{args.name}.json").write_text(json.dumps(record, indent=2))
    return [
        f"<!-- fsdd-long {args.name}: trained {trained['train_command_s']:.0f} s on the speech "
        f"regions of {folder / 'long'} -->",
        f"| fsdd-long | {args.name}: spoken-term detection (ingest, eval std) | {std['map']:.3f} | "
        f"{std['precision_at_10']:.3f} | - | {std['seconds_per_query']:.4f} | "
        f"{trained['train_command_s']:.0f} |",
        f"| fsdd | {args.name}, same model: isolated words (eval qbe) | {isolated['map']:.3f} | "
        f"{isolated['precision_at_10']:.3f} | - | {isolated['seconds_per_query']:.4f} | - |",
    ]


MAKERS = {"fsdd": make_fsdd, "fsdd-loose": make_fsdd_loose, "asterisk": make_asterisk}


def train(archive: Path, run: Path, train_args: list[str], reuse: bool) -> dict:
    """Train on ``archive`` (or keep an earlier run); the whole command's seconds."""
    started = time.perf_counter()
    if not (reuse and (run / "model.pt").is_file()):
        seqae("train", archive, "--out", run, "--no-resume", *train_args, capture=False)
        (run / "bench-train-seconds.txt").write_text(f"{time.perf_counter() - started:.1f}\n")
    seconds = float((run / "bench-train-seconds.txt").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    return {"train_command_s": seconds, "epochs": metrics["epochs"], "pairs": metrics.get("pairs")}


def evaluate(run: Path, corpus: Path, baselines: bool, extra: list[str]) -> dict:
    output = seqae(
        "eval", "qbe", run, "--queries", corpus / "queries.csv", "--archive",
        corpus / "archive.csv", "--json", "--no-pairs",
        *([] if baselines else ["--no-baselines"]), *extra,
    )  # fmt: skip
    return json.loads(output[output.index("{") :])


def row(name: str, corpus: str, method: dict, dtw: float | None, train_s: float | None) -> str:
    ratio = f"{method['map'] / dtw:.2f}" if dtw else "-"
    seconds = f"{train_s:.0f}" if train_s is not None else "-"
    return (
        f"| {corpus} | {name}: {method['method']} | {method['map']:.3f} | "
        f"{method['precision_at_10']:.3f} | {ratio} | {method['seconds_per_query']:.4f} | "
        f"{seconds} |"
    )


HEADER = (
    "| corpus | method | MAP | P@10 | MAP / DTW's | s per query | training s |\n"
    "|---|---|---|---|---|---|---|"
)


def run_corpus(args, label: str, corpora: dict[str, Path]) -> list[str]:
    """Train once on the first corpus's archive (asterisk: all languages) and score each."""
    train_on = corpora.get("asterisk-all", next(iter(corpora.values())))
    run = args.out / "runs" / f"{label}-{args.name}"
    trained = train(train_on / "archive.csv", run, shlex.split(args.train_args), args.reuse)
    lines = []
    for name, corpus in corpora.items():
        cache = args.out / "baselines" / f"{name}-{args.baseline_key}.json"
        baselines = not cache.is_file()
        result = evaluate(run, corpus, baselines, shlex.split(args.eval_args))
        if baselines:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(result["methods"][-2:], indent=2))
        methods = result["methods"][:2] + json.loads(cache.read_text())
        dtw = next(m["map"] for m in methods if m["method"] == "DTW")
        record = {"corpus": name, "name": args.name, "train_args": args.train_args, **trained,
                  "archive": result["archive"], "methods": methods}  # fmt: skip
        out = args.out / "results" / f"{name}-{args.name}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=2, default=str))
        for i, method in enumerate(methods):
            train_s = trained["train_command_s"] if i == 0 else None
            lines.append(row(args.name if i < 2 else "baseline", name, method, dtw, train_s))
        pairs = trained.get("pairs") or {}
        lines.append(
            f"<!-- {name}: archive {result['archive']}, epochs {trained['epochs']}, pairs "
            f"{pairs.get('pairs')} purity {pairs.get('purity')} "
            f"same-speaker {pairs.get('same_speaker')} -->"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", default="fsdd,asterisk")
    parser.add_argument("--name", default="default")
    parser.add_argument("--train-args", default="", help="extra 'seqae train' options")
    parser.add_argument("--eval-args", default="", help="extra 'seqae eval qbe' options")
    parser.add_argument(
        "--baseline-key",
        default="mfcc",
        help="baselines are computed once per corpus and key (they depend on the features)",
    )
    parser.add_argument("--reuse", action="store_true", help="keep an existing run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "real")
    args = parser.parse_args()
    lines = [HEADER]
    for label in args.corpora.split(","):
        if label == "fsdd-long":
            lines += run_long(args)
        else:
            lines += run_corpus(args, label, MAKERS[label](args.out))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
