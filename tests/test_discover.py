"""Term discovery: pairs checked by DTW, graph communities, and the files a user reviews."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from pipelines.discover.terms import Cluster, DiscoverSettings, discover_terms, scores
from seqae.cli import app

runner = CliRunner()


def _words(seed: int = 0):
    """Three made-up words, five takes each (time-warped, noisy), and four one-off sounds."""
    rng = np.random.default_rng(seed)
    templates = [rng.normal(size=(int(rng.integers(20, 40)), 6)) for _ in range(3)]
    frames, labels, vectors = [], [], []
    for word, template in enumerate(templates):
        for _ in range(5):
            length = int(len(template) * rng.uniform(0.8, 1.25))
            warped = template[np.linspace(0, len(template) - 1, length).round().astype(int)]
            frames.append(warped + 0.15 * rng.normal(size=warped.shape))
            vectors.append(np.eye(8)[word] + 0.2 * rng.normal(size=8))
            labels.append(f"w{word}")
    for _ in range(4):
        frames.append(rng.normal(size=(int(rng.integers(20, 40)), 6)))
        vectors.append(rng.normal(size=8))
        labels.append("")
    spans = [(f"rec{i % 4}.wav", float(i), float(i) + 0.5) for i in range(len(frames))]
    return np.array(vectors, np.float32), frames, spans, labels


def test_recurring_words_become_clusters_and_noise_stays_out():
    vectors, frames, spans, labels = _words()
    settings = DiscoverSettings(keep=0.3, across="any")
    found = discover_terms(vectors, frames, spans, settings, labels)
    assert found.candidates > found.pairs > 0
    assert [c.rank for c in found.clusters] == list(range(1, len(found.clusters) + 1))
    assert all(c.label_share == 1.0 for c in found.clusters)  # no cluster mixes two words
    assert {c.label for c in found.clusters} == {"w0", "w1", "w2"}
    assert found.scores["purity"] == 1.0 and found.scores["nmi"] == 1.0
    assert found.scores["terms_found"] == found.scores["recurring_terms"] == 3
    sizes = [c.size for c in found.clusters]
    assert sizes == sorted(sizes, reverse=True)
    for cluster in found.clusters:
        assert cluster.similarity[0] == pytest.approx(1.0, abs=1e-3)  # the medoid leads
        assert cluster.similarity == sorted(cluster.similarity, reverse=True)
        assert cluster.recordings == len({spans[m][0] for m in cluster.members})
    again = discover_terms(vectors, frames, spans, settings, labels)
    assert [c.members for c in again.clusters] == [c.members for c in found.clusters]


def test_pairs_cross_speakers_else_recordings_as_in_training():
    from pipelines.discover.terms import verified_pairs
    from pipelines.train.pairs import crossing_groups

    vectors, frames, spans, _ = _words()
    speakers = ["anna" if i % 3 else "ben" for i in range(len(frames))]
    settings = DiscoverSettings(keep=1.0)
    pairs, *_ = verified_pairs(vectors, frames, spans, settings, speakers=speakers)
    assert len(pairs) and all(speakers[a] != speakers[b] for a, b in pairs)
    pairs, *_ = verified_pairs(vectors, frames, spans, settings)  # no speakers: recordings
    assert len(pairs) and all(spans[a][0] != spans[b][0] for a, b in pairs)
    one = np.array(["talk.wav"] * 4)  # one long recording: nothing to cross, any pair
    assert crossing_groups("speaker", np.array([""] * 4), one) == ("any", None)
    assert crossing_groups("any", np.array(["a", "b"]), np.array(["x", "y"])) == ("any", None)


def test_overlapping_spans_of_one_file_are_never_a_pair():
    vectors, frames, _, labels = _words()
    spans = [("one.wav", 0.1 * i, 0.1 * i + 5.0) for i in range(len(frames))]  # all overlap
    found = discover_terms(vectors, frames, spans, DiscoverSettings(keep=1.0), labels)
    assert found.candidates == 0 and found.pairs == 0 and found.clusters == []


def test_scores_by_hand():
    labels = ["a", "a", "a", "b", "b", "", "c"]
    clusters = [Cluster(1, [0, 1, 3], [1, 1, 1], 1), Cluster(2, [4, 5], [1, 1], 1)]
    got = scores(clusters, labels)
    assert got["purity"] == pytest.approx(3 / 5, abs=1e-4)  # 2 of cluster 1, 1 of cluster 2
    assert got["coverage"] == pytest.approx(4 / 6, abs=1e-4)  # 0, 1, 3, 4 of the six labelled
    from sklearn.metrics import normalized_mutual_info_score

    nmi = normalized_mutual_info_score(["a", "a", "b", "b"], [1, 1, 1, 2])
    assert got["nmi"] == pytest.approx(nmi, abs=1e-4)
    assert got["recurring_terms"] == 2 and got["terms_found"] == 0  # clusters carry no label


def test_discover_command_writes_csv_page_clips_and_tiers(archive_embeddings, tmp_path):
    import pympi
    from praatio import textgrid

    out = tmp_path / "terms"
    args = ["discover", str(archive_embeddings), "--out", str(out), "--keep", "0.5"]
    result = runner.invoke(app, [*args, "--tier", "eaf", "--tier", "textgrid", "--examples", "2"])
    assert result.exit_code == 0, result.output
    assert "purity" in result.output
    record = json.loads((out / "discover.json").read_text())
    assert record["labels"] == "metadata" and record["segments"] == 18
    assert 0 < record["purity"] <= 1 and 0 < record["coverage"] <= 1 and 0 <= record["nmi"] <= 1
    rows = list(csv.DictReader(open(out / "clusters.csv")))
    assert len(rows) == record["clustered"] == sum(c["size"] for c in record["clusters"])
    assert {int(r["cluster"]) for r in rows} == set(range(1, len(record["clusters"]) + 1))
    page = (out / "index.html").read_text()
    sources = re.findall(r'<audio controls preload="none" src="([^"]+)"', page)
    assert len(sources) == sum(min(2, c["size"]) for c in record["clusters"])
    first = next(r for r in rows if r["cluster"] == "1" and r["member"] == "1")
    clip, rate = sf.read(out / sources[0])
    span = float(first["end"]) - float(first["start"])
    assert rate == 16000 and abs(len(clip) / rate - span) < 0.02
    assert "<script" not in page
    by_file = {}
    for row in rows:
        by_file.setdefault(row["path"], []).append(row)
    path, members = next(iter(by_file.items()))
    stem = path.rsplit("/", 1)[1].rsplit(".", 1)[0]
    eaf = pympi.Elan.Eaf(str(out / "eaf" / f"{stem}.eaf"))
    assert list(eaf.get_tier_names()) == ["discovered"]
    annotations = eaf.get_annotation_data_for_tier("discovered")
    assert {a[2] for a in annotations} == {f"term {int(r['cluster']):03d}" for r in members}
    grid = textgrid.openTextgrid(str(out / "textgrid" / f"{stem}.TextGrid"), False)
    assert [e.label for e in grid.getTier("discovered").entries] == [a[2] for a in annotations]


def test_an_index_gives_what_its_embeddings_give(archive_embeddings, archive_index, tmp_path):
    for source, name in ((archive_embeddings, "e"), (archive_index, "i")):
        result = runner.invoke(app, ["discover", str(source), "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    e, i = (json.loads((tmp_path / n / "discover.json").read_text()) for n in "ei")
    assert [c["members"] for c in e["clusters"]] == [c["members"] for c in i["clusters"]]
    refused = runner.invoke(app, ["discover", str(archive_index), "--out", str(archive_index)])
    assert refused.exit_code != 0 and "never writes over its inputs" in refused.output
    bad = runner.invoke(app, ["discover", str(tmp_path), "--out", str(tmp_path / "x")])
    assert bad.exit_code != 0 and "not an embedding directory" in bad.output
