"""Index at scale: build a 1,000,000 x 128 index with --factory auto under a memory budget,
then measure recall@10 against exact search, single-query latency, memory and build time.

Two data sets, both L2-normalised (cosine), each with held-out queries drawn from the same
distribution (never stored in the index):

    clustered  a mixture of 20,000 Gaussian clusters shaped like real seqae embeddings: the
               variance of dimension i decays as i ** -0.1 * exp(-i / 8) plus a floor (the
               principal-component spectrum of real embeddings), centres N(0, I) so scaled,
               plus one shared mean offset; each cluster
               spreads around its centre by its own factor, uniform in [0.8, 1.4]; cluster
               sizes log-normal (sigma 1), so some are frequent and many rare, like words.
               `--calibrate EMB` prints the statistics these settings were matched on, for
               the synthetic set and for a real embedding directory with labels.
    gaussian   isotropic N(0, I): the worst case for approximate search

    python bench/index_scale.py --count 1000000 --dim 128 --memory 1GB

Latency and memory are measured in a fresh process per setting (the data arrays would blur
the memory figures): the index is opened memory-mapped, as `seqae search` opens it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

CLUSTERS, SPREAD, SIZE_SIGMA = 20_000, (0.8, 1.4), 1.0
# Variance of dimension i: i ** -0.1 * exp(-i / 8), plus a floor of 0.003 (relative to the
# first): the shape of the principal-component spectrum of real seqae embeddings.
POWER, LENGTH, FLOOR = 0.1, 8.0, 0.003
MEAN_SCALE = 0.65  # size of the offset all vectors share
BATCH = 100_000


def mixture(dim: int, seed: int) -> dict[str, np.ndarray]:
    """Centres (K, dim), spreads (K,), size weights (K,), offset and scale (dim,)."""
    rng = np.random.default_rng(seed)
    rank = np.arange(1, dim + 1, dtype=np.float64)
    variance = rank**-POWER * np.exp(-(rank - 1) / LENGTH) + FLOOR
    scale = np.sqrt(variance).astype(np.float32)  # (dim,)
    weights = rng.lognormal(0.0, SIZE_SIGMA, CLUSTERS)
    return {
        "centres": rng.standard_normal((CLUSTERS, dim), dtype=np.float32) * scale,
        "spreads": rng.uniform(*SPREAD, CLUSTERS).astype(np.float32),
        "weights": weights / weights.sum(),
        "offset": rng.standard_normal(dim, dtype=np.float32) * scale * MEAN_SCALE,
        "scale": scale,
    }


def draw(kind: str, count: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` unit vectors of data set ``kind`` and their clusters; seeds give new draws."""
    rng = np.random.default_rng(seed + 1)
    out, labels = np.empty((count, dim), dtype=np.float32), np.zeros(count, dtype=np.int64)
    mix = mixture(dim, seed=12345)  # the same mixture for every seed
    for start in range(0, count, BATCH):
        rows = min(BATCH, count - start)
        noise = rng.standard_normal((rows, dim), dtype=np.float32)  # (rows, dim)
        if kind == "clustered":
            which = rng.choice(CLUSTERS, size=rows, p=mix["weights"])
            spread = mix["scale"] * mix["spreads"][which, None]  # (rows, dim)
            noise = mix["offset"] + mix["centres"][which] + noise * spread
            labels[start : start + rows] = which
        out[start : start + rows] = noise / np.linalg.norm(noise, axis=1, keepdims=True)
    return out, labels


