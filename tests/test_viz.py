"""Embedding maps and training curves, through the real CLI on the tiny model's embeddings."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from pipelines.embed.shards import read_embeddings
from pipelines.viz.curves import metric_group, read_run_metrics
from pipelines.viz.maps import MapPoints, classes, fit_plane, load_points, project, sample_rows
from pipelines.viz.plots import write_png
from seqae.cli import app
from seqae.errors import SeqaeError

runner = CliRunner()


def run(*args: object):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_viz_png_of_an_embedding_directory(archive_embeddings, tmp_path):
    out = tmp_path / "map.png"
    result = run("viz", archive_embeddings, "--out", out)
    assert result.exit_code == 0, result.output
    assert "mapped 18 of 18 segments (PCA, 6 label colours)" in result.output
    image = Image.open(out)
    assert image.format == "PNG" and image.size[0] > 800
    made_by = json.loads(image.info["Description"])
    assert made_by["method"] == "pca" and made_by["color"] == "label"


def test_viz_html_plays_segments(archive_embeddings, tmp_path):
    out = tmp_path / "map.html"
    result = run("viz", archive_embeddings, "--out", out, "--method", "tsne", "--color", "speaker")
    assert result.exit_code == 0, result.output
    assert "(t-SNE, 3 speaker colours)" in result.output
    page = out.read_text().replace("\\u002f", "/")  # plotly escapes slashes in its JSON
    assert "plotly_click" in page and "cdn.plot.ly" not in page.split("<body>")[0]
    first = read_embeddings(archive_embeddings).metadata.to_pylist()[0]
    assert Path(first["path"]).as_uri() + f"#t={first['start']:.3f},{first['end']:.3f}" in page


def test_viz_umap_of_a_sample_of_an_index(archive_index, tmp_path):
    out = tmp_path / "umap.png"
    result = run("viz", archive_index, "--out", out, "--method", "umap", "--sample", 12,
                 "--color", "path")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "mapped 12 of 18 segments (UMAP, 12 path colours)" in result.output and out.is_file()


def test_viz_errors_are_one_line(archive_embeddings, tmp_path):
    cases = [
        (("--out", tmp_path / "map.jpg"), "written as .png or .html"),
        (("--out", tmp_path / "m.png", "--color", "accent"), "no 'accent' column"),
        (("--out", tmp_path / "m.png", "--method", "mds"), "'mds' is not one of 'pca'"),
        (("--out", tmp_path / "m.png", "--method", "umap", "--sample", 3), "needs at least 5"),
    ]
    for args, message in cases:
        result = run("viz", archive_embeddings, *args)
        assert result.exit_code == 2 and message in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1
    result = run("viz", tmp_path / "none", "--out", tmp_path / "m.png")
    assert result.exit_code == 2 and "no such embedding or index directory" in result.output


def test_points_are_the_unit_vectors_of_the_rows(archive_embeddings, archive_index):
    stored = read_embeddings(archive_embeddings)
    points = load_points(archive_embeddings, sample=10, seed=1)
    expected = stored.vectors[points.ids]
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(points.vectors, expected, rtol=1e-5, atol=1e-6)
    assert [row["path"] for row in points.metadata] == [
        stored.metadata.to_pylist()[i]["path"] for i in points.ids
    ]
    from_index = load_points(archive_index, sample=10, seed=1)
    assert (from_index.ids == points.ids).all()
    np.testing.assert_allclose(from_index.vectors, points.vectors, atol=1e-6)


def test_sample_rows_is_seeded_and_sorted():
    rows = sample_rows(1000, 50, seed=3)
    assert len(set(rows)) == 50 and (np.diff(rows) > 0).all()
    assert (rows == sample_rows(1000, 50, seed=3)).all()
    assert (sample_rows(10, 0) == np.arange(10)).all() and len(sample_rows(10, 20)) == 10


def test_plane_matches_an_svd_reference():
    vectors = np.random.default_rng(0).normal(size=(200, 16)).astype(np.float32)
    coords = fit_plane(vectors).transform(vectors)
    centred = vectors - vectors.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    reference = centred @ axes[:2].T
    signs = np.sign((coords * reference).sum(axis=0))  # each axis is defined up to its sign
    np.testing.assert_allclose(coords * signs, reference, atol=1e-3)
    assert project(vectors, "pca").shape == (200, 2)


def test_classes_merge_the_rarest_beyond_the_limit(tmp_path):
    metadata = [{"label": f"w{i % 70}", "path": "/a/b.wav"} for i in range(700)]
    metadata += [{"label": "w0", "path": "/a/b.wav"}] * 5
    points = MapPoints(tmp_path, 705, np.arange(705), np.zeros((705, 2)), metadata, ["label"])
    groups = classes(points, "label", limit=60)
    assert len(groups.names) == 60 and groups.names[0] == "w0" and groups.names[-1] == "other"
    assert groups.merged == 11 and (groups.codes == 59).sum() == 110
    with pytest.raises(SeqaeError, match="no 'speaker' column"):
        classes(points, "speaker")


def test_png_with_fifty_classes_keeps_its_legend_outside(tmp_path):
    rng = np.random.default_rng(0)
    metadata = [{"label": f"word{i % 50:02d}"} for i in range(2000)]
    points = MapPoints(tmp_path, 2000, np.arange(2000), np.zeros((2000, 2)), metadata, ["label"])
    write_png(rng.normal(size=(2000, 2)), classes(points, "label"), tmp_path / "m.png", "fifty")
    width, height = Image.open(tmp_path / "m.png").size
    assert width > height  # two legend columns beside the square-ish axes


def test_plot_training_curves(trained_run, tmp_path):
    out = tmp_path / "curves.png"
    result = run("plot", trained_run, "--out", out)
    assert result.exit_code == 0, result.output
    assert "plotted loss (training" in result.output and Image.open(out).format == "PNG"
    stage = read_run_metrics(trained_run)[-1]
    with open(next(trained_run.glob("logs/version_*/metrics.csv")), newline="") as handle:
        logged = [row for row in csv.DictReader(handle) if row["val_loss"]]
    assert stage.series["val_loss"].values.tolist() == [float(r["val_loss"]) for r in logged]
    assert {"train_loss_epoch", "val_loss"} <= set(stage.series)
    assert run("plot", trained_run).exit_code == 0 and (trained_run / "curves.png").is_file()
    (trained_run / "curves.png").unlink()
    result = run("plot", tmp_path, "--out", out)
    assert result.exit_code == 2 and "no logged metrics" in result.output


def test_metric_groups():
    assert metric_group("train_loss_step") == "loss" and metric_group("val_accuracy") == "accuracy"
    assert metric_group("train_kl_epoch") == "kl"
