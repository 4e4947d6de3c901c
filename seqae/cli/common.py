"""Shared CLI pieces: one-line errors, rich progress bars, and run records."""

from __future__ import annotations

import functools
import inspect
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
from typer.core import TyperGroup

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

    wrapper.__doc__ = unwrapped(function.__doc__)
    return wrapper


def unwrapped(doc: str | None) -> str | None:
    """A docstring's paragraphs each on one line, so the help re-wraps them to the terminal
    instead of keeping the source's line breaks."""
    if not doc:
        return doc
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


UsageError = typer.BadParameter.__mro__[1]  # click's, as the Typer in use vendors it
ClickException = UsageError.__mro__[1]


class OneLineErrors(TyperGroup):
    """The app's group: a mistyped command line (an unknown option, a value not among the
    choices, a path that does not exist) is answered in one line, as every other error is."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except UsageError as error:
            message = error.format_message().replace("Value error, ", "")
            hint = f" (see '{error.ctx.command_path} --help')" if error.ctx else ""
            err_console.print(
                f"[bold red]error:[/] {message}{hint}", highlight=False, soft_wrap=True
            )  # noqa: E501
            sys.exit(error.exit_code)
        except ClickException as error:  # another problem click found with the command line
            err_console.print(f"[bold red]error:[/] {error.format_message()}", highlight=False)
            sys.exit(error.exit_code)
        except typer.Abort:
            err_console.print("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


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
    from seqae.runs import write_json_atomic

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


def refuse_text_input(run: Path, source: Path) -> None:
    """An audio model given a text corpus stops with a one-line error."""
    from pipelines.io.corpus import looks_like_text
    from seqae.errors import SeqaeError

    if looks_like_text(source):
        raise SeqaeError(
            f"{run}: an audio model (trained on speech); {source} holds text "
            "(train a text model with 'seqae train --modality text')"
        )


def report_corpus(skipped: list[str], repaired: list[str], limit: int = 10) -> None:
    """Say which lines were repaired (kept) and which were skipped, and why."""
    for note in repaired[:limit]:
        err_console.print(f"[yellow]warning[/] {note}", highlight=False, soft_wrap=True)
    if len(repaired) > limit:
        err_console.print(f"[yellow]... and {len(repaired) - limit} more warnings[/]")
    report_skipped(skipped, limit)
