"""The search server under abuse, on a real uvicorn server on 127.0.0.1: lying framing, stalled
uploads, too many at once, foreign Host names; and the headers every answer carries."""

from __future__ import annotations

import io
import socket
import threading
import time
import warnings
import zipfile
from pathlib import Path

import pytest

from pipelines.server import ServerLimits, create_app
from seqae.cli.serve import allowed_hosts

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2 instead of httpx
    from fastapi.testclient import TestClient


class LiveServer:
    """uvicorn serving ``app`` on a free port of 127.0.0.1, in a thread."""

    def __init__(self, app) -> None:
        import uvicorn

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="critical")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.server.started

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def read_status(conn: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1]), data


LIMITS = ServerLimits(max_upload_bytes=200_000, max_body_seconds=1.0, max_active=1)


@pytest.fixture(scope="module")
def live(archive_index):
    server = LiveServer(create_app(archive_index, LIMITS, map_points=0))
    yield server
    server.stop()


def test_chunked_body_with_a_small_content_length_is_cut_off_at_the_limit(live):
    conn = live.connect()
    conn.sendall(
        b"POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n"
        b"Transfer-Encoding: chunked\r\nContent-Type: multipart/form-data; boundary=b\r\n\r\n"
    )
    sent, chunk = 0, b"x" * 65536
    conn.settimeout(0.05)
    status = None
    while sent < 50_000_000:  # 50 MB, far past the 200 kB limit
        try:
            conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            break
        try:
            if conn.recv(16, socket.MSG_PEEK):
                conn.settimeout(10)
                status, _ = read_status(conn)
                break
        except (TimeoutError, BlockingIOError):
            continue
    conn.close()
    assert status == 413
    assert sent < 5_000_000  # refused after about the limit, not after the whole body


def test_a_stalled_upload_gets_408_and_a_second_search_meanwhile_503(live):
    stalled = live.connect()
    stalled.sendall(
        b"POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\n\r\n--b\r\n"
    )
    time.sleep(0.2)  # the stalled upload now holds the only place (max_active=1)
    busy = live.connect()
    busy.sendall(b"POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
    status, head = read_status(busy)
    assert status == 503 and b"retry-after: 2" in head.lower()
    busy.close()
    started = time.monotonic()
    status, _ = read_status(stalled)
    assert status == 408 and time.monotonic() - started < 5
    stalled.close()
    again = live.connect()  # the place is free again
    again.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert read_status(again)[0] == 200
    again.close()


def test_an_export_is_held_to_the_body_limit(live):
    hits = ",".join('{"id": 0, "score": 0.5}' for _ in range(20_000)).encode()  # 480 kB
    body = b'{"format": "csv", "hits": [' + hits + b"]}"
    conn = live.connect()
    conn.sendall(
        b"POST /export HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    status, head = read_status(conn)
    conn.close()
    assert status == 413 and b"application/json" in head


def test_only_the_servers_own_host_names_are_answered(archive_index):
    hosts = allowed_hosts("127.0.0.1", None)
    assert "localhost" in hosts and allowed_hosts("0.0.0.0", None) is None
    assert allowed_hosts("0.0.0.0", ["search.example.org"]) == ["0.0.0.0", "search.example.org"]
    client = TestClient(create_app(archive_index, map_points=0, allowed_hosts=hosts))
    assert client.get("/healthz", headers={"host": "127.0.0.1:8000"}).status_code == 200
    assert client.get("/healthz", headers={"host": "localhost:8000"}).status_code == 200
    rebound = client.get("/healthz", headers={"host": "attacker.example:8000"})
    assert rebound.status_code == 400


def test_security_headers_head_requests_and_relative_paths(archive_index, corpus):
    client = TestClient(create_app(archive_index, map_points=0))
    for url in ("/", "/info", "/static/app.js", "/segments/0/audio", "/segments/0/audio?context=1"):
        response = client.get(url)
        assert response.status_code == 200, url
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        head = client.head(url)
        assert head.status_code == 200 and head.content == b"", url
        assert head.headers["content-type"] == response.headers["content-type"]
    clip = next((corpus / "segments").glob("*.wav"))
    response = client.post("/search", files={"file": ("q.wav", clip.read_bytes(), "audio/wav")})
    assert response.status_code == 200
    for hit in response.json()["hits"]:
        assert not Path(hit["path"]).is_absolute() and str(corpus) not in hit["path"]
        assert hit["path"] == hit["file"]  # every archive file is in one folder, the root
    for recording in response.json()["recordings"]:
        assert not Path(recording["path"]).is_absolute()
    hits = [{"id": h["id"], "score": h["score"]} for h in response.json()["hits"]]
    for fmt in ("csv", "eaf", "textgrid"):
        exported = client.post("/export", json={"format": fmt, "hits": hits})
        assert exported.status_code == 200, exported.text
        assert "script-src 'self'" in exported.headers["content-security-policy"]
        assert exported.headers["content-disposition"].startswith("attachment; filename=")
        files = [exported.content]
        if exported.headers["content-type"] == "application/zip":
            with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
                files = [name.encode() for name in archive.namelist()]
                files += [archive.read(name) for name in archive.namelist()]
        assert all(str(corpus).encode() not in data for data in files), fmt


def test_warm_up_runs_a_search_of_each_kind(archive_index):
    state = create_app(archive_index, map_points=0).state.search
    assert state.warm_up() > 0 and state.can_rerank  # the tone went through both stages


def test_an_mp3_upload_is_refused_in_plain_words(archive_index):
    import numpy as np
    import soundfile as sf

    buffer = io.BytesIO()
    wave = (0.1 * np.sin(np.arange(16000) / 5)).astype(np.float32)
    sf.write(buffer, wave, 16000, format="MP3")
    client = TestClient(create_app(archive_index, map_points=0))
    files = {"file": ("talk.mp3", buffer.getvalue(), "audio/mpeg")}
    response = client.post("/search", files=files)
    assert response.status_code == 415
    assert response.json()["detail"] == "talk.mp3: MPEG-1/2 is not read here; send WAV, FLAC or OGG"
