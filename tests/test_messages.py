"""Bad input gets one line naming the file and the reason: manifests, corpora, audio paths."""

from __future__ import annotations

import codecs
import os
import shutil

import pytest
from typer.testing import CliRunner

from pipelines.io.corpus import read_corpus
from pipelines.io.manifest import read_manifest
from seqae.audio import load_audio
from seqae.cli import app
from seqae.errors import InputError, SeqaeError

runner = CliRunner()


@pytest.fixture
def clip(corpus, tmp_path):
    wav = next((corpus / "segments").glob("*.wav"))
    return shutil.copy(wav, tmp_path / "clip.wav")


def test_manifest_saved_with_a_byte_order_mark_is_read(clip, tmp_path):
    """Spreadsheets save "CSV UTF-8" with a BOM; Windows tools often write CRLF."""
    text = "path,label,speaker\r\nclip.wav,hello,ann\r\n"
    (tmp_path / "bom.csv").write_bytes(codecs.BOM_UTF8 + text.encode())
    (tmp_path / "utf16.csv").write_bytes(text.encode("utf-16"))  # with its own BOM
    for name in ("bom.csv", "utf16.csv"):
        (segment,) = read_manifest(tmp_path / name)
        assert segment.path == clip.resolve()
        assert segment.metadata == {"label": "hello", "speaker": "ann"}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"path\nclip.wav\n\x00\x01\x02", "binary data"),
        ("path,label\nclip.wav,caf\xe9\n".encode("latin-1"), "not UTF-8 text"),
        (b"path,start,end\nclip.wav,nan,1.0\n", "'start' holds 'nan', not a time"),
        (b"path,start,end\nclip.wav,0.1,inf\n", "'end' holds 'inf', not a time"),
        (b"path,start,end\nclip.wav,-2,1\n", "'start' holds '-2', not a time"),
    ],
)
def test_bad_manifests_are_refused_with_the_reason(clip, tmp_path, content, reason):
    manifest = tmp_path / "m.csv"
    manifest.write_bytes(content)
    with pytest.raises(SeqaeError, match=reason) as error:
        read_manifest(manifest)
    assert str(manifest) in str(error.value) and "\n" not in str(error.value)


def test_audio_paths_that_are_not_files_say_what_they_are(tmp_path):
    (tmp_path / "folder.wav").mkdir()
    os.symlink(tmp_path / "gone.wav", tmp_path / "link.wav")
    with pytest.raises(InputError, match="folder.wav: is a folder, not an audio file"):
        load_audio(tmp_path / "folder.wav")
    with pytest.raises(InputError, match="link.wav: dangling symbolic link .*gone.wav"):
        load_audio(tmp_path / "link.wav")
    with pytest.raises(InputError, match="nothing.wav: no such file"):
        load_audio(tmp_path / "nothing.wav")


def test_nan_times_are_refused_by_the_reader_too(clip):
    with pytest.raises(InputError, match="start is nan"):
        load_audio(clip, start=float("nan"), end=1.0)


