"""Train one model setting on a synthesised corpus's archive side and score its cross-voice QbE MAP.

Features are cached next to the corpus, so a sweep over settings extracts them once.
Settings are ModelConfig and TrainConfig fields given as JSON; all others keep their defaults,
except the objective, which is the single-stage denoising autoencoder (`dae`) unless the JSON
says `"objective": "ae"` (the two-stage objectives are measured with bench/qbe.py).

    python bench/sweep.py demo/corpus '{"epochs": 30, "embedding_dim": 256, "frame_stack": 2}'
    python bench/sweep.py demo/corpus baselines
"""

from __future__ import annotations

import json
import pickle
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

import numpy as np

from pipelines.io.extract import extract_features
from pipelines.io.manifest import read_manifest
from seqae.baselines import cosine_similarity, downsample
from seqae.bundle import load_bundle
from seqae.config import FeatureConfig, ModelConfig, TrainConfig
from seqae.dtw import dtw_similarity
from seqae.metrics import qbe_scores
from seqae.training import fit


def load(corpus: Path, config: FeatureConfig):
    cache = corpus / "sweep-features.pkl"
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    archive, queries = read_manifest(corpus / "archive.csv"), read_manifest(corpus / "queries.csv")
    data = (
        extract_features(archive, config),
        extract_features(queries, config),
        extract_features(archive, config, log_mel=True),
    )
    cache.write_bytes(pickle.dumps(data))
    return data


def main() -> None:
    corpus, setting = Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "{}"
    features = FeatureConfig()
    archive, queries, archive_log_mel = load(corpus, features)
    al = np.array([s.label for s in archive.segments])
    ql = np.array([s.label for s in queries.segments])
    if setting == "baselines":
        down = cosine_similarity(
            np.stack([downsample(f) for f in queries.features]),
            np.stack([downsample(f) for f in archive.features]),
        )
        print("downsampled", qbe_scores(down, ql, al))
        print("DTW", qbe_scores(dtw_similarity(queries.features, archive.features), ql, al))
        return
    overrides = {"objective": "dae", **json.loads(setting)}
    if overrides["objective"] not in ("ae", "dae"):
        sys.exit("bench/sweep.py measures ae and dae; use bench/qbe.py for cae and siamese")
    pick = lambda cls: {k: v for k, v in overrides.items() if k in {f.name for f in fields(cls)}}  # noqa: E731
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        fit(
            archive_log_mel.features,
            features,
            ModelConfig(**pick(ModelConfig)),
            TrainConfig(**pick(TrainConfig)),
            Path(out),
            progress=False,
        )
        seconds = time.perf_counter() - started
        bundle = load_bundle(out)
        similarity = cosine_similarity(
            bundle.embed(queries.features), bundle.embed(archive.features)
        )
    print(
        json.dumps(
            {"setting": overrides, "train_s": round(seconds), **qbe_scores(similarity, ql, al)}
        )
    )


if __name__ == "__main__":
    main()
