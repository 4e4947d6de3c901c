"""Term discovery: recurring word-like segments of an archive grouped into clusters.

The pair discovery that training uses (pipelines.train.pairs: each segment's nearest
neighbours by embedding, checked by DTW on the frames, the cheapest pairs kept) gives a graph
whose edges join segments that sound alike; Louvain communities of that graph (networkx),
weighted by how far under the cost threshold each pair is, are the discovered terms. No label
is read to find them; where labels exist (a manifest's ``label`` column, or true times of
long recordings) they only score the clusters: purity, coverage and normalised mutual
information.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from pipelines.train.pairs import candidate_pairs, crossing_groups, keep_threshold
from seqae.config import PAIR_ACROSS
from seqae.dtw import dtw_pair_costs
from seqae.errors import SeqaeError

DTW_CHUNK = 2000  # candidate pairs aligned between two progress reports


@dataclass(frozen=True)
class DiscoverSettings:
    """How segments are paired and grouped."""

    neighbours: int = 5  # nearest neighbours by embedding checked by DTW, per segment
    keep: float = 0.2  # share of the checked pairs kept (the cheapest), unless threshold
    threshold: float = 0.0  # a DTW cost under which a pair is kept (0: use keep)
    min_size: int = 2  # smaller clusters are dropped
    resolution: float = 1.0  # Louvain's: higher gives more, smaller clusters
    seed: int = 0
    across: str = "speaker"  # pairs cross speakers, else recordings (as training's pairs do)

    def __post_init__(self) -> None:
        if self.neighbours < 1:
            raise SeqaeError(f"--neighbours must be at least 1, not {self.neighbours}")
        if not 0 < self.keep <= 1:
            raise SeqaeError(f"--keep must be in (0, 1], not {self.keep}")
        if self.min_size < 2:
            raise SeqaeError(f"--min-size must be at least 2, not {self.min_size}")
        if self.across not in PAIR_ACROSS:
            raise SeqaeError(
                f"--across must be one of {', '.join(PAIR_ACROSS)}, not {self.across!r}"
            )


@dataclass(frozen=True)
class Cluster:
    """One discovered term: its segments (rows), best first (the medoid leads)."""

    rank: int
    members: list[int]
    similarity: list[float]  # each member's cosine similarity to the medoid
    recordings: int  # distinct files its segments come from
    label: str = ""  # with labels: the most common one
    label_share: float | None = None  # and its share of the members

    @property
    def size(self) -> int:
        return len(self.members)


@dataclass
class Discovery:
    """The clusters and how they were found (and, with labels, how good they are)."""

    clusters: list[Cluster]
    segments: int
    candidates: int
    pairs: int
    threshold: float
    scores: dict[str, float] = field(default_factory=dict)  # purity, coverage, nmi, ...

    def summary(self) -> dict:
        return {
            "segments": self.segments,
            "candidates": self.candidates,
            "pairs": self.pairs,
            "threshold": self.threshold,
            "clusters": len(self.clusters),
            "clustered": sum(c.size for c in self.clusters),
            **self.scores,
        }


def verified_pairs(
    vectors: np.ndarray,
    frames: Sequence[np.ndarray],
    spans: Sequence[tuple[str, float, float]],
    settings: DiscoverSettings,
    progress: Callable[[int], None] | None = None,
    speakers: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, int, float]:
    """(kept pairs (P, 2), their costs (P,), candidates checked, cost threshold).

    Pairs cross speakers (``speakers``, when every segment names one) or else recordings, as
    in training (pipelines.train.pairs.crossing_groups); a term said twice by one voice
    still joins its cluster through the other voices. Two segments of one file that overlap
    in time (dense windows over one stretch of speech) are never a pair: they are the same
    sound, not a recurrence.
    """
    files = np.array([span[0] for span in spans])
    _, groups = crossing_groups(settings.across, np.array(speakers or [""] * len(spans)), files)
    candidates = candidate_pairs(vectors, settings.neighbours, groups)
    a, b = candidates[:, 0], candidates[:, 1]
    same_file = np.array([spans[i][0] == spans[j][0] for i, j in zip(a, b, strict=True)], bool)
    starts, ends = np.array([s[1] for s in spans]), np.array([s[2] for s in spans])
    overlap = same_file & (np.minimum(ends[a], ends[b]) > np.maximum(starts[a], starts[b]))
    candidates = candidates[~overlap]
    costs = np.zeros(len(candidates))
    for first in range(0, len(candidates), DTW_CHUNK):
        chunk = candidates[first : first + DTW_CHUNK]
        costs[first : first + len(chunk)] = dtw_pair_costs(list(frames), chunk)
        if progress:
            progress(len(chunk))
    limit = keep_threshold(costs, settings.threshold, settings.keep)
    kept = costs <= limit
    return candidates[kept], costs[kept], len(candidates), limit


def cluster_pairs(
    count: int, pairs: np.ndarray, costs: np.ndarray, threshold: float, settings: DiscoverSettings
) -> list[list[int]]:
    """Louvain communities of the pair graph, largest first; edges weigh more the further
    their cost is under the threshold."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(count))
    scale = threshold if threshold > 0 else 1.0
    weights = 1.0 - costs / scale + 1e-3  # a pair at the threshold still counts a little
    graph.add_weighted_edges_from(
        (int(a), int(b), float(w)) for (a, b), w in zip(pairs, weights, strict=True)
    )
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])
    if graph.number_of_edges() == 0:
        return []
    communities = nx.community.louvain_communities(
        graph, weight="weight", resolution=settings.resolution, seed=settings.seed
    )
    groups = [sorted(c) for c in communities if len(c) >= settings.min_size]
    return sorted(groups, key=lambda g: (-len(g), g[0]))


