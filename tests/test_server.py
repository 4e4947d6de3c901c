"""The search server's API through FastAPI's test client, on a real index of the tiny model."""

from __future__ import annotations

import csv
import io
import shutil
import socket
import warnings
import zipfile
from dataclasses import fields
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from typer.testing import CliRunner

from pipelines.search.speech import Query, search_audio
from pipelines.server import ServerLimits, create_app
from pipelines.server.clips import segment_clip
from pipelines.server.uploads import RequestError
from seqae.cli import app as cli_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2 instead of httpx
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def client(archive_index):
    return TestClient(create_app(archive_index))


def build_long_index(corpus: Path, trained_run: Path, root: Path) -> Path:
    """An index of two long recordings, as ``seqae ingest`` and ``seqae index build`` make it:
    the corpus's long recording (a.wav) and its first 2.9 s (b/short.wav)."""
    from pipelines.embed.ingest import ingest
    from pipelines.search.build import build_index_dir

    folder = root / "recordings"
    (folder / "b").mkdir(parents=True)
    long = next((corpus / "long").glob("*.wav"))
    shutil.copy(long, folder / "a.wav")
    samples, rate = sf.read(long, dtype="float32")
    sf.write(folder / "b" / "short.wav", samples[: round(2.9 * rate)], rate)
    ingest(folder, trained_run, root / "emb")
    build_index_dir(root / "emb", root / "idx")
    return root / "idx"


@pytest.fixture(scope="module")
def long_index(corpus, trained_run, tmp_path_factory):
    return build_long_index(corpus, trained_run, tmp_path_factory.mktemp("long-server"))


@pytest.fixture(scope="module")
def long_client(long_index):
    return TestClient(create_app(long_index))


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


def post_clips(client, paths: list[Path], **form):
    files = [("file", (p.name, p.read_bytes(), "audio/wav")) for p in paths]
    return client.post("/search", files=files, data=form)


def first_word(corpus: Path) -> str:
    with open(corpus / "queries.csv", newline="") as handle:
        return next(csv.DictReader(handle))["label"]


def examples(corpus: Path, word: str) -> list[Path]:
    """Clips of ``word``: the held-out voice's, then the archive's."""
    rows = []
    for name in ("queries.csv", "archive.csv"):
        with open(corpus / name, newline="") as handle:
            rows += [corpus / r["path"] for r in csv.DictReader(handle) if r["label"] == word]
    return rows


def test_health_info_page_and_docs(client, archive_index):
    assert client.get("/healthz").json() == {"status": "ok", "vectors": 18}
    info = client.get("/info").json()
    assert info["modality"] == "audio" and info["rerank"] and info["map"]
    assert info["limits"]["max_upload_bytes"] == 5 * 1024 * 1024
    assert info["limits"]["max_segment_seconds"] == 30.0
    assert info["limits"]["max_clips"] == 10 and info["limits"]["max_context_seconds"] == 5.0
    assert set(info["limits"]) == {f.name for f in fields(ServerLimits)}
    page = client.get("/")
    assert page.status_code == 200 and "seqae search" in page.text
    static = ("app.js", "recordings.js", "wav.js", "style.css")
    for url in (*(f"/static/{name}" for name in static), "/vendor/plotly.min.js"):
        assert client.get(url).status_code == 200, url
    assert client.get("/static/../clips.py").status_code == 404
    assert client.get("/docs").status_code == 404  # its scripts would come from a CDN
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/search", "/segments/{segment_id}/audio", "/healthz", "/export"} <= set(paths)


def test_search_matches_the_command_line_path(client, query, archive_index, corpus):
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
    assert body["query"]["file"] == clip.name and body["query"]["files"] == [clip.name]
    assert body["query"]["term"] == clip.stem and body["query"]["fusion"] == "mean"
    shown_files = {h["path"] for h in body["hits"]}  # one recording per archive segment
    durations = {p: round(sf.info(corpus / "segments" / p).duration, 3) for p in shown_files}
    assert body["recordings"] == [
        {"path": p, "file": p, "duration": durations[p]} for p in sorted(shown_files)
    ]


