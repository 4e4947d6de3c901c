"""Property-based checks (hypothesis): whatever manifest a user's tools write and whatever bytes
a client uploads, seqae answers with a one-line reason, never a traceback or a 500."""

from __future__ import annotations

import io
import shutil
import struct
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.io.extract import segment_features
from pipelines.io.manifest import read_manifest
from pipelines.server import create_app
from seqae.config import FeatureConfig
from seqae.errors import SeqaeError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2 instead of httpx
    from fastapi.testclient import TestClient

COLUMNS = ["path", "start", "end", "label", "speaker", "notes"]
TIMES = st.one_of(
    st.just(""),
    st.floats(allow_nan=True, allow_infinity=True, width=32).map(repr),
    st.sampled_from(["0", "0.1", "0,5", "1e999", "-0.0", "nan", "one", " 0.2 ", "0x10"]),
)
PATHS = st.sampled_from(["clip.wav", "./clip.wav", "missing.wav", "sub", "", " clip.wav", "é.wav"])
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@st.composite
def manifest_texts(draw) -> str:
    """The text of a CSV, good or bad."""
    columns = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=6, unique=True))
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        values = {"path": draw(PATHS), "start": draw(TIMES), "end": draw(TIMES)}
        row = [values.get(c) if c in values else draw(TEXT) for c in columns]
        if draw(st.booleans()):
            row = row[: draw(st.integers(0, len(row)))]  # a short row
        rows.append(",".join('"' + v.replace('"', '""') + '"' if "," in v else v for v in row))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return ending.join([",".join(columns), *rows]) + draw(st.sampled_from(["", ending]))


@st.composite
def manifests(draw) -> bytes:
    """A CSV as spreadsheets, scripts and editors write them, in any encoding, or damaged."""
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]))
    data = draw(manifest_texts()).encode(encoding, errors="replace")
    return data + draw(st.sampled_from([b"", b"\x00", b"\xff\xfe"]))


def _outcome(manifest: Path):
    try:
        return [(s.path, s.start, s.end, s.metadata) for s in read_manifest(manifest)]
    except SeqaeError as error:
        return str(error)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=manifest_texts(), encoding=st.sampled_from(["utf-8-sig", "utf-16"]))
def test_a_byte_order_mark_changes_nothing(folder, text, encoding):
    """Spreadsheets save "CSV UTF-8" with a BOM, Windows tools UTF-16: read as plain UTF-8."""
    plain, marked = folder / "plain.csv", folder / "marked.csv"
    plain.write_bytes(text.encode("utf-8"))
    marked.write_bytes(text.encode(encoding))
    expected = _outcome(plain)
    got = _outcome(marked)
    if isinstance(expected, str):
        assert isinstance(got, str) and got.replace("marked.csv", "plain.csv") == expected
    else:
        assert got == expected


@pytest.fixture(scope="module")
def folder(corpus):
    with tempfile.TemporaryDirectory() as name:
        root = Path(name)
        shutil.copy(next((corpus / "segments").glob("*.wav")), root / "clip.wav")
        (root / "sub").mkdir()
        yield root


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=manifests())
def test_any_manifest_is_read_or_refused_in_one_line(folder, data):
    manifest = folder / "m.csv"
    manifest.write_bytes(data)
    try:
        segments = read_manifest(manifest)
    except SeqaeError as error:
        assert "\n" not in str(error) and str(manifest) in str(error)
        return
    for segment in segments:  # every row read is then usable or skipped with its reason
        try:
            segment_features(segment, FeatureConfig())
        except SeqaeError as error:
            assert "\n" not in str(error)


def _wav(rate: int = 16000, seconds: float = 0.4) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    buffer = io.BytesIO()
    sf.write(buffer, (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), rate, format="WAV")
    return buffer.getvalue()


@st.composite
def uploads(draw) -> bytes:
    """Random bytes, or a real WAV whose header lies (sizes, rate, channels, bit depth)."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=4096))
    data = bytearray(_wav())
    fields = {4: "<I", 22: "<H", 24: "<I", 28: "<I", 32: "<H", 34: "<H", 40: "<I"}
    for offset in draw(st.lists(st.sampled_from(sorted(fields)), max_size=3, unique=True)):
        size = struct.calcsize(fields[offset])
        value = draw(st.integers(0, 2 ** (8 * size) - 1))
        data[offset : offset + size] = struct.pack(fields[offset], value)
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut]) if draw(st.booleans()) else bytes(data)


@pytest.fixture(scope="module")
def client(archive_index):
    return TestClient(create_app(archive_index, map_points=0), raise_server_exceptions=False)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=uploads(), rerank=st.sampled_from(["none", "dtw"]))
def test_any_upload_gets_an_answer_never_a_500(client, data, rerank):
    files = {"file": ("q.wav", data, "audio/wav")}
    response = client.post("/search", files=files, data={"rerank": rerank, "k": "3"})
    assert response.status_code < 500, response.text
    body = response.json()
    if response.status_code != 200:
        assert "\n" not in body["detail"] and body["detail"]
    else:
        assert len(body["hits"]) == 3
