"""``seqae ingest``: a folder of long recordings -> segments -> embeddings, in one streaming job.

Each file is read block by block, cut into segments (voice activity or dense windows),
featurised and embedded in batches, and written as shards of an ordinary embedding directory
(so ``seqae index build`` reads it). A worker pool takes whole files.

The job is resumable and incremental: ``embeddings.json`` records each finished file with its
size and modification time, atomically, after the file's shards are on disk. A killed job
redoes only the file it was in (rewriting the same shard numbers), and a re-run on a grown
folder reads only the new files, or files whose shards were damaged since. Files are keyed by
their absolute path, so folders ingested one after another into one output never collide.
Shard numbers are ``file number * PARTS + part``, so the row order does not depend on which
worker finished first.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipelines.embed.runner import Chunk, embed_shard
from pipelines.embed.shards import (
    INFO_FILE,
    existing_info,
    new_info,
    record_shard,
    shard_is_intact,
)
from pipelines.io.manifest import AUDIO_SUFFIXES
from pipelines.io.stream import audio_duration
from pipelines.segment.longform import SegmentSettings, long_segments
from seqae.audio import missing_reason
from seqae.errors import InputError, SeqaeError
from seqae.runs import EMBEDDINGS, check_output_dir, write_json_atomic, writer_lock

logger = logging.getLogger(__name__)

PARTS = 10000  # shards one file may take
PART_SIZE = 2000  # segments per shard


@dataclass(frozen=True)
class IngestSettings:
    """What ``seqae ingest`` does to each file."""

    segments: SegmentSettings = field(default_factory=SegmentSettings)
    part_size: int = PART_SIZE
    batch_size: int = 128
    store_frames: bool = True


@dataclass(frozen=True)
class FileJob:
    path: Path
    name: str  # the file's key in embeddings.json: its absolute path
    number: int
    run: Path
    out: Path
    settings: IngestSettings
    threads: int


Runner = Callable[[list[FileJob], int], Iterator[dict]]  # (jobs, workers) -> results in order


@dataclass
class IngestSummary:
    out: Path
    model_id: str
    files: int = 0
    reused: int = 0
    segments: int = 0
    audio_seconds: float = 0.0
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)


def find_audio(folder: Path) -> list[Path]:
    """Audio files under ``folder``, sorted, as paths relative to it."""
    if not folder.is_dir():
        raise SeqaeError(f"{folder}: not a folder")
    found = [p.relative_to(folder) for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES]
    return sorted(p for p in found if (folder / p).is_file())


def broken_links(folder: Path) -> list[str]:
    """One line per audio-named symbolic link under ``folder`` whose target is gone."""
    links = (p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    return [f"{p}: {missing_reason(p)}" for p in sorted(links) if p.is_symlink() and not p.exists()]


def _stamp(path: Path) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


_BUNDLES: dict[tuple, object] = {}  # per process: (model file, its stamp) -> the bundle


def _bundle(run: Path, threads: int):
    """The model, loaded once per worker process (and again only if its file changes)."""
    from seqae.bundle import BUNDLE_NAME, load_bundle

    path = (run / BUNDLE_NAME if run.is_dir() else run).resolve()
    key = (str(path), *_stamp(path).values())
    if key not in _BUNDLES:
        import torch

        if threads:
            torch.set_num_threads(threads)
        _BUNDLES.clear()
        _BUNDLES[key] = load_bundle(path)
    return _BUNDLES[key]


def _parts(job: FileJob, bundle) -> Iterator[tuple[list, list[np.ndarray]]]:
    """(spans, features) of up to ``part_size`` segments at a time (never an empty part)."""
    from seqae.audio import compute_features_many

    spans, audio = [], []
    rate = bundle.features.sample_rate  # the model's rate: cut where its features are read
    for start, end, samples in long_segments(job.path, job.settings.segments, rate):
        if len(samples) < bundle.features.win_length:
            continue  # shorter than one analysis window: nothing to encode
        spans.append((start, end))
        audio.append(samples)
        if len(spans) == job.settings.part_size:
            yield spans, compute_features_many(audio, bundle.features, one_speaker=True)
            spans, audio = [], []
    if spans:
        yield spans, compute_features_many(audio, bundle.features, one_speaker=True)


def ingest_file(job: FileJob) -> dict:
    """Segment, embed and write one file; returns its record (or ``error``: one line)."""
    bundle = _bundle(job.run, job.threads)
    checksums: dict[int, dict[str, list]] = {}
    count = 0
    try:
        for part, (spans, features) in enumerate(_parts(job, bundle)):
            table = pa.table(
                {
                    "path": pa.array([str(job.path.resolve())] * len(spans), pa.string()),
                    "start": pa.array([s for s, _ in spans], pa.float64()),
                    "end": pa.array([e for _, e in spans], pa.float64()),
                    "row": pa.array(range(count, count + len(spans)), pa.int64()),
                }
            )
            frames = features if job.settings.store_frames else None
            chunk = Chunk(inputs=features, table=table, frames=frames)
            shard = job.number * PARTS + part
            _, checksums[shard] = embed_shard(
                job.out, shard, bundle, chunk, job.settings.batch_size
            )
            count += len(spans)
    except Exception as error:  # one file that cannot be read or decoded must not end the job
        return {"name": job.name, "error": failure_line(job.path, error)}
    return {"name": job.name, "shards": list(checksums), "segments": count, "checksums": checksums}


def failure_line(path: Path, error: Exception) -> str:
    """One line for a file a batch job skips: an input error as it is, else its type and the
    first line of its message (the traceback goes to the debug log)."""
    if isinstance(error, SeqaeError):
        return str(error)
    logger.debug("%s failed", path, exc_info=error)
    message = str(error).strip().splitlines()
    return f"{path}: {type(error).__name__}" + (f": {message[0]}" if message else "")


def _prepare(out: Path, bundle, folder: Path, settings: IngestSettings) -> dict:
    """Start a new embedding directory, or check that an existing one belongs to this job."""
    check_output_dir(out, EMBEDDINGS, inputs=(folder, bundle.path))
    info = existing_info(out, bundle.model_id)
    if info is None:
        return new_info(
            out, bundle, bundle.settings(), folder, frames=settings.store_frames,
            ingest={"segments": settings.segments.to_dict(), "files": {}, "keys": "absolute"},
        )  # fmt: skip
    if info.get("ingest", {}).get("segments") != settings.segments.to_dict():
        raise SeqaeError(f"{out}: made with other segment settings; choose another --out")
    return _absolute_keys(info)


def _absolute_keys(info: dict) -> dict:
    """Key the files of a directory written before keys were absolute paths by theirs."""
    record = info["ingest"]
    if record.get("keys") != "absolute":
        root = Path(info["source"])
        record["files"] = {str(root / name): value for name, value in record["files"].items()}
        info["skipped"] = {str(root / name): value for name, value in info["skipped"].items()}
        record["keys"] = "absolute"
    return info


def _is_done(record: dict | None, path: Path, out: Path, info: dict) -> bool:
    """True if the file was ingested as it is now and its shards are intact."""
    if not record or {k: record[k] for k in ("size", "mtime_ns")} != _stamp(path):
        return False
    return all(shard_is_intact(out, shard, info) for shard in record["shards"])


def _plan(folder: Path, out: Path, run: Path, info: dict, settings, threads) -> list[FileJob]:
    """Jobs for the files not ingested yet (or changed since); numbers stay stable."""
    files = info["ingest"]["files"]
    numbers = [r["number"] for r in files.values()]
    next_number = max(numbers, default=-1) + 1
    jobs = []
    for relative in find_audio(folder):
        path = (folder / relative).resolve()
        record = files.get(str(path))
        if _is_done(record, path, out, info):
            continue
        number = record["number"] if record else next_number
        next_number += 0 if record else 1
        jobs.append(FileJob(path, str(path), number, run, out, settings, threads))
    return jobs


def _record(info: dict, job: FileJob, result: dict, seconds: float) -> None:
    files = info["ingest"]["files"]
    old = files.get(job.name, {}).get("shards", [])
    info["shards"] = sorted(set(info["shards"]) - set(old))
    for shard in old:
        info.get("checksums", {}).pop(f"{shard:05d}", None)
    for shard, checksums in result.get("checksums", {}).items():
        record_shard(info, int(shard), checksums)
    info["skipped"].pop(job.name, None)
    if "error" in result:
        info["skipped"][job.name] = [result["error"]]
    files[job.name] = {
        "number": job.number,
        **_stamp(job.path),
        "shards": result.get("shards", []),
        "segments": result.get("segments", 0),
        "seconds": seconds,
    }
    info["count"] = sum(r["segments"] for r in files.values())


def ingest(
    folder: Path,
    run: Path,
    out: Path,
    settings: IngestSettings = IngestSettings(),
    workers: int = 1,
    progress: Callable[[float], None] | None = None,
    on_total: Callable[[float], None] | None = None,
    runner: Runner | None = None,
) -> IngestSummary:
    """Ingest every new audio file under ``folder`` with the model in ``run`` into ``out``.

    ``runner`` computes the jobs' results (default: this machine's process pool; see
    ``pipelines.embed.ingest_ray`` for a Ray cluster); it must yield them in job order.
    """
    from seqae.bundle import load_bundle

    bundle = load_bundle(run)
    with writer_lock(out):
        info = _prepare(out, bundle, folder, settings)
        jobs = _plan(folder, out, run, info, settings, threads=1 if workers > 1 else 0)
        summary = IngestSummary(out=out, model_id=bundle.model_id, skipped=broken_links(folder))
        summary.reused = len(info["ingest"]["files"]) - sum(
            job.name in info["ingest"]["files"] for job in jobs
        )
        return _run_jobs(jobs, info, summary, workers, progress, on_total, runner)


def _run_jobs(
    jobs: list[FileJob],
    info: dict,
    summary: IngestSummary,
    workers: int,
    progress: Callable[[float], None] | None,
    on_total: Callable[[float], None] | None,
    runner: Runner | None,
) -> IngestSummary:
    """Run the planned jobs, recording each file in ``embeddings.json`` as it finishes."""
    out = summary.out
    durations = {job.name: _duration_or_zero(job.path) for job in jobs}
    if on_total:
        on_total(sum(durations.values()))
    info["complete"] = False
    write_json_atomic(out / INFO_FILE, info)
    started = time.perf_counter()
    for job, result in zip(jobs, (runner or _run)(jobs, workers), strict=True):
        _record(info, job, result, durations[job.name])
        write_json_atomic(out / INFO_FILE, info)  # the file counts as done only from here
        summary.files += 1
        summary.segments += result.get("segments", 0)
        summary.audio_seconds += durations[job.name]
        if "error" in result:
            summary.skipped.append(result["error"])
        if progress:
            progress(durations[job.name])
    info["complete"] = True
    summary.seconds = time.perf_counter() - started
    write_json_atomic(out / INFO_FILE, info)
    return summary


def _duration_or_zero(path: Path) -> float:
    try:
        return audio_duration(path)
    except InputError:
        return 0.0  # reported when the worker fails to read it


def _run(jobs: list[FileJob], workers: int) -> Iterator[dict]:
    """Results in job order; files run in parallel when ``workers`` > 1."""
    if workers <= 1 or len(jobs) < 2:
        yield from map(ingest_file, jobs)
        return
    with ProcessPoolExecutor(max_workers=min(workers, os.cpu_count() or 1)) as pool:
        yield from pool.map(ingest_file, jobs)