@pytest.mark.parametrize(("fusion", "rerank"), [("mean", 0), ("max", 0), ("max", 10)])
def test_several_clips_are_one_query(client, corpus, archive_index, fusion, rerank):
    clips = examples(corpus, first_word(corpus))[:3]
    form = {"k": "5", "fusion": fusion, "term": "the word"}
    if rerank:
        form |= {"rerank": "dtw", "rerank_k": str(rerank)}
    response = post_clips(client, clips, **form)
    assert response.status_code == 200, response.text
    body = response.json()
    expected = search_audio(
        archive_index, [[Query(c) for c in clips]], 5, rerank_k=rerank, fusion=fusion
    )[0]
    assert [h["id"] for h in body["hits"]] == [h.id for h in expected]
    assert [h["score"] for h in body["hits"]] == [round(h.score, 4) for h in expected]
    query = body["query"]
    assert query["files"] == [c.name for c in clips] and query["file"] == clips[0].name
    assert query["fusion"] == fusion and query["term"] == "the word"
    assert query["seconds"] == pytest.approx(sum(sf.info(c).duration for c in clips), abs=2e-3)
    assert {"x", "y"} <= set(query)


def test_several_clips_refusals(client, corpus, archive_index):
    clips = examples(corpus, first_word(corpus))[:2]
    bad = post_clips(client, clips, fusion="median")
    assert bad.status_code == 422
    assert bad.json() == {"detail": "fusion must be 'mean' or 'max', not 'median'"}
    eleven = post_clips(client, (clips * 6)[:11])
    assert eleven.status_code == 422
    assert eleven.json()["detail"] == "11 clips; one query takes at most 10"
    few = TestClient(create_app(archive_index, ServerLimits(max_clips=2), map_points=0))
    assert post_clips(few, clips).status_code == 200
    assert "at most 2" in post_clips(few, [*clips, clips[0]]).json()["detail"]
    # each clip within the limit, together over it
    small = TestClient(
        create_app(archive_index, ServerLimits(max_upload_bytes=40_000), map_points=0)
    )
    one_second = wav_bytes(tone(1.0))  # 32 kB
    files = [("file", (f"t{n}.wav", one_second, "audio/wav")) for n in range(2)]
    together = small.post("/search", files=files)
    assert together.status_code == 413 and "2 clips together" in together.json()["detail"]
    files = [("file", ("t.wav", one_second, "audio/wav")), ("file", ("bad.wav", b"", "audio/wav"))]
    empty = client.post("/search", files=files)
    assert empty.status_code == 400 and "bad.wav: empty upload" in empty.json()["detail"]
    term = post_clips(client, clips, term="a\nb")
    assert term.status_code == 422 and "control characters" in term.json()["detail"]


def test_term_and_download_names():
    from pipelines.server.export import clean_term, safe_name

    assert clean_term("  snuggest ") == "snuggest" and clean_term("", "a\tb") == "ab"
    assert clean_term(None, "\n") == "query"  # a file name is cleaned, a given term refused
    assert safe_name('señor "x".wav') == "se_or_x_.wav" and safe_name("..") == "hits"


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
    assert float(response.headers["x-hit-start"]) == 0.0
    assert float(response.headers["x-clip-start"]) == pytest.approx(row["start"], abs=1e-3)
    same = client.get("/segments/4/audio", params={"context": "0"})
    assert same.content == response.content
    for bad in ("18", "-1", "99999999999"):
        assert client.get(f"/segments/{bad}/audio").status_code == 404
    assert client.get("/segments/abc/audio").status_code == 422
    assert client.get("/segments/..%2F..%2Fetc%2Fpasswd/audio").status_code in (404, 422)


