"""The search server: a FastAPI app over one index directory, with its web page at ``/``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from pipelines.search import DEFAULT_FUSION, FUSIONS
from pipelines.server.clips import segment_clip
from pipelines.server.export import ExportRequest, clean_term, export_file
from pipelines.server.state import ServerState, hit_rows, recording_rows
from pipelines.server.uploads import (
    FORM_OVERHEAD,
    BodyLimit,
    RequestError,
    ServerLimits,
    read_clips,
)

STATIC = Path(__file__).parent / "static"
RERANK_CHOICES = ("none", "dtw")


def plotly_js() -> Path:
    """plotly.js as shipped inside the plotly package: the page needs no network."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


# The page loads its scripts and styles from this server only; plotly adds <style> elements.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


def create_app(
    index_dir: Path,
    limits: ServerLimits | None = None,
    map_points: int = 5000,
    seed: int = 0,
    allowed_hosts: list[str] | None = None,
) -> FastAPI:
    """An app that searches ``index_dir`` (opened once, here) within ``limits``, answering
    only requests whose Host is one of ``allowed_hosts`` (None: any)."""
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    limits = limits or ServerLimits()
    state = ServerState(Path(index_dir), limits, map_points, seed)
    app = FastAPI(
        title="seqae search",
        summary=f"Query-by-example search of the index {state.index_dir.name}",
        version="1",
        docs_url=None,  # the interactive docs load their scripts from a CDN; the schema
        redoc_url=None,  # stays at /openapi.json
    )
    app.state.search = state
    app.add_middleware(
        BodyLimit,
        max_bytes=limits.max_upload_bytes + FORM_OVERHEAD,
        max_body_seconds=limits.max_body_seconds,
        max_active=limits.max_active,
    )
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)
    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)

    @app.exception_handler(RequestError)
    async def refused(request: Request, error: RequestError) -> JSONResponse:
        return JSONResponse({"detail": error.message}, status_code=error.status)

    add_page(app)
    add_api(app, state)
    return app


def add_page(app: FastAPI) -> None:
    """The web page, its scripts, and plotly.js from the installed package."""

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly() -> FileResponse:
        return FileResponse(plotly_js(), media_type="text/javascript")


def add_api(app: FastAPI, state: ServerState) -> None:
    """The JSON API: health, info, map, search, the segments' audio, and exports."""

    @app.get("/healthz", summary="Liveness: the index is open")
    def healthz() -> dict:
        return {"status": "ok", "vectors": len(state.index)}

    @app.get("/info", summary="The index, its model and the request limits")
    def info() -> dict:
        return state.info()

    @app.get("/map", summary="A sample of the indexed vectors on a 2-D PCA map")
    def embedding_map() -> dict:
        return map_json(state)

    @app.post("/search", summary="Search by uploaded clips of one term (speech) or a sentence")
    def search(
        file: Annotated[
            list[UploadFile] | None,
            File(description="Query clip(s): WAV, FLAC or OGG; several are examples of one term."),
        ] = None,
        text: Annotated[str | None, Form(description="Query sentence, for text indexes.")] = None,
        k: Annotated[int, Form(description="Number of hits.")] = 10,
        rerank: Annotated[str, Form(description="'dtw' re-ranks the top candidates.")] = "none",
        rerank_k: Annotated[int, Form(description="Candidates to re-rank.")] = 30,
        fusion: Annotated[
            str, Form(description="How several clips make one query: 'mean' or 'max'.")
        ] = DEFAULT_FUSION,
        term: Annotated[
            str | None, Form(description="The term's name (default: the first clip's name).")
        ] = None,
    ) -> dict:
        check_options(k, rerank, rerank_k, state)
        if fusion not in FUSIONS:
            choices = " or ".join(repr(name) for name in FUSIONS)
            raise RequestError(422, f"fusion must be {choices}, not {fusion!r}")
        if (not file) == (text is None):
            raise RequestError(400, "send either an audio 'file' or a 'text', not both or neither")
        options = SearchOptions(k, rerank_k if rerank == "dtw" else 0, fusion, term)
        return run_search(state, file or [], text, options)

    @app.get(
        "/segments/{segment_id}/audio",
        summary="An indexed segment's audio as WAV, optionally with its recording around it",
        response_class=Response,
        responses={200: {"content": {"audio/wav": {}}}},
    )
    def segment_audio(
        segment_id: int,
        context: Annotated[
            float, Query(description="Seconds of the recording to add on each side.")
        ] = 0.0,
    ) -> Response:
        limits = state.limits
        if not 0 <= context <= limits.max_context_seconds:
            bound = f"{limits.max_context_seconds:g}"
            raise RequestError(422, f"context must be between 0 and {bound} s, not {context}")
        if not 0 <= segment_id < len(state.index):
            raise RequestError(404, f"no segment {segment_id} in this index")
        row = state.index.metadata.slice(segment_id, 1).to_pylist()[0]
        clip = segment_clip(row, segment_id, limits.max_segment_seconds, context)
        headers = {"Cache-Control": "max-age=3600", **clip.headers()}
        return Response(clip.data, media_type="audio/wav", headers=headers)

    @app.post(
        "/export",
        summary="Hits as CSV, ELAN or Praat TextGrid (a .zip for several recordings)",
        response_class=Response,
    )
    def export(request: ExportRequest) -> Response:
        exported = export_file(state, request)
        return Response(exported.data, media_type=exported.media_type, headers=exported.headers())


