"""Approximate indexes: factory choice, recall against exact IndexFlat search, per-query
parameters, memory-mapped loading, tuning, atomic appends and frame stores in parts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import faiss
import numpy as np
import pyarrow as pa
import pytest

from index import (
    IndexInfo,
    add_to_index_dir,
    choose_factory,
    create_index_dir,
    load_index,
    open_index_dir,
    parse_memory,
    search_index,
    search_parameters,
)
from index.atomic import replace_dir
from index.build import add_batches, take_rows, tune_index
from index.factory import hnsw_bytes, make_index, train_index
from index.frames import FrameStore, copy_frames, pack_frames, part_name, save_frames
from index.recall import recall_at_k, without_self
from index.store import Addition, append_to_index_dir
from seqae.errors import SeqaeError

DIM = 32


def clustered(count: int, seed: int, dim: int = DIM, centres: int = 100) -> np.ndarray:
    """Overlapping Gaussian clusters around random centres, each with its own spread."""
    rng = np.random.default_rng(seed)
    middle = np.random.default_rng(1000).standard_normal((centres, dim))  # shared by all seeds
    spread = np.random.default_rng(1001).uniform(0.6, 1.4, centres)
    which = rng.integers(0, centres, count)
    noise = rng.standard_normal((count, dim)) * spread[which, None]
    return (middle[which] + noise).astype(np.float32)


def exact_ids(base: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Reference: exact inner-product search over unit vectors with a plain IndexFlatIP."""
    unit_base, unit_queries = base.copy(), queries.copy()
    faiss.normalize_L2(unit_base)
    faiss.normalize_L2(unit_queries)
    flat = faiss.IndexFlatIP(base.shape[1])
    flat.add(unit_base)
    return flat.search(unit_queries, k)[1]


def built(factory: str, base: np.ndarray) -> faiss.Index:
    index = make_index(factory, base.shape[1])
    train_index(index, base)
    add_batches(index, [base])
    return index


def metadata_for(count: int, start: int = 0) -> pa.Table:
    return pa.table({"segment": [f"seg{i:05d}" for i in range(start, start + count)]})


def info_for(model_id: str = "model-a", dim: int = DIM) -> IndexInfo:
    return IndexInfo(model_id, "runs/a/model.pt", dim, {"n_mfcc": 13}, sources=["a"])


# --- choosing a factory -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "dim", "memory", "factory"),
    [
        (24, 16, "4GB", "Flat"),  # the test archives
        (10_000, 256, "4GB", "Flat"),  # the search-speed benchmark: 2.6 M floats a scan
        (100_000, 128, "4GB", "HNSW32"),
        (1_000_000, 128, "1GB", "HNSW32"),  # 784 MB of the 1,000 MB budget
        (1_000_000, 128, "600MB", "HNSW9"),  # fewer links fit
        (1_000_000, 128, "200MB", "IVF4096,PQ64"),  # 72 bytes a vector
        (10_000_000, 128, "200MB", "IVF16384,PQ8"),
        (300_000, 39, "20MB", "IVF2048,PQ13"),  # MFCC-sized vectors: 13 divides 39
    ],
)
def test_choose_factory(count: int, dim: int, memory: str, factory: str) -> None:
    assert choose_factory(count, dim, parse_memory(memory)) == factory


def test_choose_factory_refuses_a_budget_nothing_fits() -> None:
    with pytest.raises(SeqaeError, match="too small for 1,000,000 vectors"):
        choose_factory(1_000_000, 128, parse_memory("5MB"))
    with pytest.raises(SeqaeError, match="too small"):  # too few vectors to train PQ
        choose_factory(5_000, 128, parse_memory("1MB"))


@pytest.mark.parametrize("factory", ["HNSW16", "HNSW16_SQ8,RFlat"])
def test_hnsw_memory_estimate_matches_a_built_index(factory: str) -> None:
    index = built(factory, clustered(5_000, seed=0))
    size = len(faiss.serialize_index(index))
    assert abs(size - hnsw_bytes(5_000, DIM, 16, refined="RFlat" in factory)) / size < 0.05


@pytest.mark.parametrize(
    ("text", "size"), [("1GB", 10**9), ("512MiB", 512 * 2**20), ("2g", 2 * 10**9), ("1000", 1000)]
)
def test_parse_memory(text: str, size: int) -> None:
    assert parse_memory(text) == size


@pytest.mark.parametrize("text", ["lots", "0", "1PB", "-1GB"])
def test_parse_memory_refuses_nonsense(text: str) -> None:
    with pytest.raises(SeqaeError, match="memory budget"):
        parse_memory(text)


def test_bad_factory_string_is_one_line() -> None:
    with pytest.raises(SeqaeError, match="factory 'IVF16,PQ5' cannot index 32-dim"):
        make_index("IVF16,PQ5", DIM)


# --- approximate against exact -----------------------------------------------------------


