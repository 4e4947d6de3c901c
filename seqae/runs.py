"""What a seqae output directory is, who may write it, and what may be replaced.

Every command that writes a directory (a run, an embedding directory, an index) holds an
exclusive lock on it for the whole job, so a second writer is refused with a line naming the
first. The lock is a file beside the directory (``.NAME.lock``): an index is replaced by
swapping a whole new directory in, so a lock inside it would be swapped away. The kernel
drops the lock of a killed job, so a stale file never blocks a new one.

Before a directory is written, or anything in it deleted, it must be new, empty or a seqae
directory of the same kind, and never an input of the job or a folder that holds one: an
``--overwrite`` or ``--no-resume`` can then only ever replace seqae's own output.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import socket
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from seqae.errors import SeqaeError

logger = logging.getLogger(__name__)

RUN = "run"
EMBEDDINGS = "embeddings"
INDEX = "index"

# The files of a run directory (RUN) ...
CONFIG_FILE = "config.json"  # the resolved settings (itself a config file for --config)
COMMAND_FILE = "command.json"  # the command line and settings that made RUN, EMB or IDX
METRICS_FILE = "metrics.json"
MODEL_FILE = "model.pt"  # the bundle: weights, their id, the settings they read
CHECKPOINTS_DIR = "checkpoints"
LAST_CHECKPOINT = "last.ckpt"
LOGS_DIR = "logs"
PRETRAIN_DIR = "pretrain"  # the denoising stage of a paired objective, a run of its own
PAIRS_FILE = "pairs.csv"
PAIRS_REPORT = "pairs.json"
TOKENIZER_FILE = "tokenizer.pt"
SEEDS_DIR = "seeds"  # eval qbe --seeds: the recipe retrained with other seeds
# ... of an embedding directory (EMB; its shards are named in pipelines.embed.shards) ...
EMBEDDINGS_FILE = "embeddings.json"
# ... and of an index directory (IDX)
INDEX_INFO_FILE = "index.json"
INDEX_FILE = "index.faiss"
INDEX_METADATA_FILE = "metadata.parquet"
FRAMES_NAME = "frames"  # the stored frames for DTW re-ranking


def last_checkpoint(run: Path) -> Path:
    return run / CHECKPOINTS_DIR / LAST_CHECKPOINT


# The file that marks each kind of directory, and the "kind" field it holds (None: a run's
# config.json has no kind field; it is recognised by its sections).
_MARKERS = {
    RUN: (CONFIG_FILE, None),
    EMBEDDINGS: (EMBEDDINGS_FILE, "seqae-embeddings"),
    INDEX: (INDEX_INFO_FILE, "seqae-index"),
}
_NAMES = {RUN: "run directory", EMBEDDINGS: "embedding directory", INDEX: "index directory"}


def directory_kind(path: Path) -> str | None:
    """'run', 'embeddings' or 'index' for a seqae output directory, else None."""
    for kind, (name, marker) in _MARKERS.items():
        try:
            data = json.loads((path / name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        if marker is not None and data.get("kind") == marker:
            return kind
        if marker is None and {"model", "train"} <= data.keys():
            return kind
    return None


def _is_empty(path: Path) -> bool:
    return not any(path.iterdir())


def check_output_dir(out: Path, kind: str, inputs: Iterable[Path] = ()) -> None:
    """Refuse to write a ``kind`` directory at ``out`` unless it is new, empty or one already.

    ``inputs`` are the job's inputs: ``out`` may be none of them and hold none of them.
    """
    if out.exists() and not out.is_dir():
        raise SeqaeError(f"{out}: exists and is not a directory; choose another --out")
    check_not_input(out, inputs)
    if out.is_dir() and not _is_empty(out) and directory_kind(out) != kind:
        found = directory_kind(out)
        what = f"a seqae {_NAMES[found]}" if found else f"not a seqae {_NAMES[kind]}"
        raise SeqaeError(
            f"{out}: holds other files ({what}); seqae writes a {_NAMES[kind]} only into a "
            "new or empty folder or one of its own; choose another --out"
        )


def check_not_input(target: Path, inputs: Iterable[Path]) -> None:
    """Refuse ``target`` if it is one of ``inputs`` or a folder that holds one."""
    resolved = target.resolve()
    for source in inputs:
        source_resolved = Path(source).resolve()
        if source_resolved == resolved or resolved in source_resolved.parents:
            raise SeqaeError(
                f"{target}: is or holds the input {source}; seqae never writes over its "
                "inputs; choose another --out"
            )


def lock_path(directory: Path) -> Path:
    """The lock file of ``directory``: beside it, so it outlives a swap of the directory."""
    directory = directory.resolve()
    return directory.parent / f".{directory.name}.lock"


def _holder() -> str:
    command = " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:]) if sys.argv else "?"
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    return f"pid {os.getpid()} on {socket.gethostname()}, '{command}', since {started}"


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "another process"


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == path.stat().st_ino
    except FileNotFoundError:
        return False


@contextmanager
def writer_lock(directory: Path) -> Iterator[None]:
    """Hold the exclusive write lock of ``directory``; refuse at once if another job has it.

    Once it holds the lock it removes what interrupted jobs left beside the directory.
    """
    path = lock_path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise SeqaeError(
                f"{directory}: another seqae job is writing it ({holder}); wait for it to "
                "finish or choose another --out"
            ) from None
        if _same_file(fd, path):
            break
        os.close(fd)  # the holder finished and removed the file meanwhile: lock the new one
    removed = remove_stale_temporaries(directory)
    if removed:
        logger.info("removed %d temporary folders left by an interrupted job", len(removed))
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, (_holder() + "\n").encode("utf-8"), 0)
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Delete what killed jobs left beside ``directory`` (``.NAME.*.tmp`` / ``.old``).

    Call it only while holding ``writer_lock(directory)``: then no live job owns them.
    """
    import shutil

    directory = directory.resolve()
    # exactly the names index.atomic's mkdtemp gives: ".NAME." + 8 characters + suffix
    pattern = re.compile(rf"\.{re.escape(directory.name)}\.[a-z0-9_]{{8}}\.(tmp|old)")
    removed = []
    if not directory.parent.is_dir():
        return removed
    for path in directory.parent.iterdir():
        if pattern.fullmatch(path.name) and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


