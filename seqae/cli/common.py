"""Shared CLI pieces: one-line errors, rich progress bars, and run records."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.logging import RichHandler

console = Console()
err_console = Console(stderr=True)


def cli_command(function: Callable) -> Callable:
    """Turn input errors into a one-line message and exit code 2 (128 + the signal for a run
    stopped by one), never a traceback."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from seqae.errors import SeqaeError

        _setup_logging()
        try:
            return function(*args, **kwargs)
        except SeqaeError as error:
            err_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(getattr(error, "exit_code", 2)) from None

    return wrapper


def _setup_logging() -> None:
    root = logging.getLogger()
    if not any(isinstance(h, RichHandler) for h in root.handlers):
        handler = RichHandler(console=err_console, show_time=False, show_path=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.addFilter(_QuietLightning())
        root.addHandler(handler)
    for name in ("seqae", "pipelines", "index"):
        logging.getLogger(name).setLevel(logging.INFO)


class _QuietLightning(logging.Filter):
    """Drop Lightning's INFO lines (devices found, tips); its warnings still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not record.name.startswith(
            ("pytorch_lightning", "lightning")
        )


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar; yields ``advance(n)``."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)


def write_command_record(directory: Path, config: dict[str, Any]) -> None:
    """Write the resolved config and the command line next to an output."""
    from pipelines.shards import write_json_atomic

    directory.mkdir(parents=True, exist_ok=True)
    write_json_atomic(directory / "command.json", {"argv": sys.argv, "config": config})


def print_json_lines(rows: list[dict[str, Any]]) -> None:
    """Print one JSON object per line on stdout."""
    for row in rows:
        typer.echo(json.dumps(row, default=str))


def report_skipped(skipped: list[str], limit: int = 10) -> None:
    """Say which inputs were skipped and why (the first ``limit`` of them)."""
    for reason in skipped[:limit]:
        err_console.print(f"[yellow]skipped[/] {reason}", highlight=False, soft_wrap=True)
    if len(skipped) > limit:
        err_console.print(f"[yellow]... and {len(skipped) - limit} more skipped[/]")
