"""Uploaded query clips: limits, checks, and a request-body cap, each failing with a clear 4xx."""

from __future__ import annotations

import io
from dataclasses import dataclass
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

    def to_dict(self) -> dict:
        return {
            "max_upload_bytes": self.max_upload_bytes,
            "max_seconds": self.max_seconds,
            "max_k": self.max_k,
            "max_rerank_k": self.max_rerank_k,
            "max_text_chars": self.max_text_chars,
        }


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
        raise RequestError(415, f"{name}: {info.format_info} audio; send WAV, FLAC or OGG")
    return Clip(name, data, suffix, seconds, info.samplerate)


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets 413 before the app reads it.

    A declared Content-Length is checked at once; a body sent without one (chunked) is read up
    to the limit and refused as soon as it passes it.
    """

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.max_bytes:
                return await self._refuse(send)
            return await self.app(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                return await self._refuse(send)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    async def _refuse(self, send) -> None:
        import json

        limit = size_text(self.max_bytes - FORM_OVERHEAD)
        body = json.dumps({"detail": f"request too large; uploads are limited to {limit}"})
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})
