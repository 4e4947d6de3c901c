"""Unsupervised term discovery: pairs of archive segments that are probably the same word.

Cheap embeddings (the pretrained autoencoder's, or downsampled MFCCs) propose each segment's
nearest neighbours through FAISS; DTW on the frames then checks every candidate, and the
pairs under a cost threshold are kept. No label is read; when the manifest happens to have
labels, the report says how many kept pairs really are the same word.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from index.vectors import build_flat_index, search_index
from seqae.dtw import dtw_pair_costs


@dataclass(frozen=True)
class PairReport:
    """How many pairs were proposed and kept, and (with labels) how pure they are."""

    source: str
    candidates: int
    pairs: int
    threshold: float
    segments_paired: int
    purity: float | None = None  # share of kept pairs with equal labels
    labels_covered: int | None = None
    same_speaker: float | None = None  # share of kept pairs within one speaker
    across: str = "any"  # what every pair was made to cross: "speaker", "file" or "any"

    def to_dict(self) -> dict:
        return asdict(self)


def crossing_groups(
    across: str, speakers: np.ndarray, files: np.ndarray
) -> tuple[str, np.ndarray | None]:
    """What discovered pairs must cross: speakers if every segment names one (and there are
    two or more), else files when the segments are spans of several longer recordings, else
    nothing ("any"; also when ``across`` is "any").

    Two takes by one speaker (or from one recording) share the voice and the room, and a
    model trained to match them learns those instead of the word; pairs within one voice
    also keep each speaker's takes of a word apart from the others'.
    """
    if across == "any":
        return "any", None
    speakers, files = np.asarray(speakers), np.asarray(files)
    if len(speakers) and all(speakers) and len(set(speakers.tolist())) > 1:
        return "speaker", speakers
    recordings = len(set(files.tolist()))
    if 1 < recordings < len(files):  # spans of several longer recordings
        return "file", files
    return "any", None


SEARCH_FACTOR = 8  # with groups, this many times the neighbours are searched, then filtered


def candidate_pairs(
    embeddings: np.ndarray, neighbours: int, groups: np.ndarray | None = None
) -> np.ndarray:
    """(N, E) -> (P, 2) unique row pairs (a < b) where b is among a's nearest or vice versa.

    With ``groups`` (N,) (speakers, or files) only pairs across two groups count, and each
    row's ``neighbours`` nearest rows of other groups are taken.
    """
    depth = neighbours + 1 if groups is None else neighbours * SEARCH_FACTOR + 1
    index = build_flat_index(embeddings)
    _, ids = search_index(index, embeddings, min(depth, len(embeddings)))  # (N, depth)
    rows = np.repeat(np.arange(len(embeddings)), ids.shape[1]).reshape(ids.shape)
    usable = (ids >= 0) & (ids != rows)
    if groups is not None:
        usable &= groups[rows] != groups[np.maximum(ids, 0)]
    rank = np.cumsum(usable, axis=1)  # each row's usable hits, counted in order
    usable &= rank <= neighbours
    pairs = np.stack([rows[usable], ids[usable]], axis=1)
    return np.unique(np.sort(pairs, axis=1), axis=0).reshape(-1, 2)


def keep_threshold(costs: np.ndarray, threshold: float, keep: float) -> float:
    """A given cost threshold, or else the ``keep`` quantile of the candidates' costs."""
    if threshold > 0:
        return float(threshold)
    return float(np.quantile(costs, keep)) if len(costs) else 0.0


def discover_pairs(
    features: list[np.ndarray],
    embeddings: np.ndarray,
    neighbours: int = 5,
    threshold: float = 0.0,
    keep: float = 0.2,
    labels: np.ndarray | None = None,
    source: str = "model",
    groups: np.ndarray | None = None,
    speakers: np.ndarray | None = None,
    across: str = "any",
) -> tuple[np.ndarray, PairReport]:
    """Pairs of segments whose DTW cost is under the threshold -> ((P, 2) rows, report).

    ``groups`` (speakers or files, named by ``across``) restricts pairs to two groups (see
    candidate_pairs); ``speakers``, if known, only reports how many pairs share a speaker.
    """
    candidates = candidate_pairs(embeddings, neighbours, groups)
    costs = dtw_pair_costs(features, candidates)
    limit = keep_threshold(costs, threshold, keep)
    pairs = candidates[costs <= limit]
    report = pair_report(pairs, len(candidates), limit, labels, source, speakers, across)
    return pairs, report


def label_pairs(labels: np.ndarray) -> np.ndarray:
    """(P, 2) every pair of rows that share a non-empty label."""
    groups: dict[str, list[int]] = {}
    for row, label in enumerate(labels):
        if label:
            groups.setdefault(str(label), []).append(row)
    pairs = [(a, b) for rows in groups.values() for i, a in enumerate(rows) for b in rows[i + 1 :]]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def pair_report(
    pairs: np.ndarray,
    candidates: int,
    threshold: float,
    labels: np.ndarray | None,
    source: str,
    speakers: np.ndarray | None = None,
    across: str = "any",
) -> PairReport:
    purity = covered = same = None
    if labels is not None and len(labels) and all(labels) and len(pairs):
        purity = float(np.mean(labels[pairs[:, 0]] == labels[pairs[:, 1]]))
        covered = len(set(labels[pairs.reshape(-1)]))
    if speakers is not None and len(speakers) and all(speakers) and len(pairs):
        same = float(np.mean(speakers[pairs[:, 0]] == speakers[pairs[:, 1]]))
    return PairReport(
        source=source,
        candidates=candidates,
        pairs=len(pairs),
        threshold=threshold,
        segments_paired=len(np.unique(pairs)),
        purity=purity,
        labels_covered=covered,
        same_speaker=same,
        across=across,
    )