def heldout_recall(factory: str, count: int = 4_000) -> tuple[float, float, faiss.Index]:
    """Recall@10 of held-out queries at the tuned setting and at the cheapest one."""
    base, queries = clustered(count, seed=1), clustered(200, seed=2)
    index = built(factory, base)
    tuning = tune_index(index, lambda: [base], seed=0)
    assert tuning is not None and tuning.recall >= 0.8
    exact = exact_ids(base, queries, 10)
    tuned = search_parameters(index, tuning.nprobe, tuning.ef_search)
    cheapest = search_parameters(
        index, 1 if tuning.nprobe else None, 10 if tuning.ef_search else None
    )
    recalls = [
        recall_at_k(search_index(index, queries, 10, params=params)[1], exact)
        for params in (tuned, cheapest)
    ]
    return recalls[0], recalls[1], index


@pytest.mark.parametrize("factory", ["IVF32,Flat", "HNSW8", "HNSW8_SQ8,RFlat"])
def test_approximate_index_against_exact_search(factory: str) -> None:
    tuned, cheapest, _ = heldout_recall(factory)
    assert tuned >= 0.9
    assert cheapest < tuned - 0.05  # the parameters are applied: visiting less finds less


@pytest.mark.slow
def test_ivf_pq_against_exact_search() -> None:
    tuned, cheapest, index = heldout_recall("IVF16,PQ16", count=10_000)  # 8-bit codebooks
    assert faiss.extract_index_ivf(index).code_size == 16
    assert tuned >= 0.75 and cheapest < tuned


def test_parameters_travel_with_the_query_not_the_index() -> None:
    base = clustered(2_000, seed=3)
    ivf = built("IVF16,Flat", base)
    hnsw = built("HNSW8", base)
    before = (faiss.extract_index_ivf(ivf).nprobe, hnsw.hnsw.efSearch)
    all_lists = search_index(ivf, base[:50], 10, search_parameters(ivf, nprobe=16))[1]
    np.testing.assert_array_equal(all_lists, exact_ids(base, base[:50], 10))  # every list: exact
    search_index(hnsw, base[:50], 10, search_parameters(hnsw, ef_search=200))
    assert (faiss.extract_index_ivf(ivf).nprobe, hnsw.hnsw.efSearch) == before


def test_parameters_nest_through_transforms_and_refuse_misfits() -> None:
    base = clustered(2_000, seed=4)
    wrapped = built("RR32,IVF16,Flat", base)
    params = search_parameters(wrapped, nprobe=16)
    assert isinstance(params, faiss.SearchParametersPreTransform)
    found = search_index(wrapped, base[:20], 5, params)[1]
    assert recall_at_k(found, exact_ids(base, base[:20], 5)) > 0.95  # a rotation keeps angles
    assert search_parameters(built("Flat", base)) is None
    with pytest.raises(ValueError, match="nprobe applies to IVF"):
        search_parameters(built("HNSW8", base), nprobe=4)
    with pytest.raises(ValueError, match="ef_search applies to HNSW"):
        search_parameters(wrapped, ef_search=4)
    with pytest.raises(ValueError, match="positive integer"):
        search_parameters(wrapped, nprobe=0)


def test_without_self_and_recall() -> None:
    ids = np.array([[7, 1, 2, 3], [4, 5, 6, 9]])
    np.testing.assert_array_equal(without_self(ids, np.array([7, 0]), 3), [[1, 2, 3], [4, 5, 6]])
    assert recall_at_k(np.array([[1, 2], [3, 4]]), np.array([[2, 9], [3, 4]])) == 0.75


def test_take_rows_across_batches() -> None:
    matrix = np.arange(20, dtype=np.float32).reshape(10, 2)
    batches = [matrix[:3], matrix[3:4], matrix[4:]]
    np.testing.assert_array_equal(take_rows(batches, np.array([0, 3, 9])), matrix[[0, 3, 9]])
    with pytest.raises(ValueError, match="beyond"):
        take_rows(batches, np.array([10]))


# --- loading with memory mapping --------------------------------------------------------


def mapped_files() -> str:
    return Path("/proc/self/maps").read_text()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("factory", ["Flat", "HNSW8", "IVF16,Flat", "HNSW8_SQ8,RFlat"])
def test_mmap_loading_maps_the_file_and_searches_the_same(tmp_path: Path, factory: str) -> None:
    base = clustered(2_000, seed=5)
    index = built(factory, base)
    path = tmp_path / f"{factory.replace(',', '-')}.faiss"
    faiss.write_index(index, str(path))
    mapped, read = load_index(path, mmap=True), load_index(path)
    assert str(path) in mapped_files()
    for other in (mapped, read):
        np.testing.assert_array_equal(
            search_index(other, base[:30], 5)[1], search_index(index, base[:30], 5)[1]
        )
    del mapped
    assert str(path) not in mapped_files()


# --- index directories ------------------------------------------------------------------


