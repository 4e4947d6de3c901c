"""``seqae ingest --engine ray``: the same ingestion job, its files processed on Ray Data.

The driver plans the files as the local engine does (``pipelines.embed.ingest``), makes a Ray
Dataset of one row per file and maps it with a fixed pool of actors, each loading the model
once and running ``ingest_file`` on the files it is given. Results come back as files finish;
they are handed on in file order, so ``ingest`` records them in ``embeddings.json`` exactly as
with the local engine, and an interrupted run resumes the same way.

Every node needs seqae installed, and the audio folder, the run directory and the output
directory at the same paths (a shared file system).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from pipelines.embed.ingest import FileJob, IngestSettings, Runner, _bundle, ingest_file
from seqae.errors import SeqaeError

logger = logging.getLogger(__name__)

PROGRESS_LOGGER = "ray.data._internal.progress"


def ray_runner(address: str | None = None) -> Runner:
    """A runner for ``ingest(..., runner=...)``: on the Ray cluster at ``address`` ("auto",
    "ray://head:10001"), or on a Ray instance started here (and stopped after) if None."""

    def run(jobs: list[FileJob], workers: int) -> Iterator[dict]:
        return run_on_ray(jobs, workers, address)

    return run


def run_on_ray(jobs: list[FileJob], workers: int, address: str | None = None) -> Iterator[dict]:
    """The results of ``jobs`` in job order, computed by ``workers`` Ray actors."""
    if not jobs:
        return
    import ray

    started = _connect(address)
    try:
        with _quiet_ray_data():
            rows = _dataset(jobs, workers).iter_rows()
            yield from _in_order((int(r["index"]), json.loads(r["result"])) for r in rows)
    finally:
        if started:
            ray.shutdown()


class FileIngester:
    """A Ray Data actor: holds the model, and ingests the files of each batch it is given."""

    def __init__(self, run: str, out: str, settings: IngestSettings, threads: int, cwd: str):
        from threadpoolctl import threadpool_limits

        if Path(cwd).is_dir():
            os.chdir(cwd)  # relative paths mean what they mean to the driver, as in a local pool
        # Ray caps an actor's BLAS threads at its CPUs; the local engine's workers keep the
        # library default (every core), and one- and many-threaded sgemm differ in the last
        # bits: the default again, so both engines write the same features and vectors.
        threadpool_limits(_cores(), user_api="blas")
        self.shared = dict(run=Path(run), out=Path(out), settings=settings, threads=threads)
        _bundle(Path(run), threads)  # load the model now, once per actor

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results = []
        for path, name, number in zip(batch["path"], batch["name"], batch["number"], strict=True):
            job = FileJob(Path(path), str(name), int(number), **self.shared)
            results.append(json.dumps(ingest_file(job)))
        return {"index": batch["index"], "result": np.array(results, dtype=object)}


def _cores() -> int:
    """The cores this process may run on (what OpenBLAS uses by default)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _connect(address: str | None) -> bool:
    """Join the cluster at ``address``, or start a Ray instance on this machine; True if this
    call did either (and so should shut it down), False if Ray was already running here."""
    import ray

    if ray.is_initialized():
        return False
    common = dict(logging_level=logging.WARNING, log_to_driver=False)
    if address is None:
        # "local": a new instance even if another runs here (or RAY_ADDRESS names one)
        ray.init("local", num_cpus=os.cpu_count() or 1, include_dashboard=False, **common)
    else:
        try:
            ray.init(address=address, **common)
        except ConnectionError as error:
            raise SeqaeError(f"--ray-address {address}: {error}") from None
    return True


@contextmanager
def _quiet_ray_data() -> Iterator[None]:
    """No Ray Data progress bars or INFO lines (the CLI shows its own progress); warnings stay."""
    from ray.data import DataContext

    context = DataContext.get_current()
    loggers = {name: logging.getLogger(name) for name in ("ray.data", PROGRESS_LOGGER)}
    before = context.enable_progress_bars, {n: g.level for n, g in loggers.items()}
    context.enable_progress_bars = False
    loggers["ray.data"].setLevel(logging.WARNING)
    loggers[PROGRESS_LOGGER].setLevel(logging.ERROR)  # it warns that the bars are off
    try:
        yield
    finally:
        context.enable_progress_bars = before[0]
        for name, level in before[1].items():
            loggers[name].setLevel(level)


def _dataset(jobs: list[FileJob], workers: int):
    """One row per file, mapped by ``workers`` actors that share the cluster's CPUs."""
    import ray
    from ray.data import ActorPoolStrategy

    available = max(1, int(ray.cluster_resources().get("CPU", 1)))
    largest = max((n["Resources"].get("CPU", 0) for n in ray.nodes() if n["Alive"]), default=1)
    workers = min(workers, available, len(jobs))
    cpus = max(1, min(available // workers, int(largest)))  # an actor fits on one node
    logger.info("Ray: %d actors of %d CPUs for %d files", workers, cpus, len(jobs))
    rows = [
        {"index": i, "path": str(job.path), "name": job.name, "number": job.number}
        for i, job in enumerate(jobs)
    ]
    first = jobs[0]
    # one block per file, so each result comes back as soon as its file is done
    return ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
        FileIngester,
        fn_constructor_kwargs=dict(
            run=str(first.run),
            out=str(first.out),
            settings=first.settings,
            threads=cpus,
            cwd=os.getcwd(),
        ),
        batch_size=1,
        batch_format="numpy",
        compute=ActorPoolStrategy(size=workers),
        num_cpus=cpus,
    )


def _in_order(results: Iterator[tuple[int, dict]]) -> Iterator[dict]:
    """Results that arrive in any order, handed on in index order as soon as possible."""
    waiting: dict[int, dict] = {}
    upcoming = 0
    for index, result in results:
        waiting[index] = result
        while upcoming in waiting:
            yield waiting.pop(upcoming)
            upcoming += 1
