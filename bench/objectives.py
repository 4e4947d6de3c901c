"""Every encoder and every objective on one synthesised corpus, beside the baselines.

Each setting is trained, embedded and evaluated with `seqae` commands only (see bench/qbe.py);
results go to OUT/objectives.json (finished settings are kept on a re-run) and a Markdown
table is printed. Queries come from voices absent from the archive.

    python bench/objectives.py --corpus demo/corpus --epochs 15 --pretrain-epochs 15

ae and dae train for epochs + pretrain-epochs, so every setting gets the same number of epochs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from qbe import run_setting  # noqa: E402

ENCODERS = ("gru", "lstm", "rnn", "irnn", "pyramidal", "clockwork")
OBJECTIVES = {
    "ae": ["--objective", "ae"],
    "dae": ["--objective", "dae"],
    "cae, discovered pairs": ["--objective", "cae", "--pairs", "discover"],
    "cae, label pairs": ["--objective", "cae", "--pairs", "labels"],
    "siamese, label pairs": ["--objective", "siamese", "--pairs", "labels"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="a 'seqae synth' output")
    parser.add_argument("--out", type=Path, default=Path("bench/out/objectives"))
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--pretrain-epochs", type=int, default=15)
    parser.add_argument("--encoders", default=",".join(ENCODERS))
    parser.add_argument("--objectives", default=";".join(OBJECTIVES), help="separated by ;")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    store = args.out / "objectives.json"
    results = json.loads(store.read_text()) if store.is_file() else {}
    paired = ["--epochs", str(args.epochs), "--pretrain-epochs", str(args.pretrain_epochs)]
    single = ["--epochs", str(args.epochs + args.pretrain_epochs)]  # the same number in all
    for encoder in args.encoders.split(","):
        for objective in args.objectives.split(";"):
            name = f"{encoder} / {objective}"
            if name in results:
                continue
            budget = single if objective in ("ae", "dae") else paired
            train_args = ["--cell", encoder, *OBJECTIVES[objective], *budget]
            run = args.out / f"{encoder}-{objective.split(',')[0]}-{len(results)}"
            results[name] = run_setting(args.corpus, run, train_args, baselines=not results)
            store.write_text(json.dumps(results, indent=2, default=str))
    first = next(iter(results.values()))
    baselines = {m["method"]: m for m in first["methods"] if not m["method"].startswith("model")}
    dtw = baselines["DTW"]["map"]
    print(f"archive {first['archive']} segments, {first['methods'][0]['queries']} queries\n")
    print(
        "| encoder / objective | learning rate | MAP | MAP / DTW's | same-diff AP | re-ranked MAP "
        "| training s | embedding ms per segment |\n|---|---|---|---|---|---|---|---|"
    )
    for name, result in results.items():
        model, reranked = result["methods"][0], result["methods"][1]
        print(
            f"| {name} | {result['learning_rate']:g} | {model['map']:.3f} | "
            f"{model['map'] / dtw:.2f} | {model['same_different_ap']:.3f} | "
            f"{reranked['map']:.3f} | {result['train_fit_s']:.0f} | "
            f"{1000 * result['embed_s_per_segment']:.1f} |"
        )
    for name, m in baselines.items():
        print(f"| {name} | - | {m['map']:.3f} | {m['map'] / dtw:.2f} | "
              f"{m['same_different_ap']:.3f} | - | - | - |")  # fmt: skip


if __name__ == "__main__":
    main()
