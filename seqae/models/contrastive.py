"""The siamese objective: a triplet hinge on cosine similarity with in-batch negatives."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def triplet_loss(
    anchors: torch.Tensor, positives: torch.Tensor, groups: torch.Tensor, margin: float
) -> torch.Tensor:
    """Mean hinge max(0, margin - cos(a_i, p_i) + max_j cos(a_i, p_j)) over the batch.

    anchors, positives: (B, E) embeddings of two instances of the same word; groups: (B,)
    word ids. The negative for each anchor is the most similar positive of another word in
    the batch (Settle and Livescu's hardest negative); anchors with none are left out.
    """
    a = F.normalize(anchors, dim=-1)  # (B, E)
    p = F.normalize(positives, dim=-1)  # (B, E)
    similarity = a @ p.T  # (B, B)
    same = groups[:, None] == groups[None, :]  # (B, B), True on the diagonal
    hardest = similarity.masked_fill(same, float("-inf")).max(dim=1).values  # (B,)
    usable = torch.isfinite(hardest)
    if not usable.any():
        return similarity.sum() * 0.0  # a batch of one word: no negative, no gradient
    hinge = (margin - similarity.diagonal() + hardest).clamp(min=0.0)
    return hinge[usable].mean()
