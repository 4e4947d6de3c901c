"""Time one spoken query against a 10,000-segment index, apart from start-up and model loading.

Builds (once) a manifest of 10,000 real segments: spans of the demo corpus's recordings, each
cut at a random start and end. Then trains nothing new: it embeds them with the given run,
builds an exact index and times `search_audio` phase by phase, and the whole `seqae search`
command as a user runs it.

    python bench/search_speed.py --run demo/run --corpus demo/corpus
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf


def make_manifest(corpus: Path, out: Path, count: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    with open(corpus / "segments.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    manifest = out / "segments-10k.csv"
    with open(manifest, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "start", "end", "label", "speaker"])
        for i in range(count):
            row = rows[i % len(rows)]
            path = (corpus / row["path"]).resolve()
            duration = sf.info(str(path)).duration
            start = rng.uniform(0, 0.15 * duration) if i >= len(rows) else 0.0
            end = duration - (rng.uniform(0, 0.15 * duration) if i >= len(rows) else 0.0)
            writer.writerow([path, f"{start:.3f}", f"{end:.3f}", row["label"], row["speaker"]])
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("demo/run"))
    parser.add_argument("--corpus", type=Path, default=Path("demo/corpus"))
    parser.add_argument("--out", type=Path, default=Path("bench/out/search"))
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--queries", type=int, default=20)
    args = parser.parse_args()
    from pipelines.embed.speech import embed_archive
    from pipelines.io.extract import segment_features
    from pipelines.io.manifest import Segment, read_manifest
    from pipelines.search.build import build_index_dir, open_index_with_model
    from pipelines.search.rerank import DEFAULT_DEPTH
    from pipelines.search.speech import Query, search_audio
    from seqae.bundle import load_bundle

    args.out.mkdir(parents=True, exist_ok=True)
    manifest = make_manifest(args.corpus, args.out, args.count, seed=0)
    embeddings = args.out / f"emb-{load_bundle(args.run).model_id}"
    embed_archive(args.run, manifest, embeddings)
    build_index_dir(embeddings, args.out / "idx", overwrite=True)

    started = time.perf_counter()
    index, bundle = open_index_with_model(args.out / "idx")
    load_seconds = time.perf_counter() - started
    queries = read_manifest(args.corpus / "queries.csv")[: args.queries]
    timings = []
    for query in queries:
        started = time.perf_counter()
        frames, _ = segment_features(Segment(query.path), bundle.features)
        index.search(bundle.embed([frames]), 10)
        timings.append(time.perf_counter() - started)
    reranked = []  # search_audio opens the index and model each time: included here
    for query in queries:
        started = time.perf_counter()
        search_audio(args.out / "idx", [Query(query.path)], 10, rerank_k=DEFAULT_DEPTH)
        reranked.append(time.perf_counter() - started)
    from index.frames import FrameStore
    from pipelines.search.build import FRAMES_NAME
    from seqae.dtw import dtw_similarity

    store = FrameStore(args.out / "idx", FRAMES_NAME)
    archive_frames = [store[i] for i in range(len(store))]
    full_dtw = []  # the DTW baseline over the whole index, for scale (3 queries)
    for query in queries[:3]:
        started = time.perf_counter()
        frames, _ = segment_features(Segment(query.path), bundle.features)
        dtw_similarity([frames], archive_frames)
        full_dtw.append(time.perf_counter() - started)
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "seqae",
            "search",
            str(args.out / "idx"),
            str(queries[0].path),
            "--json",
        ],
        check=True,
        capture_output=True,
    )
    command_seconds = time.perf_counter() - started
    result = {
        "index_size": len(index),
        "load_index_and_model_s": round(load_seconds, 4),
        "first_query_s": round(timings[0], 4),
        "query_median_s": round(statistics.median(timings), 4),
        "query_max_s": round(max(timings), 4),
        "queries_timed": len(timings),
        f"rerank_dtw_top{DEFAULT_DEPTH}_median_s": round(statistics.median(reranked), 4),
        "whole_command_s": round(command_seconds, 3),
        "full_dtw_median_s": round(statistics.median(full_dtw), 4),
    }
    print(json.dumps(result, indent=2))
    (args.out / "result.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
