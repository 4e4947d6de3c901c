"""Tests for index/: cosine search against a numpy reference, and index directories on disk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from index import (
    IndexInfo,
    add_to_index_dir,
    add_vectors,
    build_flat_index,
    create_index_dir,
    load_index,
    normalize,
    open_index_dir,
    save_index,
    search_index,
)
from seqae.errors import SeqaeError

DIM = 8


def random_vectors(count: int, seed: int, dim: int = DIM) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)


def metadata_for(count: int, start: int = 0) -> pa.Table:
    names = [f"seg{i:04d}" for i in range(start, start + count)]
    return pa.table({"segment": names, "start_frame": list(range(start, start + count))})


def info_for(model_id: str = "model-a", dim: int = DIM) -> IndexInfo:
    return IndexInfo(model_id, "runs/a/model.pt", dim, {"n_mfcc": 13}, sources=["a.wav"])


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    out = tmp_path / "idx"
    return create_index_dir(out, random_vectors(30, seed=1), metadata_for(30), info_for())


# --- vectors.py -------------------------------------------------------------------------


def test_normalize_gives_unit_rows_and_keeps_zero_rows() -> None:
    vectors = np.vstack([random_vectors(4, seed=0), np.zeros((1, DIM))]).astype(np.float64)
    out = normalize(vectors)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(out[:4], axis=1), 1.0, rtol=1e-6)
    assert not out[4].any() and np.isfinite(out).all()
    assert vectors[0, 0] != out[0, 0]  # the input is left alone


@pytest.mark.parametrize(
    "bad", [np.zeros(DIM), np.zeros((2, DIM), dtype=np.int64), np.full((2, DIM), np.nan)]
)
def test_normalize_rejects_bad_arrays(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        normalize(bad)


def test_scores_match_numpy_reference() -> None:
    base, queries, k = random_vectors(200, seed=2), random_vectors(10, seed=3), 7
    scores, ids = search_index(build_flat_index(base), queries, k)
    unit_base = base / np.linalg.norm(base, axis=1, keepdims=True)
    unit_queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    similarity = unit_queries.astype(np.float64) @ unit_base.T.astype(np.float64)  # (10, 200)
    expected_ids = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    assert scores.dtype == np.float32 and ids.dtype == np.int64
    assert scores.shape == ids.shape == (10, k)
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_allclose(scores, np.take_along_axis(similarity, expected_ids, 1), atol=1e-5)


def test_self_query_ranks_itself_first() -> None:
    base = random_vectors(50, seed=4)
    scores, ids = search_index(build_flat_index(base), base, 3)
    np.testing.assert_array_equal(ids[:, 0], np.arange(50))
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)


def test_k_is_clamped_to_index_size() -> None:
    scores, ids = search_index(
        build_flat_index(random_vectors(4, seed=5)), random_vectors(2, 6), 10
    )
    assert scores.shape == ids.shape == (2, 4)
    assert sorted(ids[0]) == [0, 1, 2, 3]


def test_dim_mismatch_and_empty_index_are_refused() -> None:
    index = build_flat_index(random_vectors(5, seed=7))
    with pytest.raises(ValueError, match="8-dim"):
        add_vectors(index, random_vectors(2, seed=8, dim=4))
    with pytest.raises(ValueError, match="8-dim"):
        search_index(index, random_vectors(2, seed=8, dim=4), 1)
    with pytest.raises(ValueError, match="k must be"):
        search_index(index, random_vectors(2, seed=8), 0)
    with pytest.raises(ValueError, match="empty"):
        search_index(build_flat_index(np.zeros((0, DIM), np.float32)), random_vectors(1, 9), 1)


def test_save_load_roundtrip_gives_identical_results(tmp_path: Path) -> None:
    index, queries = build_flat_index(random_vectors(40, seed=10)), random_vectors(5, seed=11)
    save_index(index, tmp_path / "flat.faiss")
    assert [p.name for p in tmp_path.iterdir()] == ["flat.faiss"]  # no temp file left behind
    before, after = (
        search_index(index, queries, 5),
        search_index(load_index(tmp_path / "flat.faiss"), queries, 5),
    )
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])


# --- store.py ---------------------------------------------------------------------------


def test_index_dir_roundtrip_maps_metadata_to_hits(index_dir: Path) -> None:
    info = json.loads((index_dir / "index.json").read_text())
    assert info["kind"] == "seqae-index" and info["format_version"] == 2
    assert (info["count"], info["dim"], info["metric"], info["factory"]) == (
        30,
        DIM,
        "cosine",
        "Flat",
    )
    assert info["sources"] == ["a.wav"] and info["feature_config"] == {"n_mfcc": 13}
    opened = open_index_dir(index_dir)
    assert opened.info.model_id == "model-a" and opened.info.count == 30 and len(opened) == 30
    queries = random_vectors(30, seed=1)[[3, 17]]
    hits = opened.search(queries, 4)
    assert [len(row) for row in hits] == [4, 4]
    for query_hits, expected in zip(hits, [3, 17], strict=True):
        assert [hit.rank for hit in query_hits] == [1, 2, 3, 4]
        first = query_hits[0]
        assert first.id == expected and first.score == pytest.approx(1.0, abs=1e-5)
        assert first.metadata == {"segment": f"seg{expected:04d}", "start_frame": expected}
        for hit in query_hits:
            assert hit.metadata["start_frame"] == hit.id


def test_search_refuses_other_model_and_dim(index_dir: Path) -> None:
    opened = open_index_dir(index_dir)
    opened.check_vectors("model-a")
    with pytest.raises(
        SeqaeError, match="built with model model-a, vectors come from model model-b"
    ):
        opened.check_vectors("model-b")
    with pytest.raises(SeqaeError, match="4-dim"):
        opened.search(random_vectors(1, seed=0, dim=4), 1)


def test_add_to_index_dir_appends(index_dir: Path) -> None:
    new = random_vectors(5, seed=12)
    added = add_to_index_dir(index_dir, new, metadata_for(5, start=30), "model-a", ["b.wav"])
    assert added.info.count == 35
    opened = open_index_dir(index_dir)
    assert opened.info.count == 35 and opened.metadata.num_rows == 35
    assert opened.info.sources == ("a.wav", "b.wav")
    hits = opened.search(new, 1)
    assert [row[0].id for row in hits] == list(range(30, 35))
    assert [row[0].metadata["segment"] for row in hits] == [f"seg{i:04d}" for i in range(30, 35)]
    assert sorted(p.name for p in index_dir.parent.iterdir()) == ["idx"]  # no temp dirs left


def test_add_to_index_dir_refuses_mismatches(index_dir: Path) -> None:
    with pytest.raises(SeqaeError, match="model-b"):
        add_to_index_dir(index_dir, random_vectors(2, 13), metadata_for(2), "model-b")
    with pytest.raises(SeqaeError, match="4"):
        add_to_index_dir(index_dir, random_vectors(2, 13, dim=4), metadata_for(2), "model-a")
    with pytest.raises(SeqaeError, match="metadata rows"):
        add_to_index_dir(index_dir, random_vectors(2, 13), metadata_for(3), "model-a")
    with pytest.raises(SeqaeError, match="columns"):
        add_to_index_dir(index_dir, random_vectors(2, 13), pa.table({"x": [1, 2]}), "model-a")
    assert open_index_dir(index_dir).info.count == 30


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "no index.json"),
        ("{not json", "cannot be read"),
        ('{"kind": "other", "format_version": 1}', "kind"),
        ('{"kind": "seqae-index", "format_version": 99}', "format version"),
        ('{"kind": "seqae-index", "format_version": 1}', "missing fields"),
    ],
)
def test_bad_index_json_names_path(index_dir: Path, content: str | None, reason: str) -> None:
    info_path = index_dir / "index.json"
    if content is None:
        info_path.unlink()
    else:
        info_path.write_text(content)
    with pytest.raises(SeqaeError, match=reason) as caught:
        open_index_dir(index_dir)
    assert str(index_dir) in str(caught.value)


def test_count_mismatch_is_refused(index_dir: Path) -> None:
    info = json.loads((index_dir / "index.json").read_text())
    (index_dir / "index.json").write_text(json.dumps({**info, "count": 31}))
    with pytest.raises(SeqaeError, match="31 vectors"):
        open_index_dir(index_dir)


def test_create_refuses_to_overwrite_unless_asked(index_dir: Path) -> None:
    vectors = random_vectors(3, seed=14)
    with pytest.raises(SeqaeError, match="not empty"):
        create_index_dir(index_dir, vectors, metadata_for(3), info_for())
    assert open_index_dir(index_dir).info.count == 30
    create_index_dir(index_dir, vectors, metadata_for(3), info_for("model-c"), overwrite=True)
    assert open_index_dir(index_dir).info.model_id == "model-c"
    assert sorted(p.name for p in index_dir.parent.iterdir()) == ["idx"]


def test_create_checks_rows_and_dim(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    create_index_dir(tmp_path / "empty", random_vectors(2, 15), metadata_for(2), info_for())
    with pytest.raises(SeqaeError, match="2 vectors but 3 metadata rows"):
        create_index_dir(tmp_path / "a", random_vectors(2, 15), metadata_for(3), info_for())
    with pytest.raises(SeqaeError, match=r"\(n, 8\)"):
        create_index_dir(tmp_path / "b", random_vectors(2, 15, dim=4), metadata_for(2), info_for())
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
