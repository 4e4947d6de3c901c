"""The search server's API through FastAPI's test client, on a real index of the tiny model."""

from __future__ import annotations

import csv
import io
import socket
import warnings
from dataclasses import fields

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from typer.testing import CliRunner

from pipelines.search.speech import Query, search_audio
from pipelines.server import ServerLimits, create_app
from pipelines.server.clips import segment_wav
from pipelines.server.uploads import RequestError
from seqae.cli import app as cli_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2 instead of httpx
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def client(archive_index):
    return TestClient(create_app(archive_index))


@pytest.fixture(scope="module")
def query(corpus):
    """A clip of a voice the model never heard, and its word."""
    with open(corpus / "queries.csv", newline="") as handle:
        row = next(csv.DictReader(handle))
    return corpus / row["path"], row["label"]


def wav_bytes(samples: np.ndarray, rate: int = 16000, kind: str = "WAV") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=kind)
    return buffer.getvalue()


def tone(seconds: float, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def post_clip(client, data: bytes, name: str = "q.wav", **form):
    return client.post("/search", files={"file": (name, data, "audio/wav")}, data=form)


def test_health_info_page_and_docs(client, archive_index):
    assert client.get("/healthz").json() == {"status": "ok", "vectors": 18}
    info = client.get("/info").json()
    assert info["modality"] == "audio" and info["rerank"] and info["map"]
    assert info["limits"]["max_upload_bytes"] == 5 * 1024 * 1024
    assert info["limits"]["max_segment_seconds"] == 30.0
    assert set(info["limits"]) == {f.name for f in fields(ServerLimits)}
    page = client.get("/")
    assert page.status_code == 200 and "seqae search" in page.text
    for url in ("/static/app.js", "/static/wav.js", "/static/style.css", "/vendor/plotly.min.js"):
        assert client.get(url).status_code == 200, url
    assert client.get("/static/../clips.py").status_code == 404
    assert client.get("/docs").status_code == 404  # its scripts would come from a CDN
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/search", "/segments/{segment_id}/audio", "/healthz"} <= set(paths)


def test_search_matches_the_command_line_path(client, query, archive_index):
    clip, word = query
    response = post_clip(client, clip.read_bytes(), clip.name, k="5")
    assert response.status_code == 200, response.text
    body = response.json()
    expected = search_audio(archive_index, [Query(clip)], 5)[0]
    assert [h["id"] for h in body["hits"]] == [h.id for h in expected]
    assert [h["score"] for h in body["hits"]] == [round(h.score, 4) for h in expected]
    assert word in [h["label"] for h in body["hits"]]
    first = body["hits"][0]
    assert first["audio"] == f"/segments/{first['id']}/audio" and "row" not in first
    assert {"x", "y"} <= set(first) and {"x", "y", "seconds"} <= set(body["query"])
    assert body["query"]["file"] == clip.name


def test_search_with_rerank_and_flac(client, query, archive_index):
    clip, _ = query
    samples, rate = sf.read(clip, dtype="float32")
    flac = wav_bytes(samples, rate, "FLAC")
    response = post_clip(client, flac, "q.flac", k="3", rerank="dtw", rerank_k="10")
    assert response.status_code == 200, response.text
    expected = search_audio(archive_index, [Query(clip)], 3, rerank_k=10)[0]
    assert [h["id"] for h in response.json()["hits"]] == [h.id for h in expected]


def test_map_holds_every_vector(client):
    data = client.get("/map").json()
    assert data["method"] == "pca" and data["column"] == "label"
    assert sorted(data["ids"]) == list(range(18)) and len(data["x"]) == len(data["labels"]) == 18


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"", 400, "empty upload"),
        (b"just some text, not a recording" * 10, 415, "not audio"),
        (wav_bytes(tone(11.0)), 422, "limited to 10 s"),
        (wav_bytes(np.zeros(8000, dtype=np.float32)), 400, "silent"),
    ],
    ids=["empty", "not-audio", "too-long", "silent"],
)
def test_bad_uploads_get_clear_4xx(client, data, status, message):
    response = post_clip(client, data, "bad.wav")
    assert response.status_code == status, response.text
    assert message in response.json()["detail"] and "bad.wav" in response.json()["detail"]


def test_too_large_uploads_get_413(client, archive_index):
    big = wav_bytes(np.random.default_rng(0).uniform(-0.5, 0.5, 48000 * 60).astype(np.float32))
    response = post_clip(client, big, "big.wav")  # Content-Length over the limit
    assert response.status_code == 413 and "limited to 5.0 MB" in response.json()["detail"]

    def chunks():  # no Content-Length: counted as it arrives
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    response = client.post("/search", content=chunks(), headers={"content-type": "audio/wav"})
    assert response.status_code == 413

    small = TestClient(create_app(archive_index, ServerLimits(max_upload_bytes=20_000)))
    response = post_clip(small, wav_bytes(tone(1.0)), "one-second.wav")  # 32 kB in one part
    assert response.status_code == 413 and "one-second.wav" in response.json()["detail"]