def shape_statistics(vectors: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Effective dimension (participation ratio), share of the variance in the first 10, 20
    and 50 principal components, within-cluster share of the variance, and mean cosine of
    pairs from the same and from different clusters."""

    def effective_dim(covariance: np.ndarray) -> float:
        values = np.clip(np.linalg.eigvalsh(covariance), 0, None)
        return float(values.sum() ** 2 / (values**2).sum())

    within = np.concatenate([vectors[labels == u] - vectors[labels == u].mean(0)
                             for u in np.unique(labels)])  # fmt: skip
    total, inside = np.cov(vectors.T), np.cov(within.T)
    cosine, same = vectors @ vectors.T, labels[:, None] == labels[None]
    spectrum = np.sort(np.linalg.eigvalsh(total))[::-1]
    shares = {f"top{n}_share": round(float(spectrum[:n].sum() / spectrum.sum()), 2)
              for n in (10, 20, 50)}  # fmt: skip
    return {"effective_dim": round(effective_dim(total), 1), **shares,
            "within_share": round(float(inside.trace() / total.trace()), 2),
            "cos_same": round(float(cosine[same & ~np.eye(len(labels), dtype=bool)].mean()), 3),
            "cos_different": round(float(cosine[~same].mean()), 3)}  # fmt: skip


def calibrate(embeddings: Path, dim: int) -> None:
    """Compare the clustered set with real embeddings (labels from the metadata)."""
    import pyarrow.parquet as pq

    real = np.load(embeddings / "embeddings-00000.npy")
    labels = pq.read_table(embeddings / "metadata-00000.parquet").column("label").to_pylist()
    real = real / np.linalg.norm(real, axis=1, keepdims=True)
    _, codes = np.unique(labels, return_inverse=True)
    clusters = len(set(labels))
    rng = np.random.default_rng(0)
    picked = rng.choice(CLUSTERS, clusters, replace=False)  # as many clusters, as many rows
    mix = mixture(dim, seed=12345)
    which = rng.choice(picked, len(real))
    noise = rng.standard_normal((len(real), dim), dtype=np.float32)
    fake = (
        mix["offset"] + mix["centres"][which] + noise * mix["scale"] * mix["spreads"][which, None]
    )
    fake /= np.linalg.norm(fake, axis=1, keepdims=True)
    print(json.dumps({"real": shape_statistics(real, codes),
                      "clustered": shape_statistics(fake, which)}))  # fmt: skip


def rss_mb() -> dict[str, float]:
    """Resident memory of this process: anonymous (private) and file-backed (mapped) MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("RssAnon:", "RssFile:", "VmRSS:")):
            name, value = line.split(":")
            fields[name] = int(value.split()[0]) / 1024
    return fields


def build(kind: str, args: argparse.Namespace, folder: Path) -> dict:
    """Draw the data, build and write the index as `seqae index build` does, time it."""
    import pyarrow as pa

    from index import IndexInfo, choose_factory, parse_memory
    from index.build import add_batches, new_trained_index, tune_index
    from index.recall import exact_neighbours
    from index.store import stored_info, write_index_dir

    base, _ = draw(kind, args.count, args.dim, seed=0)
    queries, _ = draw(kind, args.queries, args.dim, seed=1)  # held out: not in the index
    np.save(folder / "queries.npy", queries)
    batches = lambda: (base[i : i + BATCH] for i in range(0, len(base), BATCH))  # noqa: E731
    budget = parse_memory(args.memory) if args.factory == "auto" else None
    factory = choose_factory(args.count, args.dim, budget) if budget else args.factory
    times = {"start": time.perf_counter()}
    index = new_trained_index(factory, args.dim, args.count, lambda rows: base[rows], seed=0)
    times["trained"] = time.perf_counter()
    add_batches(index, batches())
    times["added"] = time.perf_counter()
    tuning = tune_index(index, batches, seed=0)
    times["tuned"] = time.perf_counter()
    info = IndexInfo("synthetic", "none", args.dim, {}, sources=[f"bench:{kind}"])
    metadata = pa.table({"row": pa.array(np.arange(args.count))})
    write_index_dir(
        folder / "idx", index, metadata, stored_info(info, args.count, factory, tuning, budget)
    )
    times["written"] = time.perf_counter()
    _, exact = exact_neighbours(queries, batches(), 10)  # IndexFlatIP over every vector
    np.save(folder / "exact.npy", exact)
    phases = ("start", "trained", "added", "tuned", "written")
    seconds = {
        f"{b}_s": round(times[b] - times[a], 1)
        for a, b in zip(phases[:-1], phases[1:], strict=True)
    }
    return {"factory": factory, "tuning": tuning.__dict__ if tuning else None, **seconds,
            "build_s": round(times["written"] - times["start"], 1)}  # fmt: skip


def timed_searches(opened, queries: np.ndarray, option: dict) -> tuple[np.ndarray, np.ndarray]:
    """Search each query alone, as `seqae search` does (metadata lookup included)."""
    found, seconds = np.empty((len(queries), 10), dtype=np.int64), []
    for i in range(len(queries)):
        started = time.perf_counter()
        hits = opened.search(queries[i : i + 1], 10, **option)[0]
        seconds.append(time.perf_counter() - started)
        found[i] = [hit.id for hit in hits]
    return found, 1000 * np.asarray(seconds)


