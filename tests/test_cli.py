"""Every command, run through the real Typer app on tiny real data."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from seqae.cli import app

runner = CliRunner()
TINY = [
    "--epochs",
    "2",
    "--pretrain-epochs",
    "1",
    "--hidden",
    "16",
    "--layers",
    "1",
    "--dim",
    "8",
    "--decoder-hidden",
    "16",
    "--batch-size",
    "8",
]


def run(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def flat(output: str) -> str:
    """Output as one line: rich's boxes and line wrapping taken out."""
    return " ".join(output.replace("│", " ").split())


def test_help_lists_every_command():
    result = run("--help")
    for command in ("synth", "train", "embed", "index", "search", "eval"):
        assert command in result.output


@pytest.fixture(scope="module")
def workspace(corpus, tmp_path_factory):
    """train -> embed -> index build, each through the CLI."""
    root = tmp_path_factory.mktemp("cli")
    result = run("train", corpus / "archive.csv", "--out", root / "run", *TINY)
    assert result.exit_code == 0, result.output
    assert (root / "run" / "model.pt").is_file() and (
        root / "run" / "checkpoints" / "last.ckpt"
    ).is_file()
    assert list((root / "run" / "logs").glob("version_*/metrics.csv"))
    result = run("embed", root / "run", corpus / "segments.csv", "--out", root / "emb")
    assert result.exit_code == 0 and "embedded 24 segments" in result.output
    result = run("index", "build", root / "emb", "--out", root / "idx")
    assert result.exit_code == 0 and "indexed 24 vectors" in result.output
    return root


def test_synth(tmp_path):
    result = run(
        "synth",
        tmp_path / "c",
        "--words",
        "2",
        "--speakers",
        "3",
        "--query-speakers",
        "1",
        "--long",
        "1",
        "--words-per-long",
        "2",
    )
    assert result.exit_code == 0, result.output
    assert "wrote 6 segments" in result.output
    assert len((tmp_path / "c" / "segments.csv").read_text().splitlines()) == 7
    assert len((tmp_path / "c" / "long.csv").read_text().splitlines()) == 3


