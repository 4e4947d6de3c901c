from __future__ import annotations

import json
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from pipelines.embed.shards import read_embeddings
from pipelines.embed.speech import embed_archive
from pipelines.io.extract import extract_features, segment_features
from pipelines.io.manifest import read_manifest
from seqae.bundle import load_bundle
from seqae.config import FeatureConfig
from seqae.errors import SeqaeError


def _manifest_with_bad_items(corpus, tmp_path):
    (tmp_path / "corrupt.wav").write_bytes(b"not audio at all")
    lines = (corpus / "archive.csv").read_text().splitlines()
    rows = [f"{corpus}/{line}" if i else line for i, line in enumerate(lines)]
    rows.insert(3, f"{tmp_path}/corrupt.wav,x,y")
    rows.insert(6, f"{tmp_path}/missing.wav,x,y")
    path = tmp_path / "m.csv"
    path.write_text("\n".join(rows) + "\n")
    return path, len(rows) - 1


def test_shards_metadata_and_skips(corpus, trained_run, tmp_path):
    manifest, total = _manifest_with_bad_items(corpus, tmp_path)
    summary = embed_archive(trained_run, manifest, tmp_path / "emb", shard_size=5)
    assert summary.embedded == total - 2 and len(summary.skipped) == 2
    assert any("corrupt.wav: cannot decode" in s for s in summary.skipped)
    assert any("missing.wav: no such file" in s for s in summary.skipped)
    data = read_embeddings(tmp_path / "emb")
    assert data.vectors.shape == (total - 2, 16) and data.vectors.dtype == np.float32
    assert data.metadata.column_names[:3] == ["path", "start", "end"]
    assert {"label", "speaker"} <= set(data.metadata.column_names)
    assert (tmp_path / "emb" / "embeddings-00000.npy").is_file()
    info = json.loads((tmp_path / "emb" / "embeddings.json").read_text())
    assert info["count"] == total - 2 and info["model_id"] == load_bundle(trained_run).model_id
    first = pq.read_table(tmp_path / "emb" / "metadata-00000.parquet").to_pylist()[0]
    assert first["end"] > first["start"] == 0.0
    # row 0 holds the vector of the manifest's first segment, as the model gives it directly
    segment = read_manifest(manifest)[0]
    bundle = load_bundle(trained_run)
    direct = bundle.embed([segment_features(segment, bundle.features)[0]])
    np.testing.assert_allclose(data.vectors[0], direct[0], rtol=1e-5, atol=1e-6)
    assert first["path"] == str(segment.path)


def test_rerun_keeps_finished_shards(corpus, trained_run, tmp_path):
    out = tmp_path / "emb"
    embed_archive(trained_run, corpus / "archive.csv", out, shard_size=4)
    before = (out / "embeddings-00001.npy").stat().st_mtime_ns
    (out / "metadata-00002.parquet").unlink()  # as if the job died while writing shard 2
    info = json.loads((out / "embeddings.json").read_text())
    summary = embed_archive(trained_run, corpus / "archive.csv", out, shard_size=4)
    assert summary.embedded == 4 and summary.reused == info["count"] - 4
    assert (out / "embeddings-00001.npy").stat().st_mtime_ns == before
    assert len(read_embeddings(out).vectors) == info["count"]


def test_other_model_refused(corpus, trained_run, tmp_path):
    out = tmp_path / "emb"
    embed_archive(trained_run, corpus / "queries.csv", out)
    info = json.loads((out / "embeddings.json").read_text())
    info["model_id"] = "0123456789abcdef"
    (out / "embeddings.json").write_text(json.dumps(info))
    with pytest.raises(SeqaeError, match="holds embeddings of model 0123456789abcdef"):
        embed_archive(trained_run, corpus / "queries.csv", out)


def test_other_manifest_refused(corpus, trained_run, tmp_path):
    out = tmp_path / "emb"
    embed_archive(trained_run, corpus / "queries.csv", out)
    copy = tmp_path / "queries.csv"
    copy.write_text(
        (corpus / "queries.csv").read_text().replace("segments/", f"{corpus}/segments/")
    )
    with pytest.raises(SeqaeError, match="different manifest"):
        embed_archive(trained_run, copy, out)


def test_model_refuses_other_features(trained_run, tmp_path):
    bundle = load_bundle(trained_run)
    with pytest.raises(SeqaeError, match="trained on features"):
        bundle.check_features(FeatureConfig(kind="logmel"))
    shutil.copy(trained_run / "model.pt", tmp_path / "model.pt")
    assert load_bundle(tmp_path / "model.pt").model_id == bundle.model_id


def test_training_standardises_the_embeddings(corpus, trained_run):
    bundle = load_bundle(trained_run)
    assert not torch.all(bundle.model.embedding_scale == 1.0)
    extraction = extract_features(read_manifest(corpus / "archive.csv"), bundle.features)
    vectors = bundle.embed(extraction.features)  # the training segments
    np.testing.assert_allclose(vectors.mean(axis=0), 0.0, atol=1e-3)
    np.testing.assert_allclose(vectors.std(axis=0, ddof=1), 1.0, atol=1e-3)