def test_index_dir_records_and_uses_tuned_parameters(tmp_path: Path) -> None:
    base = clustered(3_000, seed=6)
    out = create_index_dir(tmp_path / "idx", base, metadata_for(3_000), info_for(), factory="HNSW8")
    info = json.loads((out / "index.json").read_text())
    assert info["factory"] == "HNSW8" and info["nprobe"] is None
    assert info["ef_search"] >= 16 and info["recall"] >= 0.97
    opened = open_index_dir(out)
    assert opened.info.ef_search == info["ef_search"]
    assert opened.parameters().efSearch == info["ef_search"]
    assert opened.parameters(ef_search=300).efSearch == 300
    hits = opened.search(base[:5], 3, ef_search=64)
    assert [row[0].metadata["segment"] for row in hits] == [f"seg{i:05d}" for i in range(5)]
    with pytest.raises(SeqaeError, match="nprobe applies to IVF"):
        opened.search(base[:1], 3, nprobe=4)


@pytest.mark.parametrize("factory", ["IVF32,Flat", "HNSW8_SQ8,RFlat"])
def test_add_keeps_rows_aligned_and_retunes(tmp_path: Path, factory: str) -> None:
    base, new = clustered(3_000, seed=7), clustered(1_000, seed=8)
    out = create_index_dir(tmp_path / "idx", base, metadata_for(3_000), info_for(), factory=factory)
    added = add_to_index_dir(out, new, metadata_for(1_000, start=3_000), "model-a", ["b"])
    assert added.info.count == 4_000 and (added.info.nprobe or added.info.ef_search)
    assert added.metadata.column(0).num_chunks == 1  # row lookups stay cheap (see store.py)
    opened = open_index_dir(out)
    hits = opened.search(new[::100], 1)
    assert [row[0].id for row in hits] == list(range(3_000, 4_000, 100))
    assert [row[0].metadata["segment"] for row in hits] == [
        f"seg{i:05d}" for i in range(3_000, 4_000, 100)
    ]
    assert opened.info.sources == ("a", "b")


def test_failed_add_leaves_the_index_as_it_was(tmp_path: Path) -> None:
    base = clustered(500, seed=9)
    out = create_index_dir(tmp_path / "idx", base, metadata_for(500), info_for(), factory="HNSW8")
    (out / "model.pt").write_bytes(b"weights")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    broken = clustered(100, seed=10)
    broken[30, 3] = np.nan  # a corrupt vector in the second batch
    with pytest.raises(ValueError, match="NaN"):
        append_to_index_dir(
            out, [clustered(100, seed=11), broken], Addition(metadata_for(200, 500), "model-a")
        )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]  # no temporary directory left
    added = append_to_index_dir(
        out, [clustered(100, seed=11)], Addition(metadata_for(100, 500), "model-a")
    )
    assert added.info.count == 600 and (out / "model.pt").read_bytes() == b"weights"


def test_replace_dir_keeps_files_by_hard_link(tmp_path: Path) -> None:
    out = tmp_path / "d"
    replace_dir(out, lambda d: [(d / n).write_text(n) for n in ("a", "b")])
    inode = (out / "a").stat().st_ino
    replace_dir(out, lambda d: (d / "c").write_text("c"), keep_from=out, skip=("b",))
    assert sorted(p.name for p in out.iterdir()) == ["a", "c"]
    assert (out / "a").stat().st_ino == inode and os.stat(out / "c").st_size == 1
    with pytest.raises(RuntimeError, match="disk full"):
        replace_dir(out, lambda d: (_ for _ in ()).throw(RuntimeError("disk full")), out)
    assert sorted(p.name for p in out.iterdir()) == ["a", "c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_frame_store_reads_parts_as_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    sequences = [rng.standard_normal((int(rng.integers(2, 9)), 3)) for _ in range(7)]
    save_frames(tmp_path, "s0", *pack_frames(sequences[:4], 3))
    save_frames(tmp_path, "s1", *pack_frames(sequences[4:], 3))
    assert copy_frames([(tmp_path, "s0")], tmp_path, "frames") == 4
    assert copy_frames([(tmp_path, "s1")], tmp_path, part_name("frames", 1)) == 3
    store = FrameStore(tmp_path, "frames")
    assert len(store) == 7
    for row, sequence in enumerate(sequences):
        np.testing.assert_allclose(store[row], sequence, atol=1e-2)  # float16 storage
    frames, offsets = store.packed()
    assert len(offsets) == 8 and offsets[-1] == len(frames) == sum(len(s) for s in sequences)
    with pytest.raises(IndexError):
        store[7]


def test_version_1_index_dirs_still_open(tmp_path: Path) -> None:
    out = create_index_dir(tmp_path / "idx", clustered(20, seed=13), metadata_for(20), info_for())
    info = json.loads((out / "index.json").read_text())
    old = {key: value for key, value in info.items() if key not in ("nprobe", "ef_search",
           "recall", "memory_budget", "factory", "metric")}  # fmt: skip
    (out / "index.json").write_text(json.dumps({**old, "format_version": 1}))
    opened = open_index_dir(out)
    assert opened.info.factory == "Flat" and opened.info.nprobe is None and len(opened) == 20