# Settings a resumed run may change: how long and on what it runs, not what it learns.
RESUMABLE_SETTINGS = frozenset(
    {
        "epochs", "max_minutes", "patience", "threads", "loader_workers", "devices",
        "num_nodes", "strategy", "accelerator",
    }
)  # fmt: skip


def config_changes(old: dict, new: dict, parts: Iterable[str]) -> list[str]:
    """What differs between a run's recorded config and a new one, as ``part.name (old -> new)``.

    In the ``train`` part the settings of RESUMABLE_SETTINGS may change; a setting the old
    config does not record (written before it existed) is taken to be unchanged.
    """
    changes = []
    for part in parts:
        before, after = old.get(part), new.get(part)
        if isinstance(before, dict) and isinstance(after, dict):
            free = RESUMABLE_SETTINGS if part == "train" else frozenset()
            changes += [
                f"{part}.{name} ({before[name]!r} -> {after.get(name)!r})"
                for name in sorted(before)
                if name not in free and before[name] != after.get(name)
            ]
        elif before != after:
            changes.append(f"{part} ({before!r} -> {after!r})")
    return changes


def check_resumable(out: Path, new: dict, parts: Iterable[str]) -> None:
    """Refuse to continue the run in ``out`` when its recorded config differs in ``parts``."""
    path = out / CONFIG_FILE
    old = json.loads(path.read_text()) if path.is_file() else {}
    changes = config_changes(old, new, parts)
    if changes:
        shown = ", ".join(changes[:4]) + (f" and {len(changes) - 4} more" * (len(changes) > 4))
        raise SeqaeError(
            f"{out}: holds a run with other settings ({shown}); pass --no-resume to start "
            "over or choose another --out"
        )


def resume_or_start_over(
    out: Path,
    resume: bool,
    config: dict,
    parts: Iterable[str],
    inputs: Iterable[Path],
    stages: Iterable[str] = (),
    files: Iterable[str] = (),
    writer: bool = True,
) -> bool:
    """The one resume check of both modalities: True if ``out`` holds a run to continue.

    Its recorded settings must agree with ``config`` in ``parts`` (see check_resumable). With
    ``resume`` False the checkpoints and logs, the ``stages`` (sub-runs such as the pretraining)
    and ``files`` are deleted first, never an input; ``writer`` False (the extra processes of a
    parallel run) deletes nothing.
    """
    import shutil

    inputs = tuple(inputs)
    if writer:
        check_output_dir(out, RUN, inputs=inputs)
    if not resume:
        for name in (CHECKPOINTS_DIR, LOGS_DIR, *stages) if writer else ():
            check_not_input(out / name, inputs)
            shutil.rmtree(out / name, ignore_errors=True)
        for name in files if writer else ():
            (out / name).unlink(missing_ok=True)
        return False
    begun = [last_checkpoint(out), *(out / stage / MODEL_FILE for stage in stages)]
    if not any(path.is_file() for path in begun):
        return False
    check_resumable(out, config, parts)
    logger.info("resuming the run in %s", out)
    return True


# One way to write a file: into a temporary file beside it, then a rename over it, so that a
# reader (or a job killed half-way) never sees half a file.


@contextmanager
def replaced_atomically(path: Path) -> Iterator[Path]:
    """A temporary path (``.NAME.tmp`` beside ``path``) to write; it replaces ``path`` when the
    block ends, and is removed if the block raises."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    with replaced_atomically(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: dict) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def write_csv_atomic(path: Path, columns: list[str], rows: Iterable[dict]) -> None:
    """A CSV file with a header row, from dict rows (UTF-8, ``\\n`` line ends)."""
    import csv
    import io

    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())


def save_array_atomic(path: Path, array) -> None:
    """``np.save``, whole or not at all."""
    import numpy as np

    with replaced_atomically(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, array)


def save_torch_atomic(payload: dict, path: Path) -> None:
    """``torch.save``, whole or not at all."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_bytes_atomic(path, buffer.getvalue())
