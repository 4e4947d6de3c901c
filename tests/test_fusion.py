"""Several examples of one term as one query: fused by the mean of unit vectors, or by max."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from pipelines.search.speech import Query, search_audio
from seqae.cli import app
from seqae.errors import SeqaeError


@pytest.fixture(scope="module")
def examples(corpus):
    """Two query clips of one word (the held-out voice and an archive voice), and a third of
    another word."""
    queries = list(csv.DictReader(open(corpus / "queries.csv")))
    archive = list(csv.DictReader(open(corpus / "archive.csv")))
    word = queries[0]["label"]
    same = next(r for r in archive if r["label"] == word)
    other = next(r for r in queries if r["label"] != word)
    return [corpus / queries[0]["path"], corpus / same["path"], corpus / other["path"]]


def _all_scores(archive_index, clip) -> dict[int, float]:
    """Cosine similarity of one clip to every indexed segment, from an exhaustive search."""
    hits = search_audio(archive_index, [Query(clip)], 10_000)[0]
    return {h.id: h.score for h in hits}


@pytest.mark.parametrize("fusion", ["mean", "max"])
def test_fused_ranking_matches_the_examples_own_scores(archive_index, examples, fusion):
    a, b, _ = examples
    each = [_all_scores(archive_index, clip) for clip in (a, b)]
    assert set(each[0]) == set(each[1]) and len(each[0]) == 18
    combine = np.mean if fusion == "mean" else np.max
    expected = {i: float(combine([s[i] for s in each])) for i in each[0]}
    hits = search_audio(archive_index, [[Query(a), Query(b)]], 18, fusion=fusion)[0]
    assert len(hits) == 18
    order = sorted(expected, key=lambda i: -expected[i])
    assert [h.id for h in hits][:5] == order[:5]
    if fusion == "max":  # the score is the best example's own
        assert all(abs(h.score - expected[h.id]) < 1e-5 for h in hits)
    else:  # cosine to the mean unit vector: the mean score over its length
        ratios = [h.score / expected[h.id] for h in hits if abs(expected[h.id]) > 0.05]
        assert np.ptp(ratios) < 1e-3 and ratios[0] >= 1 - 1e-5


def test_one_clip_twice_is_the_clip_alone(archive_index, examples):
    a = examples[0]
    alone = search_audio(archive_index, [Query(a)], 5, rerank_k=10)[0]
    for fusion in ("mean", "max"):
        twice = search_audio(archive_index, [[Query(a), Query(a)]], 5, rerank_k=10, fusion=fusion)
        assert [h.id for h in twice[0]] == [h.id for h in alone]
        assert np.allclose([h.score for h in twice[0]], [h.score for h in alone], atol=1e-4)


def test_terms_of_several_sizes_in_one_call(archive_index, examples):
    a, b, c = examples
    grouped = search_audio(archive_index, [[Query(a), Query(b)], Query(c)], 4)
    assert [h.id for h in grouped[1]] == [
        h.id for h in search_audio(archive_index, [Query(c)], 4)[0]
    ]
    assert [h.id for h in grouped[0]] == [
        h.id for h in search_audio(archive_index, [[Query(a), Query(b)]], 4)[0]
    ]
    with pytest.raises(SeqaeError, match="at least one example"):
        search_audio(archive_index, [[]], 4)
    with pytest.raises(SeqaeError, match="fusion must be one of mean, max"):
        search_audio(archive_index, [Query(a)], 4, fusion="median")


def test_search_command_takes_several_clips(archive_index, examples):
    a, b, _ = examples
    runner = CliRunner()
    result = runner.invoke(
        app, ["search", str(archive_index), str(a), str(b), "-k", "4", "--json", "--fusion", "max"]
    )
    assert result.exit_code == 0, result.output
    ids = [json.loads(line)["id"] for line in result.output.splitlines()]
    assert ids == [
        h.id for h in search_audio(archive_index, [[Query(a), Query(b)]], 4, fusion="max")[0]
    ]
    table = runner.invoke(app, ["search", str(archive_index), str(a), str(b), "-k", "2"])
    assert table.exit_code == 0 and "2 clips (mean)" in table.output
    cut = runner.invoke(app, ["search", str(archive_index), str(a), str(b), "--start", "0.1"])
    assert cut.exit_code == 2 and "one QUERY" in cut.output
    bad = runner.invoke(app, ["search", str(archive_index), str(a), "--fusion", "median"])
    assert bad.exit_code == 2 and "median" in bad.output


def test_example_groups_keep_one_label_and_drop_the_remainder():
    from pipelines.evaluate.qbe import example_groups, fused_rows

    labels = np.array(["a", "b", "a", "a", "b", "a", "a"])
    order = [
        ("s2", "5"),
        ("s1", "1"),
        ("s1", "2"),
        ("s2", "1"),
        ("s1", "0"),
        ("s1", "9"),
        ("s3", "0"),
    ]
    assert example_groups(order, labels, 2) == [[2, 5], [3, 0], [4, 1]]  # a: s3 left out
    assert example_groups(order, labels, 1) == [[2], [5], [3], [0], [6], [4], [1]]
    similarity = np.arange(14, dtype=float).reshape(7, 2)
    assert fused_rows(similarity, [[0, 3]], "mean").tolist() == [[3.0, 4.0]]
    assert fused_rows(similarity, [[0, 3]], "max").tolist() == [[6.0, 7.0]]


def test_eval_qbe_scores_several_clips_per_query(trained_run, corpus):
    archive = corpus / "archive.csv"  # three voices per word: queries of 1, 2 and 3 clips
    args = ["eval", "qbe", str(trained_run), "--queries", str(archive), "--archive", str(archive)]
    result = CliRunner().invoke(
        app, [*args, "--no-pairs", "--rerank-k", "0", "--examples", "1,3", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    several = report["several"]
    methods = [m["method"] for m in report["methods"]]
    assert {(r["method"], r["examples"], r["fusion"]) for r in several} == {
        *((m, 1, "-") for m in ("model", *methods[1:])),
        *((m, 3, f) for m in ("model", *methods[1:]) for f in ("mean", "max")),
    }
    one = {r["method"]: r for r in several if r["examples"] == 1}
    assert one["model"]["map"] == pytest.approx(report["methods"][0]["map"])  # one clip: as alone
    assert one["DTW"]["map"] == pytest.approx(report["methods"][-1]["map"])
    assert all(r["queries"] == 6 for r in several if r["examples"] == 3)
    bad = CliRunner().invoke(app, [*args, "--examples", "1,x"])
    assert bad.exit_code == 2 and "clip counts" in bad.output
    too_many = CliRunner().invoke(app, [*args, "--no-pairs", "--examples", "4"])
    assert too_many.exit_code != 0 and "no query label has 4 clips" in too_many.output