def test_segment_audio_refusals(tmp_path, corpus):
    with pytest.raises(RequestError, match="not on the server") as missing:
        segment_clip({"path": str(tmp_path / "gone.wav"), "start": 0.0, "end": 1.0}, 3, 30.0)
    assert missing.value.status == 404
    with pytest.raises(RequestError, match="holds sentences"):
        segment_clip({"file": "a.txt", "line": 3, "text": "hi"}, 3, 30.0)
    clip = next((corpus / "segments").glob("*.wav"))
    audio, rate = sf.read(io.BytesIO(segment_clip({"path": str(clip)}, 0, 0.25).data))
    assert len(audio) == round(0.25 * rate)  # whole-file segments are served up to the limit
    served = segment_clip({"path": str(clip)}, 0, 0.25, context=1.0)
    assert served.clip_start == 0.0 and served.hit_end == pytest.approx(0.25)
    assert served.clip_end == pytest.approx(min(1.25, sf.info(clip).duration), abs=1e-4)


def test_segments_play_with_context_within_their_recording(long_client, long_index):
    rows = pq.read_table(long_index / "metadata.parquet").to_pylist()
    assert {Path(r["path"]).name for r in rows} == {"a.wav", "short.wav"}
    for segment_id, row in enumerate(rows):
        source, rate = sf.read(row["path"], dtype="float32")
        duration = len(source) / rate
        response = long_client.get(f"/segments/{segment_id}/audio", params={"context": "1"})
        assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
        served, served_rate = sf.read(io.BytesIO(response.content), dtype="float32")
        begin, end = max(0.0, row["start"] - 1.0), min(duration, row["end"] + 1.0)
        assert served_rate == rate and len(served) / rate == pytest.approx(end - begin, abs=2e-3)
        first = round(begin * rate)
        np.testing.assert_allclose(served, source[first : first + len(served)], atol=1 / 32768)
        head = {name: float(response.headers[f"x-{name}"]) for name in
                ("clip-start", "clip-end", "hit-start", "hit-end")}  # fmt: skip
        assert head["clip-start"] == pytest.approx(begin, abs=1e-3)
        assert head["clip-end"] == pytest.approx(end, abs=1e-3)
        assert head["hit-start"] == pytest.approx(row["start"] - begin, abs=1e-3)
        assert head["hit-end"] - head["hit-start"] == pytest.approx(
            row["end"] - row["start"], abs=1e-3
        )
    assert rows[0]["start"] < 1.0  # the first segment's clip is cut at the file's start
    assert any(r["end"] + 1.0 > sf.info(r["path"]).duration for r in rows)  # and one at its end
    big = long_client.get("/segments/0/audio", params={"context": "5"})
    assert big.status_code == 200
    for bad in ("-1", "5.5", "nan", "inf"):
        refused = long_client.get("/segments/0/audio", params={"context": bad})
        assert refused.status_code == 422, bad
        assert refused.json()["detail"].startswith("context must be between 0 and 5 s")
    assert long_client.get("/segments/0/audio", params={"context": "abc"}).status_code == 422
    assert long_client.get("/segments/6/audio", params={"context": "1"}).status_code == 404


def long_search(long_client, corpus) -> dict:
    clips = examples(corpus, long_word(corpus))[:2]
    response = post_clips(long_client, clips, k="10")
    assert response.status_code == 200, response.text
    return response.json()


def long_word(corpus: Path) -> str:
    with open(corpus / "long.csv", newline="") as handle:
        return next(csv.DictReader(handle))["label"]


def test_search_answer_gives_each_recordings_duration(long_client, corpus, long_index):
    body = long_search(long_client, corpus)
    folder = long_index.parent / "recordings"
    assert len(body["hits"]) == 6  # every segment: k is more than the index holds
    assert body["recordings"] == [
        {
            "path": name,
            "file": Path(name).name,
            "duration": round(sf.info(folder / name).duration, 3),
        }
        for name in ("a.wav", "b/short.wav")
    ]
    assert {h["path"] for h in body["hits"]} == {"a.wav", "b/short.wav"}


def exported(client, fmt: str, hits: list[dict], term: str = "the term"):
    body = {
        "format": fmt,
        "term": term,
        "hits": [{"id": h["id"], "score": h["score"]} for h in hits],
    }
    return client.post("/export", json=body)


