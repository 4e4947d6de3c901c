"""``seqae serve``: a search server and web page over one index directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqae.cli.common import cli_command, console, err_console

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_port_free(host: str, port: int) -> None:
    """Fail in one line, before the server starts, when ``host:port`` cannot be listened on."""
    import socket

    from seqae.errors import SeqaeError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise SeqaeError(f"--host {host}: not an address of this machine ({error})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself does
        try:
            probe.bind(address)
        except OSError as error:
            raise SeqaeError(f"{host}:{port}: cannot listen there ({error.strerror})") from None


def allowed_hosts(host: str, extra: list[str] | None) -> list[str] | None:
    """The Host names requests may carry: the listening address (with localhost when it is a
    loopback one) and ``extra``; None (any) when listening on every address without
    ``extra``. Other names are refused, so a web page cannot reach a local server through a
    name it controls (DNS rebinding)."""
    if extra:
        return [host, *extra]
    if host in ("0.0.0.0", "::"):
        return None
    return [host, *LOOPBACK] if host in LOOPBACK else [host]


@cli_command
def serve(
    index: Annotated[Path, typer.Argument(help="Index directory of 'seqae index build'.")],
    host: Annotated[
        str, typer.Option(help="Address to listen on; 0.0.0.0 opens it to other machines.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    max_upload_mb: Annotated[
        float, typer.Option(help="Largest query upload, in MB.", min=0.01)
    ] = 5.0,
    max_seconds: Annotated[
        float, typer.Option(help="Longest query clip, in seconds.", min=0.1)
    ] = 10.0,
    map_points: Annotated[
        int, typer.Option(help="Segments drawn on the page's embedding map (0: no map).", min=0)
    ] = 5000,
    seed: Annotated[int, typer.Option(help="Seed of the map's sample.")] = 0,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            help="Host name clients may reach the server by (repeatable); default: the "
            "address it listens on (and localhost on a loopback address), any name on 0.0.0.0.",
            show_default=False,
        ),
    ] = None,
    max_active: Annotated[
        int, typer.Option(help="Searches handled at once; more are told to retry (503).", min=1)
    ] = 16,
    max_clips: Annotated[
        int, typer.Option(help="Clips one query may send (several examples of a term).", min=1)
    ] = 10,
    max_context: Annotated[
        float,
        typer.Option(help="Most seconds of context played on each side of a hit.", min=0),
    ] = 5.0,
) -> None:
    """Serve INDEX: a web page at / (upload or record one or several clips of a term, hear the
    hits with a second of context, see where they fall in each recording and on the embedding
    map, export them for ELAN, Praat or a spreadsheet) and a JSON API (POST /search, GET
    /segments/ID/audio, POST /export, /healthz, /info; its schema at /openapi.json)."""
    import uvicorn

    from pipelines.server import ServerLimits, create_app
    from pipelines.server.uploads import MEGABYTE
    from seqae.errors import SeqaeError

    if not index.is_dir():
        raise SeqaeError(f"{index}: no such index directory")
    check_port_free(host, port)
    limits = ServerLimits(
        max_upload_bytes=int(max_upload_mb * MEGABYTE), max_seconds=max_seconds,
        max_active=max_active, max_clips=max_clips, max_context_seconds=max_context,
    )  # fmt: skip
    hosts = allowed_hosts(host, allow_host)
    with err_console.status(f"opening {index}"):
        app = create_app(index, limits, map_points=map_points, seed=seed, allowed_hosts=hosts)
        state = app.state.search
        state.warm_up()  # the first request is then as fast as the next
    if host not in LOOPBACK:
        err_console.print(
            f"[yellow]warning[/] listening on {host}: anyone who can reach this machine can "
            "search the index and play its audio",
            soft_wrap=True,
        )
    shown = f"[{host}]" if ":" in host else host
    console.print(
        f"serving {index} ({len(state.index):,} {state.modality} vectors) at "
        f"http://{shown}:{port}/ (API schema at /openapi.json); Ctrl+C stops",
        soft_wrap=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
