"""Uploaded query clips: limits, checks, and a request-body cap, each failing with a clear 4xx."""

from __future__ import annotations

import asyncio
import io
from dataclasses import asdict, dataclass
from pathlib import PurePath

MEGABYTE = 1024 * 1024
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the small form fields beside the clip


@dataclass(frozen=True)
class ServerLimits:
    """What one request may ask of the server."""

    max_upload_bytes: int = 5 * MEGABYTE
    max_seconds: float = 10.0  # of a query clip
    max_k: int = 100
    max_rerank_k: int = 200
    max_text_chars: int = 2000
    max_segment_seconds: float = 30.0  # of audio served for one segment
    max_body_seconds: float = 30.0  # for an upload to arrive in full
    max_active: int = 16  # requests with a body (searches) at once; more get 503
    max_clips: int = 10  # example clips of one query term
    max_context_seconds: float = 5.0  # played on each side of a hit

    def to_dict(self) -> dict:
        return asdict(self)  # every limit: /info shows them all


class RequestError(Exception):
    """A request the server refuses: an HTTP status and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Clip:
    """An uploaded clip that soundfile can read, within the limits."""

    name: str
    data: bytes
    suffix: str  # from the decoded format, never from the client's file name
    seconds: float
    sample_rate: int


FORMAT_SUFFIXES = {"WAV": ".wav", "WAVEX": ".wav", "FLAC": ".flac", "OGG": ".ogg"}


def size_text(size: int) -> str:
    """A byte count for people: '5.0 MB', '20 kB'."""
    return f"{size / MEGABYTE:.1f} MB" if size >= MEGABYTE / 10 else f"{size / 1024:.0f} kB"


def shown_name(filename: str | None) -> str:
    """The client's file name, reduced to a short base name for messages."""
    name = PurePath((filename or "upload").replace("\\", "/")).name or "upload"
    return name[:80]


def check_clip(data: bytes, filename: str | None, limits: ServerLimits) -> Clip:
    """Check an uploaded clip's size, format and duration (not yet its samples)."""
    import soundfile as sf

    name = shown_name(filename)
    if not data:
        raise RequestError(400, f"{name}: empty upload (no bytes)")
    if len(data) > limits.max_upload_bytes:
        raise RequestError(
            413,
            f"{name}: too large; uploads are limited to {size_text(limits.max_upload_bytes)}",
        )
    try:
        info = sf.info(io.BytesIO(data))
    except Exception:  # libsndfile names no format it could not recognise
        raise RequestError(
            415, f"{name}: not audio the server can read (send WAV, FLAC or OGG)"
        ) from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise RequestError(400, f"{name}: holds no audio samples")
    seconds = info.frames / info.samplerate
    if seconds > limits.max_seconds:
        raise RequestError(
            422,
            f"{name}: {seconds:.1f} s long; query clips are limited to {limits.max_seconds:g} s",
        )
    suffix = FORMAT_SUFFIXES.get(info.format, ".wav" if info.format == "RF64" else "")
    if not suffix:
        kind = info.format_info.removesuffix(" Audio").strip() or info.format
        raise RequestError(415, f"{name}: {kind} is not read here; send WAV, FLAC or OGG")
    return Clip(name, data, suffix, seconds, info.samplerate)


def read_clips(uploads: list, limits: ServerLimits) -> list[Clip]:
    """Read and check the clips of one query (``UploadFile``s): at most ``max_clips`` of them,
    together within ``max_upload_bytes``."""
    if len(uploads) > limits.max_clips:
        raise RequestError(422, f"{len(uploads)} clips; one query takes at most {limits.max_clips}")
    clips, left = [], limits.max_upload_bytes
    for upload in uploads:
        data = upload.file.read(left + 1)
        if len(data) > left and len(uploads) > 1:
            raise RequestError(
                413, f"the {len(uploads)} clips together are too large; uploads are limited "
                f"to {size_text(limits.max_upload_bytes)} in all"
            )  # fmt: skip
        clips.append(check_clip(data, upload.filename, limits))
        left -= len(data)
    return clips


class BodyLimit:
    """ASGI middleware that reads every request body itself before the app sees it, and
    refuses what would hold the server:

    - 413 as soon as the bytes actually received pass ``max_bytes``, whatever Content-Length
      says (a body sent chunked, or with a Content-Length smaller than itself, is counted
      the same way); a declared length over the limit is refused before anything is read;
    - 408 when the body has not arrived within ``max_body_seconds`` (a stalled upload);
    - 503 with Retry-After when ``max_active`` requests with bodies are already in flight,
      so memory stays below ``max_active`` x ``max_bytes``.
    """

    def __init__(
        self, app, max_bytes: int, max_body_seconds: float = 30.0, max_active: int = 16
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_body_seconds = max_body_seconds
        self.max_active = max_active
        self.active = 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await self._refuse(send, 413, self._too_large())
        if self.active >= self.max_active:
            message = f"the server is busy ({self.max_active} searches at once); retry shortly"
            return await self._refuse(send, 503, message, [(b"retry-after", b"2")])
        self.active += 1
        try:
            try:
                body = await asyncio.wait_for(self._read(receive), self.max_body_seconds)
            except asyncio.TimeoutError:
                limit = f"{self.max_body_seconds:g} s"
                return await self._refuse(send, 408, f"upload not received within {limit}")
            except _TooLarge:
                return await self._refuse(send, 413, self._too_large())
            if body is None:
                return None  # the client went away
            replayed = False

            async def replay():
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            return await self.app(scope, replay, send)
        finally:
            self.active -= 1

    async def _read(self, receive) -> bytes | None:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                raise _TooLarge
            if not message.get("more_body"):
                return b"".join(chunks)

    def _too_large(self) -> str:
        limit = size_text(self.max_bytes - FORM_OVERHEAD)
        return f"request too large; uploads are limited to {limit}"

    async def _refuse(self, send, status: int, detail: str, extra: list | None = None) -> None:
        import json

        body = json.dumps({"detail": detail}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *(extra or []),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    """The body passed the limit while it was being read."""
