"""Dynamic time warping over frame sequences (dtaidistance's C code, OpenMP in parallel).

The same costs serve the DTW baseline, DTW re-ranking of a model's candidates, and pair
discovery for training: frames are scaled to unit length, so the frame cost is the cosine
distance, and a path's cost is divided by both sequences' lengths.
"""

from __future__ import annotations

import numpy as np


def _unit_frames(frames: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(frames, axis=1, keepdims=True)
    return np.ascontiguousarray(frames / np.maximum(norms, 1e-12), dtype=np.float64)


def dtw_similarity(queries: list[np.ndarray], archive: list[np.ndarray]) -> np.ndarray:
    """(Q, N) negated DTW costs: frame cost is cosine distance, total divided by both lengths.

    Frames are scaled to unit length, so dtaidistance's squared Euclidean frame cost equals
    twice the cosine distance; the C implementation runs in parallel with OpenMP.
    """
    from dtaidistance import dtw_ndim

    series = [_unit_frames(f) for f in queries] + [_unit_frames(f) for f in archive]
    n_q = len(queries)
    block = ((0, n_q), (n_q, len(series)))
    matrix = dtw_ndim.distance_matrix_fast(
        series, block=block, parallel=True, inner_dist="squared euclidean"
    )  # (Q + N, Q + N), inf outside the block; entries are sqrt of the summed frame costs
    costs = matrix[:n_q, n_q:] ** 2 / 2.0
    lengths_q = np.array([len(f) for f in queries], dtype=np.float64)
    lengths_a = np.array([len(f) for f in archive], dtype=np.float64)
    return -(costs / (lengths_q[:, None] + lengths_a[None, :]))


def dtw_self_similarity(sequences: list[np.ndarray]) -> np.ndarray:
    """(N, N) negated DTW costs among ``sequences``; only the upper triangle is computed."""
    from dtaidistance import dtw_ndim

    series = [_unit_frames(f) for f in sequences]
    matrix = dtw_ndim.distance_matrix_fast(series, parallel=True, inner_dist="squared euclidean")
    lengths = np.array([len(f) for f in sequences], dtype=np.float64)
    costs = np.nan_to_num(matrix, posinf=0.0) ** 2 / 2.0  # the lower triangle is never read
    return -(costs / (lengths[:, None] + lengths[None, :]))


def dtw_pair_costs(sequences: list[np.ndarray], pairs: np.ndarray) -> np.ndarray:
    """(P,) DTW costs of the (P, 2) row pairs of ``sequences``, on the scale of dtw_similarity."""
    from dtaidistance import dtw_ndim

    units: dict[int, np.ndarray] = {}
    costs = np.zeros(len(pairs), dtype=np.float64)
    for n, (a, b) in enumerate(np.asarray(pairs, dtype=np.int64).reshape(-1, 2)):
        for row in (a, b):
            if row not in units:
                units[row] = _unit_frames(sequences[row])
        distance = dtw_ndim.distance_fast(units[a], units[b], inner_dist="squared euclidean")
        costs[n] = distance**2 / 2.0 / (len(units[a]) + len(units[b]))
    return costs