def test_binary_and_utf16_text_files_are_skipped_with_their_reason(tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.txt").write_text("The first good sentence.\nAnd a second one.\n")
    (folder / "b.txt").write_bytes(bytes(range(256)) * 40)  # binary, NUL bytes included
    (folder / "c.txt").write_bytes("Saved as UTF-16.\n".encode("utf-16"))
    corpus = read_corpus(folder)
    assert corpus.texts == ["The first good sentence.", "And a second one."]
    assert any("b.txt: binary data" in line for line in corpus.skipped)
    assert any("c.txt: UTF-16 text" in line for line in corpus.skipped)
    with pytest.raises(SeqaeError, match="no sentences found .*b.txt: binary data"):
        read_corpus(folder / "b.txt")


def test_ingest_reports_a_dangling_link(recordings, trained_run, tmp_path):
    os.symlink(tmp_path / "moved-away.wav", recordings / "gone.wav")
    args = ["ingest", str(recordings), "--model", str(trained_run), "--out", str(tmp_path / "e")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "gone.wav: dangling symbolic link" in result.output
    assert "ingested 3 files" in result.output  # the link is not one of them


@pytest.mark.parametrize(
    ("option", "reason"),
    [
        (["--vad", "webrtcc"], "'webrtcc' is not one of 'webrtc', 'silero', 'energy'"),
        (["--segment", "windows", "--windows", "0"], "--windows must be positive lengths"),
        (["--segment", "windows", "--windows", "-1,0.5"], "--windows must be positive lengths"),
    ],
)
def test_ingest_settings_are_checked_before_any_output_exists(
    recordings, trained_run, tmp_path, option, reason
):
    out = tmp_path / "emb"
    args = ["ingest", str(recordings), "--model", str(trained_run), "--out", str(out), *option]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and reason in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and not out.exists()


def test_rerank_weight_outside_zero_to_one_is_refused(archive_index, clip):
    args = ["search", str(archive_index), str(clip), "--rerank", "dtw", "--rerank-weight", "5"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "rerank-weight" in result.output


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda data: b"", "empty model file"),
        (lambda data: data[: len(data) // 2], "damaged or cut short"),
        (lambda data: b"\x80\x04garbage that is no torch file", "not a seqae model file"),
    ],
)
def test_a_damaged_model_file_gives_one_line(corpus, trained_run, tmp_path, damage, reason):
    run = tmp_path / "run"
    run.mkdir()
    model = run / "model.pt"
    model.write_bytes(damage((trained_run / "model.pt").read_bytes()))
    args = ["embed", str(run), str(corpus / "archive.csv"), "--out", str(tmp_path / "emb")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {model}: {reason}")
    assert len(result.output.strip().splitlines()) == 1


def test_a_cut_short_checkpoint_stops_the_resumed_run_with_one_line(corpus, trained_run, tmp_path):
    from pipelines.train.speech import load_training_data, run_training
    from tests.conftest import tiny_job

    run = shutil.copytree(trained_run, tmp_path / "run")
    last = run / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:1000])
    job = tiny_job(corpus / "archive.csv", run)
    with pytest.raises(SeqaeError, match="last.ckpt: damaged or cut short.*--no-resume"):
        run_training(job, load_training_data(job), bars=False)


def _cut(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_cut_short_frames_give_one_line_and_the_server_turns_re_ranking_off(
    archive_index, clip, tmp_path
):
    import warnings

    from pipelines.server import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    index = shutil.copytree(archive_index, tmp_path / "idx")
    _cut(index / "frames.npy")
    result = runner.invoke(app, ["search", str(index), str(clip), "--rerank", "dtw"])
    assert result.exit_code == 2 and "frames.npy: damaged or cut short" in result.output
    assert len(result.output.strip().splitlines()) == 1
    client = TestClient(create_app(index))
    assert client.get("/info").json()["rerank"] is False
    files = {"file": ("q.wav", clip.read_bytes(), "audio/wav")}
    response = client.post("/search", files=files, data={"rerank": "dtw"})
    assert response.status_code == 422 and "cannot re-rank" in response.json()["detail"]
    assert client.post("/search", files=files).status_code == 200  # the rest still works


@pytest.mark.parametrize("damaged", ["vectors", "metadata", "info", "info-fields"])
def test_damaged_embedding_directories_give_one_line(archive_embeddings, tmp_path, damaged):
    emb = shutil.copytree(archive_embeddings, tmp_path / "emb")
    if damaged == "vectors":
        _cut(emb / "embeddings-00000.npy")
    elif damaged == "metadata":
        _cut(emb / "metadata-00000.parquet")
    elif damaged == "info":
        (emb / "embeddings.json").write_text('{"kind": "seqae-embeddings", "shards": [0')
    else:
        (emb / "embeddings.json").write_text('{"kind": "seqae-embeddings", "format_version": 1}')
    for args in (["index", "build", str(emb), "--out", str(tmp_path / "idx")],
                 ["viz", str(emb), "--out", str(tmp_path / "map.png")]):  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert str(emb) in result.output
    assert not (tmp_path / "idx").exists()