@dataclass(frozen=True)
class SearchOptions:
    k: int
    rerank_k: int  # 0: no re-ranking
    fusion: str = DEFAULT_FUSION
    term: str | None = None


def map_json(state: ServerState) -> dict[str, Any]:
    if state.map is None:
        raise RequestError(404, "no embedding map for this index")
    plane = state.map
    return {
        "method": "pca",
        "column": plane.column,
        "total": len(state.index),
        "ids": plane.ids.tolist(),
        "x": plane.coords[:, 0].astype(float).round(5).tolist(),
        "y": plane.coords[:, 1].astype(float).round(5).tolist(),
        "labels": plane.labels,
    }


def run_search(
    state: ServerState, files: list[UploadFile], text: str | None, options: SearchOptions
) -> dict[str, Any]:
    """Search by the uploaded clips or the sentence; the hits, the recordings they are in,
    and the query's map position."""
    if files:
        clips = read_clips(files, state.limits)
        term = clean_term(options.term, Path(clips[0].name).stem or "query")
        result = state.search_clips(clips, options.k, options.rerank_k, options.fusion)
        query: dict[str, Any] = {
            "file": clips[0].name,
            "files": [clip.name for clip in clips],
            "seconds": round(sum(clip.seconds for clip in clips), 3),
            "fusion": options.fusion,
            "term": term,
        }
    else:
        result = state.search_text(text or "", options.k)
        query = {"text": text}
    placed = state.place(result.query_vector[None, :])
    if placed is not None:
        query["x"], query["y"] = placed[0]
    return {
        "query": query,
        "hits": hit_rows(result.hits, state.hit_positions(result.hits), state.root),
        "recordings": recording_rows(result.hits, state),
        "seconds": round(result.seconds, 4),
    }


def check_options(k: int, rerank: str, rerank_k: int, state: ServerState) -> None:
    """Refuse out-of-range search options with 422."""
    limits = state.limits
    if not 1 <= k <= limits.max_k:
        raise RequestError(422, f"k must be between 1 and {limits.max_k}, not {k}")
    if rerank not in RERANK_CHOICES:
        raise RequestError(422, f"rerank must be 'dtw' or 'none', not {rerank!r}")
    if rerank == "dtw" and not state.can_rerank:
        raise RequestError(
            422, "this index cannot re-rank: it holds no frames, or damaged ones (see the log)"
        )
    if rerank == "dtw" and not 1 <= rerank_k <= limits.max_rerank_k:
        raise RequestError(
            422, f"rerank_k must be between 1 and {limits.max_rerank_k}, not {rerank_k}"
        )


class SecurityHeaders:
    """ASGI middleware: every response says where its page may load from and be framed."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        return await self.app(scope, receive, send_with_headers)


class HeadAsGet:
    """ASGI middleware: HEAD on any GET route answers its headers, without the body."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def headers_only(message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body"):
                    return None
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        return await self.app({**scope, "method": "GET"}, receive, headers_only)