def test_export_csv_elan_and_textgrid(long_client, corpus, tmp_path):
    import pympi
    from praatio import textgrid

    hits = long_search(long_client, corpus)["hits"]
    shown = {(h["path"], round(h["start"], 3), round(h["end"], 3), h["score"]) for h in hits}
    response = exported(long_client, "csv", hits)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="the_term.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["term"] for r in rows} == {"the term"}
    got = {(r["path"], float(r["start"]), float(r["end"]), float(r["score"])) for r in rows}
    assert got == shown and len(rows) == len(hits)

    for fmt, suffix in (("eaf", ".eaf"), ("textgrid", ".TextGrid")):
        response = exported(long_client, fmt, hits)
        assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
        assert (
            response.headers["content-disposition"] == f'attachment; filename="the_term-{fmt}.zip"'
        )
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            assert sorted(archive.namelist()) == [f"a{suffix}", f"b/short{suffix}"]
            archive.extractall(tmp_path / fmt)
        found = set()
        for name, recording in ((f"a{suffix}", "a.wav"), (f"b/short{suffix}", "b/short.wav")):
            path = str(tmp_path / fmt / name)
            if fmt == "eaf":
                eaf = pympi.Elan.Eaf(path)
                assert list(eaf.get_tier_names()) == ["the term"]
                media = eaf.media_descriptors[0]
                assert media["MEDIA_URL"] == Path(recording).name  # beside it, not the server's
                spans = [
                    (s / 1000, e / 1000, v)
                    for s, e, v in eaf.get_annotation_data_for_tier("the term")
                ]
            else:
                grid = textgrid.openTextgrid(path, includeEmptyIntervals=False)
                assert grid.tierNames == ("the term",)
                spans = [(e.start, e.end, e.label) for e in grid.getTier("the term").entries]
            for start, end, label in spans:
                score = float(label.split()[-1])
                found.add((recording, round(start, 3), round(end, 3), score))
        assert {(p, s, e, round(sc, 3)) for p, s, e, sc in shown} == found

    one = [h for h in hits if h["path"] == "b/short.wav"]
    response = exported(long_client, "textgrid", one)
    assert response.headers["content-disposition"] == 'attachment; filename="short.TextGrid"'
    (tmp_path / "short.TextGrid").write_bytes(response.content)
    grid = textgrid.openTextgrid(str(tmp_path / "short.TextGrid"), includeEmptyIntervals=False)
    assert grid.maxTimestamp == pytest.approx(2.9, abs=1e-3)  # the recording's duration
    assert len(grid.getTier("the term").entries) == len(one)


def test_export_refusals(long_client, client, corpus, text_index):
    hits = long_search(long_client, corpus)["hits"]
    unknown = exported(long_client, "csv", [*hits, {"id": 6, "score": 0.5}])
    assert unknown.status_code == 404 and unknown.json() == {"detail": "no segment 6 in this index"}
    assert exported(long_client, "csv", [{"id": -1, "score": 0.5}]).status_code == 404
    bad = exported(long_client, "pdf", hits)
    assert bad.status_code == 422
    assert bad.json()["detail"] == "format must be one of csv, eaf, textgrid, not 'pdf'"
    none = exported(long_client, "csv", [])
    assert none.status_code == 422 and none.json()["detail"] == "send 1 to 100 hits, not 0"
    term = exported(long_client, "eaf", hits, term="a\tb")
    assert term.status_code == 422 and "control characters" in term.json()["detail"]
    assert "limit is 100" in exported(long_client, "csv", hits, term="x" * 101).json()["detail"]
    nan = long_client.post(
        "/export", content=b'{"format": "csv", "hits": [{"id": 1, "score": NaN}]}',
        headers={"content-type": "application/json"},
    )  # fmt: skip
    assert nan.status_code == 422 and "not a number" in nan.json()["detail"]
    path = long_client.post("/export", json={"format": "csv", "hits": [{"path": "/etc/passwd"}]})
    assert path.status_code == 422  # only ids are taken
    text_client = TestClient(create_app(text_index[0]))
    sentences = exported(text_client, "csv", [{"id": 0, "score": 1.0}])
    assert sentences.status_code == 400 and "holds sentences" in sentences.json()["detail"]


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
