"""The front end on real speech, without training: DTW and downsampling MAP per feature setting.

DTW over the frames is what the model is measured against and what re-ranking runs, so a
front end that makes DTW find more of the same word across speakers is the first thing to
get right. Each setting is a FeatureConfig (``key=value,...``), plus ``norm=speaker`` for
mean-variance normalisation over each speaker's frames instead of each segment's. The
corpora are bench/real.py's (made there first).

    python bench/frontend.py --corpora fsdd,fsdd-loose,asterisk-all \
        --settings "trim_db=0" "trim_db=25" "trim_db=25,fmax=4000"
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.io.extract import extract_features  # noqa: E402
from pipelines.io.manifest import read_manifest  # noqa: E402
from seqae.audio import normalize_frames  # noqa: E402
from seqae.baselines import cosine_similarity, downsample, dtw_similarity  # noqa: E402
from seqae.config import FeatureConfig  # noqa: E402
from seqae.metrics import qbe_scores  # noqa: E402

REAL = Path(__file__).resolve().parent / "out" / "real"
CORPORA = {
    "fsdd": REAL / "fsdd",
    "fsdd-loose": REAL / "fsdd-loose",
    **{f"asterisk-{lang}": REAL / "asterisk" / lang for lang in ("it", "fr", "es", "all")},
}


def parse_setting(text: str) -> tuple[FeatureConfig, str, str]:
    """FeatureConfig fields, plus norm= (archive) and qnorm= (queries, default: norm's):
    utterance, speaker, or global (the archive's mean and variance over all its frames)."""
    values: dict[str, object] = {}
    norm = qnorm = ""
    for item in filter(None, text.split(",")):
        key, value = item.split("=")
        if key in ("norm", "qnorm"):
            norm, qnorm = (value, qnorm) if key == "norm" else (norm, value)
            continue
        field_type = type(getattr(FeatureConfig(), key))
        values[key] = value if field_type is str else field_type(float(value))
    norm = norm or "utterance"
    qnorm = qnorm or norm
    if norm != "utterance" or qnorm != "utterance":
        values["normalize"] = "none"
    return FeatureConfig(**values), norm, qnorm


def normalized(frames: list[np.ndarray], speakers: list[str], norm: str, stats) -> list:
    if norm == "speaker":
        return by_speaker(frames, speakers)
    if norm == "global":
        mean, std = stats
        return [((f - mean) / std).astype(np.float32) for f in frames]
    return [normalize_frames(f) for f in frames]


def by_speaker(frames: list[np.ndarray], speakers: list[str]) -> list[np.ndarray]:
    """Mean-variance normalisation over all frames of each speaker."""
    out: list[np.ndarray] = [np.empty(0)] * len(frames)
    for speaker in set(speakers):
        rows = [i for i, s in enumerate(speakers) if s == speaker]
        joined = np.concatenate([frames[i] for i in rows])
        mean, std = joined.mean(axis=0), np.maximum(joined.std(axis=0), 1e-5)
        for i in rows:
            out[i] = ((frames[i] - mean) / std).astype(np.float32)
    return out


def load(manifest: Path, config: FeatureConfig, sample: int, seed: int):
    segments = read_manifest(manifest)
    if sample and len(segments) > sample:
        rows = np.random.default_rng(seed).choice(len(segments), sample, replace=False)
        segments = [segments[i] for i in sorted(rows)]
    extraction = extract_features(segments, config)
    labels = np.array([s.label for s in extraction.segments])
    speakers = [s.metadata.get("speaker", "") for s in extraction.segments]
    return extraction.features, labels, speakers


def score(corpus: Path, setting: str, queries: int, seed: int) -> dict:
    config, norm, qnorm = parse_setting(setting)
    started = time.perf_counter()
    qf, ql, qs = load(corpus / "queries.csv", config, queries, seed)
    af, al, aspk = load(corpus / "archive.csv", config, 0, seed)
    if config.normalize == "none":
        joined = np.concatenate(af)
        stats = joined.mean(axis=0), np.maximum(joined.std(axis=0), 1e-5)
        af, qf = normalized(af, aspk, norm, stats), normalized(qf, qs, qnorm, stats)
    features_s = time.perf_counter() - started
    started = time.perf_counter()
    dtw = qbe_scores(dtw_similarity(qf, af), ql, al, k=10)
    dtw_s = time.perf_counter() - started
    down = cosine_similarity(
        np.stack([downsample(f) for f in qf]), np.stack([downsample(f) for f in af])
    )
    down_scores = qbe_scores(down, ql, al, k=10)
    return {
        "corpus": f"{corpus.parent.name}-{corpus.name}",
        "setting": setting,
        "queries": len(ql),
        "archive": len(al),
        "frames_per_segment": float(np.mean([len(f) for f in af])),
        "dtw_map": dtw["map"],
        "dtw_p10": dtw["p@10"],
        "down_map": down_scores["map"],
        "features_s": features_s,
        "dtw_s": dtw_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpora",
        default="fsdd,fsdd-loose,asterisk-all",
        help="names of bench/real.py's corpora, or folders holding archive.csv and queries.csv",
    )
    parser.add_argument("--settings", nargs="+", default=["trim_db=0"])
    parser.add_argument("--queries", type=int, default=400, help="seeded sample of queries")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REAL / "frontend.jsonl")
    args = parser.parse_args()
    print("| corpus | setting | DTW MAP | DTW P@10 | downsampled MAP | frames per segment |")
    print("|---|---|---|---|---|---|")
    for name in args.corpora.split(","):
        for setting in args.settings:
            corpus = CORPORA[name] if name in CORPORA else Path(name)  # or any corpus folder
            result = score(corpus, setting, args.queries, args.seed)
            with open(args.out, "a") as handle:
                handle.write(json.dumps(result) + "\n")
            print(
                f"| {result['corpus']} | {setting} | {result['dtw_map']:.3f} | "
                f"{result['dtw_p10']:.3f} | {result['down_map']:.3f} | "
                f"{result['frames_per_segment']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
