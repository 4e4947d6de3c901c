"""Shared fixtures: a tiny synthesised corpus and a tiny model trained on it (once per session)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipelines.demo.synth import SynthConfig, make_corpus
from pipelines.train.job import TrainJob
from pipelines.train.speech import load_training_data, run_training
from seqae.config import FeatureConfig, ModelConfig, TrainConfig

TINY_MODEL = dict(hidden_size=32, layers=1, embedding_dim=16, decoder_hidden_size=32)


def tiny_job(source: Path, out: Path, epochs: int = 3) -> TrainJob:
    features = FeatureConfig()
    model = ModelConfig(input_dim=features.dim, **TINY_MODEL)
    train = TrainConfig(objective="dae", epochs=epochs, batch_size=8, seed=0)
    return TrainJob(source, out, {"features": features, "model": model, "train": train})


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    """6 words x 4 voices (one held out for queries) and one long recording."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is required for the tests (apt-get install espeak-ng)")
    out = tmp_path_factory.mktemp("corpus")
    make_corpus(
        out,
        SynthConfig(
            words=6,
            speakers=4,
            query_speakers=1,
            long_recordings=1,
            words_per_long=4,
            seed=3,
            workers=2,
        ),
    )
    return out


@pytest.fixture(scope="session")
def trained_run(corpus, tmp_path_factory) -> Path:
    """A tiny GRU autoencoder trained for a few epochs on the corpus's archive side."""
    out = tmp_path_factory.mktemp("run")
    job = tiny_job(corpus / "archive.csv", out)
    run_training(job, load_training_data(job), bars=False)
    return out


@pytest.fixture(scope="session")
def archive_embeddings(corpus, trained_run, tmp_path_factory) -> Path:
    """The corpus's archive side embedded by the tiny model (with frames, for re-ranking)."""
    from pipelines.embed.speech import embed_archive

    out = tmp_path_factory.mktemp("archive") / "emb"
    embed_archive(trained_run, corpus / "archive.csv", out)
    return out


@pytest.fixture(scope="session")
def archive_index(archive_embeddings) -> Path:
    """An index directory over ``archive_embeddings``, with its model."""
    from pipelines.search.build import build_index_dir

    out = archive_embeddings.parent / "idx"
    build_index_dir(archive_embeddings, out)
    return out


@pytest.fixture
def recordings(corpus, tmp_path) -> Path:
    """Two copies of the corpus's long recording and a broken file, in a folder and a sub-folder."""
    folder = tmp_path / "audio"
    (folder / "b").mkdir(parents=True)
    long = next((corpus / "long").glob("*.wav"))
    shutil.copy(long, folder / "a.wav")
    shutil.copy(long, folder / "b" / "c.wav")
    (folder / "b" / "broken.wav").write_bytes(b"RIFF....WAVEfmt nonsense")
    return folder


@pytest.fixture
def tone_wav(tmp_path) -> Path:
    """A 0.5 s, 44.1 kHz stereo tone."""
    rate = 44100
    t = np.arange(int(0.5 * rate)) / rate
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    path = tmp_path / "tone.wav"
    sf.write(str(path), np.stack([tone, tone * 0.5], axis=1), rate)
    return path


@pytest.fixture
def model_reads(monkeypatch) -> list[str]:
    """The names of the files torch.load reads while a test runs (model.pt, checkpoints)."""
    import torch

    real, reads = torch.load, []

    def counting(path, *args, **kwargs):
        reads.append(Path(str(path)).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(torch, "load", counting)
    return reads
