"""Every text command, run through the real Typer app on a tiny real corpus."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from seqae.cli import app

runner = CliRunner()
TINY = ["--modality", "text", "--epochs", "2", "--hidden", "16", "--dim", "8"]
TINY += ["--decoder-hidden", "16", "--token-dim", "8", "--batch-size", "16", "--threads", "1"]


def run(*args: object):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


@pytest.fixture(scope="module")
def text_corpus(tmp_path_factory):
    """160 demo sentences (King James Bible, from the bible-kjv packages), 16 held out."""
    if shutil.which("bible") is None:
        pytest.fail("the 'bible' program is required (apt-get install bible-kjv bible-kjv-text)")
    out = tmp_path_factory.mktemp("text") / "corpus"
    result = run("synth-text", out, "--sentences", 160, "--held-out", 0.1, "--seed", 1)
    assert result.exit_code == 0 and "144 in" in result.output, result.output
    assert "16 of them held out" in result.output and "(0 of them clauses" in result.output
    return out


@pytest.fixture(scope="module")
def text_workspace(text_corpus, tmp_path_factory):
    """train -> embed -> index build on the demo sentences, each through the CLI."""
    root = tmp_path_factory.mktemp("textcli")
    result = run("train", text_corpus / "train.csv", "--out", root / "run", *TINY)
    assert result.exit_code == 0, result.output
    assert "trained on" in result.output and "word tokens" in result.output
    result = run("embed", root / "run", text_corpus / "train.csv", "--out", root / "emb")
    assert result.exit_code == 0 and "embedded 144 sentences" in result.output, result.output
    result = run("index", "build", root / "emb", "--out", root / "idx")
    assert result.exit_code == 0 and "indexed 144 vectors" in result.output, result.output
    return root


def test_synth_text_is_deterministic(text_corpus, tmp_path):
    run("synth-text", tmp_path / "again", "--sentences", 160, "--held-out", 0.1, "--seed", 1)
    for name in ("train.csv", "heldout.csv"):
        assert (tmp_path / "again" / name).read_text() == (text_corpus / name).read_text()
    lines = (text_corpus / "heldout.csv").read_text().splitlines()
    assert lines[0] == "text,ref" and len(lines) == 17
    held = set(lines[1:])
    assert not held & set((text_corpus / "train.csv").read_text().splitlines()[1:])
    info = json.loads((text_corpus / "corpus.json").read_text())
    assert "public domain" in info["license"] and "bible-kjv" in info["source"]


def test_search_text_returns_sentences_with_metadata(text_workspace, text_corpus):
    first = (text_corpus / "train.csv").read_text().splitlines()[1]
    sentence = first.rsplit(",", 1)[0].strip('"')
    result = run("search", text_workspace / "idx", "--text", sentence, "-k", "3", "--json")
    assert result.exit_code == 0, result.output
    hits = [json.loads(line) for line in result.output.splitlines()]
    assert [h["rank"] for h in hits] == [1, 2, 3]
    assert hits[0]["text"] == sentence and hits[0]["score"] == pytest.approx(1.0, abs=1e-4)
    assert {"ref", "file", "line"} <= set(hits[0]) and hits[0]["line"] == "2"
    result = run("search", text_workspace / "idx", "--text", sentence, "-k", "2")
    assert result.exit_code == 0 and "ref" in result.output and "score" in result.output


def test_reconstruct_prints_one_line_per_sentence(text_workspace):
    sentences = ["And God said, Let there be light.", "Jesus wept."]
    for beam in ("1", "3"):
        result = run("reconstruct", text_workspace / "run", *sentences, "--beam", beam)
        assert result.exit_code == 0, result.output
        assert len(result.output.strip().splitlines()) == 2


def test_eval_text(text_workspace, text_corpus):
    args = ("eval", "text", text_workspace / "run", "--corpus", text_corpus / "heldout.csv")
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    assert report["sentences"] == 16 and report["decoding"] == "greedy"
    for figure in ("token_accuracy", "exact_match", "bleu"):
        assert 0.0 <= report[figure] <= 1.0
    methods = [score["method"] for score in report["retrieval"]]
    assert methods[0].startswith("model ") and methods[1].startswith("TF-IDF")
    assert report["retrieval"][1]["recall_at_10"] == 1.0  # 16 sentences: all in the top 10
    result = run(*args, "--beam", "2", "--limit", "5")
    assert result.exit_code == 0 and "beam search, width 2" in result.output
    assert "recall@10" in result.output and "BLEU" in result.output


def test_bad_input_is_reported_and_kept(tmp_path, text_workspace):
    corpus = tmp_path / "bad.txt"
    long_line = " ".join(["word"] * 70)
    corpus.write_bytes(b"In the beginning.\n\nGod \xff\xfe said.\n" + long_line.encode() + b"\n")
    result = run("train", corpus, "--out", tmp_path / "run", *TINY, "--val-fraction", "0")
    assert result.exit_code == 0, result.output
    assert f"{corpus}:2: empty line" in result.output
    assert f"{corpus}:3: not valid UTF-8" in result.output
    assert f"{corpus}:4: 70 words, more than 60; split into 2 pieces" in result.output
    result = run("embed", tmp_path / "run", corpus, "--out", tmp_path / "emb")
    assert result.exit_code == 0 and "embedded 4 sentences" in result.output  # 1 + 1 + 2
    assert "skipped 1 lines" in result.output and f"{corpus}:3" in result.output


@pytest.mark.parametrize("tokens", ["char", "bpe"])
def test_other_tokens_and_variational(text_corpus, tmp_path, tokens):
    extra = ["--variational", "--word-dropout", "0.3", "--kl-anneal-steps", "5"]
    extra += ["--softmax", "adaptive" if tokens == "char" else "full"]
    # the char model's decoder reads only the vector and its step's index and runs both ways
    # (the default, plus positions); the bpe one also reads the previous token, some of them
    # its own guesses, and so runs one way
    reads = {"feed_tokens": tokens == "bpe", "position_dim": 4 if tokens == "char" else 0}
    reads["decoder_bidirectional"] = tokens == "char"
    extra += ["--position-dim", "4"] if tokens == "char" else ["--feed-tokens", "--sampling", "0.5"]
    args = ("train", text_corpus / "heldout.csv", "--out", tmp_path / "run", *TINY)
    result = run(*args, "--tokens", tokens, "--vocab-size", "60", *extra, "--epochs", "1")
    assert result.exit_code == 0 and f"{tokens} tokens" in result.output, result.output
    model = json.loads((tmp_path / "run" / "config.json").read_text())["model"]
    assert {name: model[name] for name in reads} == reads
    # word dropout acts on the tokens the decoder reads: without them it does nothing, and says so
    assert ("no effect" in result.output) == (tokens == "char"), result.output
    result = run("reconstruct", tmp_path / "run", "Jesus wept.")
    assert result.exit_code == 0 and result.output.strip()


def test_a_decoder_that_reads_tokens_cannot_run_both_ways(text_corpus, tmp_path):
    args = ("train", text_corpus / "heldout.csv", "--out", tmp_path / "run", *TINY)
    result = run(*args, "--feed-tokens", "--decoder-bidirectional")
    assert result.exit_code != 0 and "cannot read the previous token" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "run" / "model.pt").exists()


def test_time_budget_sets_the_learning_rate(text_corpus, tmp_path):
    import torch

    args = ("train", text_corpus / "heldout.csv", "--out", tmp_path / "run", *TINY)
    assert run(*args, "--max-minutes", "0.5", "--lr", "0.01").exit_code == 0
    checkpoint = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    lr = checkpoint["optimizer_states"][0]["param_groups"][0]["lr"]
    assert 0.0005 <= lr < 0.01  # on its cosine over the half minute, above its floor


def test_train_resumes(text_corpus, tmp_path):
    args = ("train", text_corpus / "heldout.csv", "--out", tmp_path / "run", *TINY)
    assert run(*args, "--epochs", "1").exit_code == 0
    assert run(*args, "--epochs", "2").exit_code == 0
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"] == 2
    result = run(*args, "--epochs", "3", "--tokens", "char")
    assert result.exit_code == 2 and "other settings (tokens.kind" in result.output


def test_modalities_refuse_each_other(text_workspace, text_corpus, trained_run, corpus, tmp_path):
    result = run("embed", text_workspace / "run", corpus / "archive.csv", "--out", tmp_path / "e")
    assert result.exit_code == 2 and "an audio manifest" in result.output
    result = run("embed", trained_run, text_corpus / "train.csv", "--out", tmp_path / "e2")
    assert result.exit_code == 2 and "an audio model" in result.output
    assert "holds text" in result.output
    result = run("reconstruct", trained_run, "Jesus wept.")
    assert result.exit_code == 2 and "an audio model" in result.output
    query = next((corpus / "segments").iterdir())
    result = run("search", text_workspace / "idx", query)
    assert result.exit_code == 2 and "indexes sentences" in result.output
    result = run("eval", "qbe", text_workspace / "run", "--queries", corpus / "queries.csv",
                 "--archive", corpus / "archive.csv")  # fmt: skip
    assert result.exit_code == 2 and "a text model" in result.output
    result = run("train", text_corpus / "train.csv", "--out", tmp_path / "r", *TINY,
                 "--objective", "dae")  # fmt: skip
    assert result.exit_code == 2 and "--objective: for audio models only" in result.output
    result = run("train", corpus / "archive.csv", "--out", tmp_path / "r2", "--tokens", "bpe")
    assert result.exit_code == 2 and "--tokens: for text models only" in result.output
    for output in (result.output,):
        assert "Traceback" not in output


def test_index_refuses_vectors_of_another_text_model(text_workspace, text_corpus, tmp_path):
    args = ("train", text_corpus / "train.csv", "--out", tmp_path / "other", *TINY)
    assert run(*args, "--seed", "5", "--epochs", "1").exit_code == 0
    result = run("embed", tmp_path / "other", text_corpus / "heldout.csv", "--out", tmp_path / "e")
    assert result.exit_code == 0, result.output
    from index import add_to_index_dir
    from pipelines.embed.shards import read_embeddings
    from seqae.errors import SeqaeError

    data = read_embeddings(tmp_path / "e")
    assert data.info["feature_config"]["modality"] == "text"
    with pytest.raises(SeqaeError, match="built with model"):
        add_to_index_dir(text_workspace / "idx", data.vectors, data.metadata, data.info["model_id"])


def test_embed_and_search_read_the_model_once(text_workspace, text_corpus, tmp_path, model_reads):
    args = ("embed", text_workspace / "run", text_corpus / "heldout.csv", "--out", tmp_path / "e")
    result = run(*args)
    assert result.exit_code == 0 and model_reads.count("model.pt") == 1, model_reads
    model_reads.clear()
    result = run("search", text_workspace / "idx", "--text", "And God said")
    assert result.exit_code == 0 and model_reads.count("model.pt") == 1, model_reads
