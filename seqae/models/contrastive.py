"""Objectives on pairs of embeddings with in-batch negatives: a triplet hinge, and NT-Xent."""

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


def nt_xent_loss(
    anchors: torch.Tensor, positives: torch.Tensor, groups: torch.Tensor, temperature: float
) -> torch.Tensor:
    """ContrastiveRNN's loss (Jacobs, Matusevych and Kamper 2021; SimCLR's NT-Xent).

    anchors, positives: (B, E) embeddings of two instances (or views) of one word; groups:
    (B,) word ids. Each anchor must pick its own positive out of every embedding in the batch
    (softmax over cosine similarities / ``temperature``), and each positive its anchor; the
    other members of its group are neither positives nor negatives.
    """
    a = F.normalize(anchors, dim=-1)  # (B, E)
    p = F.normalize(positives, dim=-1)  # (B, E)
    both = torch.cat([a, p])  # (2B, E)
    similarity = both @ both.T / temperature  # (2B, 2B)
    batch = a.size(0)
    group = torch.cat([groups, groups])  # (2B,)
    same = group[:, None] == group[None, :]  # (2B, 2B)
    target = torch.cat([torch.arange(batch, 2 * batch), torch.arange(batch)]).to(a.device)
    own = torch.zeros_like(same)
    own[torch.arange(2 * batch), target] = True
    similarity = similarity.masked_fill(same & ~own, float("-inf"))  # itself, its group
    return F.cross_entropy(similarity, target)
