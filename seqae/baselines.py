"""The reference method that needs neither training nor alignment: downsampled frames."""

from __future__ import annotations

import numpy as np


def downsample(frames: np.ndarray, steps: int = 10) -> np.ndarray:
    """Resample a (T, D) sequence to ``steps`` frames by linear interpolation and flatten it."""
    frames = np.asarray(frames, dtype=np.float32)
    source = np.linspace(0.0, 1.0, num=len(frames)) if len(frames) > 1 else np.zeros(1)
    target = np.linspace(0.0, 1.0, num=steps)
    columns = [np.interp(target, source, frames[:, d]) for d in range(frames.shape[1])]
    return np.stack(columns, axis=1).reshape(-1).astype(np.float32)  # (steps * D,)


def cosine_similarity(queries: np.ndarray, archive: np.ndarray) -> np.ndarray:
    """(Q, D) x (N, D) -> (Q, N) cosine similarities."""
    q = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    a = archive / np.maximum(np.linalg.norm(archive, axis=1, keepdims=True), 1e-12)
    return q @ a.T
