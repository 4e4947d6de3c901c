"""Files written before the one-house restructuring (by commit d7fe27c) still load and answer.

``tests/data/before-one-house`` holds a tiny model (``run/model.pt``), the embedding directory
it wrote for 9 clips (``emb``), the index built from it (``idx``), and one of the clips
(``query.wav``, spoken by the voice held out of training).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from pipelines.embed.shards import read_embeddings
from pipelines.search.build import open_index_with_model
from seqae.audio import compute_features, load_audio
from seqae.bundle import load_bundle
from seqae.cli import app

OLD = Path(__file__).parent / "data" / "before-one-house"
MODEL_ID = "a1dccfffc85b14f4"
QUERY = "lurk_espeak-en-gb+f3_0.wav"  # the name the clip had in the archive


def test_a_model_written_before_embeds_as_it_did(tmp_path):
    old = tmp_path / "old"
    shutil.copytree(OLD, old)
    bundle = load_bundle(old / "run")
    assert bundle.model_id == MODEL_ID and bundle.modality == "audio"
    embeddings = read_embeddings(old / "emb")
    assert embeddings.vectors.shape == (9, 4)
    names = [Path(p).name for p in embeddings.metadata.column("path").to_pylist()]
    features = compute_features(load_audio(old / "query.wav", 16000), bundle.features)
    np.testing.assert_allclose(
        bundle.embed([features])[0], embeddings.vectors[names.index(QUERY)], atol=1e-5
    )


def test_an_index_written_before_opens_and_answers(tmp_path):
    old = tmp_path / "old"
    shutil.copytree(OLD, old)
    index, bundle = open_index_with_model(old / "idx")
    assert len(index) == 9 and bundle.model_id == MODEL_ID
    result = CliRunner().invoke(
        app, ["search", str(old / "idx"), str(old / "query.wav"), "--rerank", "dtw", "--json"]
    )
    assert result.exit_code == 0, result.output
    hits = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert len(hits) == 9 and Path(hits[0]["path"]).name == QUERY
    manifest = tmp_path / "new.csv"
    manifest.write_text(f"path,label,speaker\n{old / 'query.wav'},lurk,espeak-en-gb+f3\n")
    args = ["embed", str(old / "run"), str(manifest), "--out", str(tmp_path / "emb")]
    assert CliRunner().invoke(app, args).exit_code == 0  # written by today's code ...
    result = CliRunner().invoke(app, ["index", "add", str(old / "idx"), str(tmp_path / "emb")])
    assert result.exit_code == 0, result.output  # ... joins the old index
    assert len(open_index_with_model(old / "idx")[0]) == 10
