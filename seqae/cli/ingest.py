"""``seqae ingest``: embed a folder of long recordings, segmenting them on the way."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqae.cli.choices import Engine, SegmentMode, VadMethod, choice, plain
from seqae.cli.common import cli_command, console, err_console, report_skipped, write_command_record

Mode = choice("Mode", [c.value for c in SegmentMode if c.value != "none"])


@cli_command
def ingest(
    audio_dir: Annotated[Path, typer.Argument(help="Folder of recordings (searched recursively).")],
    model: Annotated[Path, typer.Option("--model", "-m", help="Run directory of 'seqae train'.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Embedding directory to write.")],
    segment: Annotated[
        Mode, typer.Option(help="vad (speech regions) or windows (dense, several lengths).")
    ] = Mode["vad"],
    vad: Annotated[VadMethod, typer.Option(help="vad: the voice-activity detector.")] = VadMethod[
        "webrtc"
    ],
    trim_db: Annotated[
        float, typer.Option(help="vad: trim segment edges this many dB below the peak (0: off).")
    ] = 25.0,
    windows: Annotated[
        str, typer.Option(help="windows: lengths in seconds, comma-separated.")
    ] = "0.4,0.6,0.8",
    hop: Annotated[float, typer.Option(help="windows: seconds between starts.", min=0.01)] = 0.1,
    workers: Annotated[int, typer.Option(help="Files processed in parallel.", min=1)] = 1,
    engine: Annotated[
        Engine, typer.Option(help="local (a process pool) or ray (Ray Data actors, one each).")
    ] = Engine["local"],
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="ray: the cluster to use (auto, or ray://head:10001); default: a Ray instance "
            "started on this machine for this job.",
            show_default=False,
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Segments per inference batch.", min=1)] = 128,
    store_frames: Annotated[
        bool, typer.Option(help="Keep feature frames (float16) for 'search --rerank dtw'.")
    ] = True,
) -> None:
    """Cut every recording under AUDIO_DIR into segments and embed them into OUT (re-runs add
    only new files; an interrupted run continues where it stopped)."""
    from pipelines.embed.ingest import IngestSettings, ingest

    segment, vad, engine = plain(segment), plain(vad), plain(engine)
    from pipelines.segment.longform import SegmentSettings
    from pipelines.segment.vad import RegionRules
    from seqae.errors import SeqaeError

    runner = _runner(engine, ray_address)
    try:
        durations = tuple(float(w) for w in windows.split(",") if w.strip())
    except ValueError:
        raise SeqaeError(f"--windows: not a comma-separated list of seconds: {windows!r}") from None
    settings = IngestSettings(
        segments=SegmentSettings(
            mode=segment, vad=vad, rules=RegionRules(trim_db=trim_db), durations=durations, hop=hop
        ),
        batch_size=batch_size,
        store_frames=store_frames,
    )
    with _audio_progress() as (advance, set_total):
        summary = ingest(audio_dir, model, out, settings, workers, advance, set_total, runner)
    record = {"model": str(model), "audio_dir": str(audio_dir), "engine": engine, **vars(settings)}
    write_command_record(out, record)
    report_skipped(summary.skipped)
    speed = summary.audio_seconds / summary.seconds if summary.seconds else 0.0
    console.print(
        f"ingested {summary.files} files ({summary.audio_seconds / 3600:.2f} h of audio, "
        f"{speed:.0f} x real time) into {summary.segments} segments; kept {summary.reused} "
        f"files from earlier runs; skipped {len(summary.skipped)}; model {summary.model_id} -> "
        f"{out}"
    )


def _runner(engine: str, address: str | None):
    """How the files are processed: None for the local process pool, or a Ray runner."""
    import importlib.util

    from seqae.errors import SeqaeError

    if engine == "local":
        if address is not None:
            raise SeqaeError("--ray-address: only with --engine ray")
        return None
    if importlib.util.find_spec("ray") is None:
        raise SeqaeError("--engine ray needs Ray: pip install 'ray[data]'")
    from pipelines.embed.ingest_ray import ray_runner

    return ray_runner(address)


def _audio_progress():
    """A rich bar counted in audio hours, with the speed in hours of audio per second."""
    from contextlib import contextmanager

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    @contextmanager
    def bar():
        columns = (
            TextColumn("ingesting"),
            BarColumn(),
            TextColumn("{task.completed:.2f} h{task.fields[total_hours]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=err_console) as progress:
            task = progress.add_task("ingest", total=None, rate="", total_hours="")

            def advance(seconds: float) -> None:
                progress.advance(task, seconds / 3600)
                elapsed = progress.tasks[task].elapsed or 0.0
                done = progress.tasks[task].completed
                if elapsed > 0:
                    progress.update(task, rate=f"{done / elapsed:.4f} h/s")

            def set_total(seconds: float) -> None:
                hours = seconds / 3600
                progress.update(task, total=hours, total_hours=f" of {hours:.2f} h")

            yield advance, set_total

    return bar()
