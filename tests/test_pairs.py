"""Pairs for the correspondence and siamese objectives: discovery, labels, datasets, losses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipelines.io.extract import extract_features
from pipelines.io.manifest import read_manifest
from pipelines.train.pairs import candidate_pairs, discover_pairs, label_pairs
from seqae.baselines import downsample
from seqae.config import FeatureConfig, TrainConfig
from seqae.data import SegmentDataset, collate_pairs, partner_lists
from seqae.data.dataset import word_groups
from seqae.dtw import dtw_pair_costs, dtw_similarity
from seqae.errors import SeqaeError
from seqae.models import triplet_loss


def test_candidate_pairs_are_mutual_neighbours_once():
    embeddings = np.array([[1, 0], [0.99, 0.1], [0, 1], [0.1, 0.99]], dtype=np.float32)
    pairs = candidate_pairs(embeddings, neighbours=1)
    assert pairs.tolist() == [[0, 1], [2, 3]]


def test_dtw_pair_costs_match_the_similarity_matrix():
    rng = np.random.default_rng(0)
    sequences = [rng.normal(size=(n, 5)) for n in (7, 12, 9)]
    pairs = np.array([[0, 1], [1, 2], [0, 2]])
    matrix = -dtw_similarity(sequences, sequences)
    np.testing.assert_allclose(dtw_pair_costs(sequences, pairs), matrix[pairs[:, 0], pairs[:, 1]])


def test_label_pairs_pair_every_instance_of_a_label():
    pairs = label_pairs(np.array(["a", "b", "a", "", "a"]))
    assert pairs.tolist() == [[0, 2], [0, 4], [2, 4]]


def test_discovery_on_speech_finds_same_word_pairs(corpus):
    extraction = extract_features(read_manifest(corpus / "archive.csv"), FeatureConfig())
    labels = np.array([s.label for s in extraction.segments])
    embeddings = np.stack([downsample(f) for f in extraction.features])
    pairs, report = discover_pairs(
        extraction.features, embeddings, neighbours=3, keep=0.3, labels=labels
    )
    assert report.pairs == len(pairs) > 0 and report.candidates > len(pairs)
    assert report.purity == pytest.approx(np.mean(labels[pairs[:, 0]] == labels[pairs[:, 1]]))
    # the kept pairs are purer than the candidates they were chosen from
    candidates = candidate_pairs(embeddings, 3)
    assert report.purity > np.mean(labels[candidates[:, 0]] == labels[candidates[:, 1]])


def test_partner_dataset_rebuilds_another_instance():
    rng = np.random.default_rng(0)
    log_mels = [rng.normal(-40, 10, size=(n, 40)).astype(np.float32) for n in (20, 25, 30, 35)]
    partners = partner_lists(np.array([[0, 1], [1, 2]]), 4)
    assert [p.tolist() for p in partners] == [[1], [0, 2], [1], []]
    assert word_groups(partners).tolist() == [0, 0, 0, 1]
    dataset = SegmentDataset(log_mels, FeatureConfig(), partners=partners, shuffle_partners=False)
    assert dataset.rows == [0, 1, 2] and dataset.lengths == [20, 25, 30]  # row 3 has no pair
    source, target, group = dataset[1]
    assert source.shape == (25, 39) and target.shape == (20, 39) and group == 0
    batch = collate_pairs([dataset[0], dataset[2]])
    assert batch[3].tolist() == [25, 25] and batch[4].tolist() == [0, 0]


def test_triplet_loss_against_a_direct_computation():
    torch.manual_seed(0)
    a, p = torch.randn(4, 6), torch.randn(4, 6)
    groups = torch.tensor([0, 0, 1, 2])
    cos = torch.nn.functional.cosine_similarity(a[:, None], p[None, :], dim=-1)  # (4, 4)
    expected = []
    for i in range(4):
        negatives = [cos[i, j] for j in range(4) if groups[j] != groups[i]]
        expected.append(torch.clamp(0.4 - cos[i, i] + max(negatives), min=0))
    loss = triplet_loss(a, p, groups, margin=0.4)
    assert loss.item() == pytest.approx(torch.stack(expected).mean().item(), abs=1e-6)
    same = triplet_loss(a, a, torch.zeros(4, dtype=torch.long), 0.4)
    assert same.item() == 0.0


def test_paired_objectives_need_known_settings():
    with pytest.raises(SeqaeError, match="objective"):
        TrainConfig(objective="vae")
    with pytest.raises(SeqaeError, match="pairs"):
        TrainConfig(pairs="oracle")
    assert TrainConfig(objective="cae").paired and not TrainConfig(objective="dae").paired


def test_candidate_pairs_cross_groups():
    embeddings = np.array([[1, 0], [0.99, 0.1], [0.98, 0.2], [0, 1]], dtype=np.float32)
    speakers = np.array(["a", "a", "b", "b"])
    pairs = candidate_pairs(embeddings, neighbours=1, groups=speakers)
    assert all(speakers[a] != speakers[b] for a, b in pairs)
    assert [0, 2] in pairs.tolist() and [0, 1] not in pairs.tolist()


def test_discovery_reports_the_same_speaker_share(corpus):
    extraction = extract_features(read_manifest(corpus / "archive.csv"), FeatureConfig())
    speakers = np.array([s.metadata["speaker"] for s in extraction.segments])
    embeddings = np.stack([downsample(f) for f in extraction.features])
    free, report = discover_pairs(extraction.features, embeddings, 3, speakers=speakers)
    across, crossed = discover_pairs(
        extraction.features, embeddings, 3, groups=speakers, speakers=speakers, across="speaker"
    )
    assert report.same_speaker == pytest.approx(
        np.mean(speakers[free[:, 0]] == speakers[free[:, 1]])
    )
    assert crossed.same_speaker == 0.0 and crossed.across == "speaker" and len(across)


def _nt_xent_directly(a, p, groups, temperature):
    """NT-Xent written out one row at a time."""
    both = torch.nn.functional.normalize(torch.cat([a, p]), dim=-1)
    n = len(a)
    group = torch.cat([groups, groups])
    losses = []
    for i in range(2 * n):
        positive = (i + n) % (2 * n)
        logits = []
        for j in range(2 * n):
            if j == positive or group[j] != group[i]:
                logits.append((both[i] @ both[j] / temperature, j == positive))
        values = torch.stack([v for v, _ in logits])
        target = [k for k, (_, is_positive) in enumerate(logits) if is_positive][0]
        losses.append(torch.logsumexp(values, 0) - values[target])
    return torch.stack(losses).mean()


def test_nt_xent_against_a_direct_computation():
    from seqae.models import nt_xent_loss

    torch.manual_seed(0)
    a, p = torch.randn(5, 6), torch.randn(5, 6)
    groups = torch.tensor([0, 0, 1, 2, 3])
    loss = nt_xent_loss(a, p, groups, temperature=0.25)
    assert loss.item() == pytest.approx(_nt_xent_directly(a, p, groups, 0.25).item(), rel=1e-5)
    aligned = nt_xent_loss(a, a, torch.arange(5), 0.1)
    assert aligned.item() < loss.item()  # identical views are easier to tell apart


def test_contrastive_dataset_keeps_unpaired_rows_as_their_own_views():
    from seqae.data import AugmentConfig

    rng = np.random.default_rng(0)
    log_mels = [rng.normal(-40, 10, size=(n, 40)).astype(np.float32) for n in (20, 25, 30)]
    partners = partner_lists(np.array([[0, 1]]), 3)
    dataset = SegmentDataset(log_mels, FeatureConfig(), AugmentConfig(), partners=partners,
                             views=True)  # fmt: skip
    assert dataset.rows == [0, 1, 2]
    anchor, positive, group = dataset[2]
    assert group == word_groups(partners)[2] and not np.allclose(anchor[:20], positive[:20])