def discover_terms(
    vectors: np.ndarray,
    frames: Sequence[np.ndarray],
    spans: Sequence[tuple[str, float, float]],
    settings: DiscoverSettings = DiscoverSettings(),
    labels: Sequence[str] | None = None,
    progress: Callable[[int], None] | None = None,
    speakers: Sequence[str] | None = None,
) -> Discovery:
    """Clusters of the segments (rows of ``vectors``/``frames``, each at ``spans`` (file,
    start, end)), ranked by size, then by the recordings they span.

    ``labels`` (one per segment, "" where unknown) only score the result (see ``scores``);
    ``speakers`` (one per segment) are what pairs cross (see ``verified_pairs``).
    """
    if len(vectors) != len(frames) or len(vectors) != len(spans):
        raise SeqaeError(
            f"{len(vectors)} vectors, {len(frames)} frame sequences and {len(spans)} spans: "
            "one of each per segment is needed"
        )
    if len(vectors) < 2:
        raise SeqaeError(f"{len(vectors)} segment(s): discovery needs at least two")
    pairs, costs, candidates, threshold = verified_pairs(
        vectors, frames, spans, settings, progress, speakers
    )
    groups = cluster_pairs(len(vectors), pairs, costs, threshold, settings)
    units = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    clusters = []
    for group in groups:
        inside = units[group] @ units[group].T  # (n, n) cosine similarities
        medoid = group[int(np.argmax(inside.sum(axis=1)))]
        similarity = units[group] @ units[medoid]
        order = np.argsort(-similarity, kind="stable")
        members = [group[i] for i in order]
        named = Counter(labels[m] for m in members if labels[m]) if labels is not None else None
        top = named.most_common(1)[0] if named else ("", 0)
        clusters.append(
            Cluster(
                rank=0,
                members=members,
                similarity=[round(float(similarity[i]), 4) for i in order],
                recordings=len({spans[m][0] for m in members}),
                label=top[0],
                label_share=round(top[1] / len(members), 4) if named else None,
            )
        )
    clusters.sort(key=lambda c: (-c.size, -c.recordings, c.members[0]))
    clusters = [
        Cluster(n, c.members, c.similarity, c.recordings, c.label, c.label_share)
        for n, c in enumerate(clusters, start=1)
    ]
    found = Discovery(clusters, len(vectors), candidates, len(pairs), threshold)
    if labels is not None and any(labels):
        found.scores = scores(clusters, labels)
    return found


def scores(clusters: list[Cluster], labels: Sequence[str]) -> dict[str, float]:
    """How well the clusters match known labels ("" = not a word, or not known).

    purity: of the clustered segments, the share that carry their cluster's most common
    label; coverage: the share of the labelled segments that are in some cluster; nmi: the
    normalised mutual information of cluster and label over the clustered labelled segments;
    terms_found: how many labels (of those on two segments or more) lead some cluster.
    """
    from sklearn.metrics import normalized_mutual_info_score

    clustered = [(c.rank, labels[m]) for c in clusters for m in c.members]
    labelled = [(rank, label) for rank, label in clustered if label]
    total = sum(1 for label in labels if label)
    recurring = {label for label, n in Counter(lb for lb in labels if lb).items() if n >= 2}
    majority = sum(Counter(labels[m] for m in c.members).most_common(1)[0][1] for c in clusters)
    return {
        "purity": round(majority / len(clustered), 4) if clustered else 0.0,
        "coverage": round(len(labelled) / total, 4) if total else 0.0,
        "nmi": round(
            float(
                normalized_mutual_info_score([lb for _, lb in labelled], [r for r, _ in labelled])
            ),
            4,
        )
        if len(labelled) > 1
        else 0.0,
        "terms_found": len({c.label for c in clusters if c.label in recurring}),
        "recurring_terms": len(recurring),
    }


def cluster_rows(found: Discovery, spans, labels: Sequence[str] | None) -> list[dict]:
    """One row per clustered segment, for the CSV: cluster, rank in it, file, times."""
    rows = []
    for cluster in found.clusters:
        for place, (member, similarity) in enumerate(
            zip(cluster.members, cluster.similarity, strict=True), start=1
        ):
            path, start, end = spans[member]
            rows.append(
                {
                    "cluster": cluster.rank,
                    "size": cluster.size,
                    "recordings": cluster.recordings,
                    "member": place,
                    "path": path,
                    "start": round(start, 3),
                    "end": round(end, 3),
                    "similarity": similarity,
                    **({"label": labels[member]} if labels is not None else {}),
                }
            )
    return rows


def cluster_dicts(found: Discovery) -> list[dict]:
    return [{**asdict(c), "size": c.size} for c in found.clusters]