def test_train_resumes(workspace, corpus):
    result = run(
        "train", corpus / "archive.csv", "--out", workspace / "run", *TINY[:1], "3", *TINY[2:]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((workspace / "run" / "metrics.json").read_text())
    assert metrics["epochs"] == 3  # continued from epoch 2, not from scratch
    assert metrics["pairs"]["pairs"] > 0  # the default objective trains on discovered pairs


def test_train_refuses_to_resume_with_other_training_settings(workspace, corpus):
    before = (workspace / "run" / "checkpoints" / "last.ckpt").stat().st_mtime_ns
    args = ("train", corpus / "archive.csv", "--out", workspace / "run", *TINY)
    result = run(*args, "--objective", "dae")
    assert result.exit_code == 2, result.output
    assert "train.objective ('cae' -> 'dae')" in result.output and "--no-resume" in result.output
    result = run(*args, "--lr", "0.01")
    assert result.exit_code == 2 and "train.learning_rate" in result.output
    assert (workspace / "run" / "checkpoints" / "last.ckpt").stat().st_mtime_ns == before


def test_train_takes_a_gpu_when_there_is_one_and_refuses_one_that_is_not_there(
    workspace, corpus, tmp_path
):
    import torch

    config = json.loads((workspace / "run" / "config.json").read_text())
    assert config["train"]["accelerator"] == "auto"  # a GPU if there is one, else the CPU
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    args = ("train", corpus / "archive.csv", "--out", tmp_path / "gpu", *TINY)
    result = run(*args, "--accelerator", "cuda")
    assert result.exit_code == 2 and "--accelerator cuda: " in result.output
    result = run(*args, "--accelerator", "tpuu")
    assert result.exit_code == 2 and "'tpuu' is not one of 'auto', 'cpu'" in flat(result.output)


def test_train_cae_with_discovered_pairs(corpus, tmp_path):
    out = tmp_path / "cae"
    args = ("train", corpus / "archive.csv", "--out", out, *TINY, "--objective", "cae")
    result = run(*args, "--pair-keep", "0.5")
    assert result.exit_code == 0, result.output
    report = json.loads((out / "pairs.json").read_text())
    assert report["source"] == "model" and report["pairs"] > 0 and "purity" in result.output
    lines = (out / "pairs.csv").read_text().splitlines()
    assert lines[0].startswith("path_a,start_a") and len(lines) == report["pairs"] + 1
    assert (out / "pretrain" / "model.pt").is_file() and (out / "model.pt").is_file()
    pretrained = (out / "pretrain" / "model.pt").stat().st_mtime_ns
    result = run(*args, "--pair-keep", "0.5", "--epochs", "3")
    assert result.exit_code == 0, result.output
    assert (out / "pretrain" / "model.pt").stat().st_mtime_ns == pretrained  # reused on resume


def test_train_siamese_with_labels(corpus, tmp_path):
    out = tmp_path / "siamese"
    result = run(
        "train", corpus / "archive.csv", "--out", out, *TINY, "--objective", "siamese",
        "--pairs", "labels",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((out / "pairs.json").read_text())
    assert report["source"] == "labels" and report["purity"] == 1.0
    assert report["pairs"] == 6 * 3  # 6 words x 3 archive voices: 3 pairs per word


def test_train_contrastive_pairs_across_speakers(corpus, tmp_path):
    out = tmp_path / "contrastive"
    result = run(
        "train", corpus / "archive.csv", "--out", out, *TINY, "--objective", "contrastive",
        "--pair-keep", "0.5",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((out / "pairs.json").read_text())
    assert report["across"] == "speaker" and report["same_speaker"] == 0.0
    metrics = json.loads((out / "metrics.json").read_text())
    # every segment trains: the paired with a partner, the others with a perturbed copy
    assert metrics["train_segments"] + metrics["val_segments"] == 18


def test_train_on_long_recordings(corpus, tmp_path):
    out = tmp_path / "long"
    args = ["train", corpus / "long", "--out", out, *TINY, "--objective", "dae"]
    result = run(*args, "--segment", "vad")
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert config["segments"]["mode"] == "vad"
    metrics = json.loads((out / "metrics.json").read_text())
    words = len((corpus / "long.csv").read_text().splitlines()) - 1
    assert abs(metrics["train_segments"] + metrics["val_segments"] - words) <= 1
    result = run(*args, "--segment", "sentences")
    assert result.exit_code == 2 and "'sentences' is not one of 'none', 'vad'" in flat(
        result.output
    )
    result = run("train", corpus / "archive.csv", "--out", tmp_path / "x", "--segment", "vad")
    assert result.exit_code == 2 and "cuts the recordings of a folder" in result.output


def test_a_runs_config_json_is_a_config_file_that_repeats_the_run(workspace, corpus, tmp_path):
    first = json.loads((workspace / "run" / "config.json").read_text())
    again = tmp_path / "again"
    result = run("train", corpus / "archive.csv", "--out", again,
                 "--config", workspace / "run" / "config.json")  # fmt: skip
    assert result.exit_code == 0, result.output
    second = json.loads((again / "config.json").read_text())
    for part in ("features", "model", "train"):
        assert second[part] == first[part]


def test_no_trim_keeps_clips_whole(corpus, tmp_path):
    trimmed, whole = tmp_path / "trimmed", tmp_path / "whole"
    run("train", corpus / "archive.csv", "--out", trimmed, *TINY, "--objective", "ae")
    run("train", corpus / "archive.csv", "--out", whole, *TINY, "--objective", "ae", "--no-trim")
    features = [json.loads((r / "config.json").read_text())["features"] for r in (trimmed, whole)]
    assert features[0]["trim_db"] > 0 and features[1]["trim_db"] == 0


def test_label_pairs_need_labels(corpus, tmp_path):
    (tmp_path / "m.csv").write_text(f"path\n{corpus / 'segments' / 'x.wav'}\n")
    result = run("train", tmp_path / "m.csv", "--out", tmp_path / "r", "--objective", "cae",
                 "--pairs", "labels")  # fmt: skip
    assert result.exit_code == 2 and "needs a 'label' column" in result.output


def test_learning_rate_defaults_to_the_encoders_own(corpus, tmp_path):
    from seqae.models import default_learning_rate

    assert default_learning_rate("rnn") < default_learning_rate("gru")
    for cell, given in (("rnn", []), ("rnn", ["--lr", "0.01"])):
        out = tmp_path / f"{cell}-{len(given)}"
        args = ("train", corpus / "archive.csv", "--out", out, *TINY, "--objective", "ae")
        result = run(*args, "--epochs", "1", "--cell", cell, *given)
        assert result.exit_code == 0, result.output
        rate = json.loads((out / "config.json").read_text())["train"]["learning_rate"]
        assert rate == (0.01 if given else default_learning_rate(cell))


def test_search_table_and_json(workspace, corpus):
    query = corpus / "segments" / sorted(p.name for p in (corpus / "segments").iterdir())[0]
    result = run("search", workspace / "idx", query, "-k", "3")
    assert result.exit_code == 0, result.output
    assert "rank" in result.output and "score" in result.output
    result = run("search", workspace / "idx", query, "-k", "3", "--json")
    hits = [json.loads(line) for line in result.output.splitlines()]
    assert [h["rank"] for h in hits] == [1, 2, 3]
    assert hits[0]["path"] == str(query) and hits[0]["score"] == pytest.approx(1.0, abs=1e-4)
    assert {"start", "end", "label", "speaker"} <= set(hits[0])


def test_search_rerank_dtw(workspace, corpus, tmp_path):
    query = corpus / "segments" / sorted(p.name for p in (corpus / "segments").iterdir())[0]
    args = ("search", workspace / "idx", query, "-k", "3", "--json", "--rerank", "dtw")
    result = run(*args, "--rerank-k", "10")
    assert result.exit_code == 0, result.output
    hits = [json.loads(line) for line in result.output.splitlines()]
    assert [h["rank"] for h in hits] == [1, 2, 3] and hits[0]["path"] == str(query)
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]
    run("embed", workspace / "run", corpus / "segments.csv", "--out", tmp_path / "e",
        "--no-store-frames")  # fmt: skip
    run("index", "build", tmp_path / "e", "--out", tmp_path / "i")
    result = run("search", tmp_path / "i", query, "--rerank", "dtw")
    assert result.exit_code == 2 and "no frames to re-rank" in result.output
    result = run("search", workspace / "idx", query, "--rerank", "hmm")
    assert result.exit_code == 2 and "'hmm' is not one of 'dtw', 'none'" in result.output


def test_search_span_of_a_long_recording(workspace, corpus):
    truth = (corpus / "long.csv").read_text().splitlines()[1].split(",")
    result = run(
        "search",
        workspace / "idx",
        corpus / truth[0],
        "--start",
        truth[1],
        "--end",
        truth[2],
        "--json",
        "-k",
        "1",
    )
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 1


def _eval_qbe(workspace, corpus) -> list:
    queries, archive = corpus / "queries.csv", corpus / "archive.csv"
    return ["eval", "qbe", workspace / "run", "--queries", queries, "--archive", archive]


def test_eval_qbe_json(workspace, corpus):
    result = run(*_eval_qbe(workspace, corpus), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    names = [m["method"] for m in report["methods"]]
    assert names[0].startswith("model ") and names[1] == "model + DTW re-rank of top 30"
    assert names[2:] == ["MFCC downsampled x10", "DTW"]
    for method in report["methods"]:
        assert 0.0 < method["map"] <= 1.0 and method["queries"] == 6


def test_eval_qbe_names_the_downsampling_baseline_after_the_models_features(corpus, tmp_path):
    from seqae.bundle import save_bundle
    from seqae.config import FeatureConfig, ModelConfig
    from seqae.models import SequenceAutoencoder

    features = FeatureConfig(kind="logmel")
    config = ModelConfig(
        input_dim=features.dim, hidden_size=8, layers=1, embedding_dim=4, decoder_hidden_size=8
    )
    (tmp_path / "run").mkdir()
    save_bundle(tmp_path / "run" / "model.pt", SequenceAutoencoder(config), features)
    queries, archive = corpus / "queries.csv", corpus / "archive.csv"
    result = run("eval", "qbe", tmp_path / "run", "--queries", queries, "--archive", archive,
                 "--json", "--no-pairs")  # fmt: skip
    assert result.exit_code == 0, result.output
    methods = json.loads(result.output[result.output.index("{") :])["methods"]
    assert [m["method"] for m in methods][2:] == ["log-mel downsampled x10", "DTW"]


def test_eval_over_seeds(workspace, corpus):
    result = run(*_eval_qbe(workspace, corpus), "--seeds", "2", "--no-baselines", "--json")
    assert result.exit_code == 0, result.output
    model = json.loads(result.output[result.output.index("{") :])["methods"][0]
    assert model["runs"] == 2 and set(model["std"]) >= {"map", "same_different_ap"}
    assert (workspace / "run" / "seeds" / "seed-1" / "model.pt").is_file()
    result = run(*_eval_qbe(workspace, corpus), "--seeds", "2", "--no-baselines")
    assert result.exit_code == 0 and "±" in result.output  # the second time reuses seed-1


def test_eval_table(workspace, corpus):
    result = run(*_eval_qbe(workspace, corpus), "--no-baselines", "--rerank-k", "0")
    assert result.exit_code == 0 and "MAP" in result.output and "re-rank" not in result.output


def test_input_errors_are_one_line(tmp_path, workspace):
    result = run("train", tmp_path / "none.csv", "--out", tmp_path / "r")
    assert result.exit_code == 2 and "no such manifest" in result.output
    assert "Traceback" not in result.output
    (tmp_path / "m.csv").write_text("file\nx.wav\n")
    result = run("embed", workspace / "run", tmp_path / "m.csv", "--out", tmp_path / "e")
    assert result.exit_code == 2 and "no 'path' column" in result.output
    result = run("search", tmp_path, tmp_path / "m.csv")
    assert result.exit_code == 2 and "index.json" in result.output


def test_index_refuses_vectors_of_another_model(workspace, corpus, tmp_path):
    run("train", corpus / "archive.csv", "--out", tmp_path / "other", *TINY, "--seed", "5")
    result = run("embed", tmp_path / "other", corpus / "queries.csv", "--out", tmp_path / "emb2")
    assert result.exit_code == 0
    from index import add_to_index_dir
    from pipelines.embed.shards import read_embeddings
    from seqae.errors import SeqaeError

    data = read_embeddings(tmp_path / "emb2")
    with pytest.raises(SeqaeError, match="built with model"):
        add_to_index_dir(workspace / "idx", data.vectors, data.metadata, data.info["model_id"])


def test_idle_threads_sleep_unless_told_otherwise():
    """seqae sets OMP_WAIT_POLICY before torch loads OpenMP, and keeps a value the user set."""
    import subprocess
    import sys

    code = "import os, seqae, torch; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.stdout.strip() == "PASSIVE"
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.stdout.strip() == "ACTIVE"


def test_embed_and_search_read_the_model_once(workspace, corpus, tmp_path, model_reads):
    result = run("embed", workspace / "run", corpus / "segments.csv", "--out", tmp_path / "e")
    assert result.exit_code == 0 and model_reads.count("model.pt") == 1, model_reads
    model_reads.clear()
    query = next((corpus / "segments").iterdir())
    result = run("search", workspace / "idx", query)
    assert result.exit_code == 0 and model_reads.count("model.pt") == 1, model_reads