def test_bad_options(client, query):
    clip, _ = query
    data = clip.read_bytes()
    assert post_clip(client, data, k="0").status_code == 422
    assert post_clip(client, data, k="1000").status_code == 422
    assert "rerank must be" in post_clip(client, data, rerank="hmm").json()["detail"]
    both = client.post("/search", files={"file": ("q.wav", data)}, data={"text": "hello"})
    assert both.status_code == 400 and "not both" in both.json()["detail"]
    assert client.post("/search", data={"k": "3"}).status_code == 400
    text = client.post("/search", data={"text": "hello there"})
    assert text.status_code == 400 and "upload an audio clip" in text.json()["detail"]


def test_segment_audio_is_cut_from_its_source(client, archive_index):
    row = pq.read_table(archive_index / "metadata.parquet").slice(4, 1).to_pylist()[0]
    response = client.get("/segments/4/audio")
    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
    served, rate = sf.read(io.BytesIO(response.content), dtype="float32")
    source, source_rate = sf.read(row["path"], dtype="float32")
    first, last = round(row["start"] * source_rate), round(row["end"] * source_rate)
    assert rate == source_rate and len(served) == last - first
    np.testing.assert_allclose(served, source[first:last], atol=1 / 32768)
    for bad in ("18", "-1", "99999999999"):
        assert client.get(f"/segments/{bad}/audio").status_code == 404
    assert client.get("/segments/abc/audio").status_code == 422
    assert client.get("/segments/..%2F..%2Fetc%2Fpasswd/audio").status_code in (404, 422)


def test_segment_audio_refusals(tmp_path, corpus):
    with pytest.raises(RequestError, match="not on the server") as missing:
        segment_wav({"path": str(tmp_path / "gone.wav"), "start": 0.0, "end": 1.0}, 3, 30.0)
    assert missing.value.status == 404
    with pytest.raises(RequestError, match="holds sentences"):
        segment_wav({"file": "a.txt", "line": 3, "text": "hi"}, 3, 30.0)
    clip = next((corpus / "segments").glob("*.wav"))
    audio, rate = sf.read(io.BytesIO(segment_wav({"path": str(clip)}, 0, 0.25)))
    assert len(audio) == round(0.25 * rate)  # whole-file segments are served up to the limit


@pytest.fixture(scope="module")
def text_index(tmp_path_factory):
    """A tiny sentence autoencoder and an index of its 40 sentences, through the CLI."""
    runner = CliRunner()
    root = tmp_path_factory.mktemp("text-server")
    words = "the a river stone light house quiet bright old green small city".split()
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(words, size=rng.integers(3, 8))) for _ in range(40)]
    (root / "sentences.txt").write_text("\n".join(lines) + "\n")
    tiny = ["--modality", "text", "--epochs", "1", "--hidden", "16", "--dim", "8"]
    tiny += ["--decoder-hidden", "16", "--token-dim", "8", "--batch-size", "16", "--threads", "1"]
    for args in (
        ["train", root / "sentences.txt", "--out", root / "run", *tiny],
        ["embed", root / "run", root / "sentences.txt", "--out", root / "emb"],
        ["index", "build", root / "emb", "--out", root / "idx"],
    ):
        result = runner.invoke(cli_app, [str(a) for a in args])
        assert result.exit_code == 0, result.output
    return root / "idx", lines


def test_text_index_takes_sentences(text_index):
    index, lines = text_index
    client = TestClient(create_app(index))
    assert client.get("/info").json()["modality"] == "text"
    response = client.post("/search", data={"text": lines[0], "k": "3"})
    assert response.status_code == 200, response.text
    hits = response.json()["hits"]
    assert len(hits) == 3 and hits[0]["text"] == lines[0] and "audio" not in hits[0]
    assert "x" in response.json()["query"]
    empty = client.post("/search", data={"text": "   "})
    assert empty.status_code == 400 and "empty query sentence" in empty.json()["detail"]
    clip = post_clip(client, wav_bytes(tone(0.5)))
    assert clip.status_code == 400 and "holds sentences" in clip.json()["detail"]
    audio = client.get("/segments/0/audio")
    assert audio.status_code == 404 and "holds sentences" in audio.json()["detail"]


def test_serve_command_checks_before_listening(archive_index, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli_app, ["serve", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "no such index directory" in result.output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(cli_app, ["serve", str(archive_index), "--port", str(port)])
    assert result.exit_code == 2 and f"127.0.0.1:{port}: cannot listen" in result.output
    result = runner.invoke(cli_app, ["serve", str(archive_index), "--host", "192.0.2.1"])
    assert result.exit_code == 2 and "192.0.2.1:8000: cannot listen" in result.output
    assert "127.0.0.1" in runner.invoke(cli_app, ["serve", "--help"]).output