def measure(folder: Path, threads: int, mmap: bool, settings: list[int]) -> dict:
    """In a fresh process: open the index, warm it up with other held-out queries (the first
    pass, timed as 'cold'), then time single queries one at a time at each setting."""
    import faiss

    from index import open_index_dir
    from index.params import tunable
    from index.recall import recall_at_k

    faiss.omp_set_num_threads(threads)
    queries, exact = np.load(folder / "queries.npy"), np.load(folder / "exact.npy")
    before = rss_mb()
    opened = open_index_dir(folder / "idx", mmap=mmap)
    loaded = rss_mb()
    _, cold = timed_searches(opened, np.load(folder / "warmup.npy"), {})
    kind = tunable(opened.index)
    results = [{"setting": "default, cold", "median_ms": float(np.median(cold)),
                "p95_ms": float(np.percentile(cold, 95))}]  # fmt: skip
    for value in [None, *settings] if kind else [None]:
        found, ms = timed_searches(opened, queries, {} if value is None else {kind: value})
        results.append({"setting": value or "default", "recall": recall_at_k(found, exact),
                        "median_ms": float(np.median(ms)),
                        "p95_ms": float(np.percentile(ms, 95))})  # fmt: skip
    after = rss_mb()
    growth = {f"{key}_load_mb": round(loaded[key] - before[key], 1) for key in loaded}
    growth.update({f"{key}_end_mb": round(after[key] - before[key], 1) for key in after})
    return {"threads": threads, "mmap": mmap, "kind": kind, "results": results, **growth,
            "file_mb": round((folder / "idx" / "index.faiss").stat().st_size / 1e6, 1)}  # fmt: skip


def machine() -> dict:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                  if line.startswith("Model name")), "?")  # fmt: skip
    return {"cpu": model, "cores": os.cpu_count(), "load_average": os.getloadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--memory", default="1GB")
    parser.add_argument("--factory", default="auto", help="'auto' or a FAISS factory string")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--data", nargs="+", default=["clustered", "gaussian"])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sweep", type=int, nargs="*", default=[16, 32, 64, 128, 256])
    parser.add_argument("--out", type=Path, default=Path("bench/out/index-scale"))
    parser.add_argument("--reuse", action="store_true", help="Measure an earlier run's index.")
    parser.add_argument("--calibrate", type=Path, help="Real embedding directory to compare.")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mmap", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.calibrate:
        calibrate(args.calibrate, args.dim)
        return
    if args.measure:  # the child process
        print(json.dumps(measure(args.measure, args.threads[0], bool(args.mmap), args.sweep)))
        return
    report = {"command": sys.argv, "machine": machine(), "data": {}}
    for kind in args.data:
        tag = args.memory if args.factory == "auto" else args.factory.replace(",", "-")
        folder = args.out / f"{kind}-{args.count}x{args.dim}-{tag}"
        folder.mkdir(parents=True, exist_ok=True)
        built = folder / "build.json"
        if not (args.reuse and built.is_file()):
            built.write_text(json.dumps(build(kind, args, folder)))
        entry = {"build": json.loads(built.read_text()), "search": []}
        if not (folder / "warmup.npy").is_file():  # more held-out queries, to warm up with
            np.save(folder / "warmup.npy", draw(kind, args.queries, args.dim, seed=2)[0])
        for threads, mmap, sweep in [(t, 1, args.sweep) for t in args.threads] + [(1, 0, [])]:
            child = [sys.executable, __file__, "--measure", str(folder), "--threads", str(threads),
                     "--mmap", str(mmap), "--sweep", *map(str, sweep)]  # fmt: skip
            result = subprocess.run(child, capture_output=True, text=True, check=True)
            entry["search"].append(json.loads(result.stdout.splitlines()[-1]))
        report["data"][kind] = entry
        print(json.dumps({kind: entry}, indent=1), flush=True)
    report["machine"]["load_average_end"] = os.getloadavg()
    tag = args.memory if args.factory == "auto" else args.factory.replace(",", "-")
    (args.out / f"report-{args.count}x{args.dim}-{tag}.json").write_text(
        json.dumps(report, indent=1)
    )


if __name__ == "__main__":
    main()
