"""Binary cross-entropy with the paper's optional weightings, for hard or mixed (soft) targets."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class WeightedBCE(nn.Module):
    """Mean over records and classes of ``w_pos * y * -log p + w_neg * (1 - y) * -log(1 - p)``.

    - ``pos_weight`` (C,): weights of the positive terms (``class_weight`` trick).
    - ``negative_cost`` (C, C): ``1 - W`` with ``W`` the challenge weight matrix; the negative
      term of class j in a record weighs the mean of ``1 - W[t, j]`` over its true classes t
      (``confusion_weight`` trick), so confusing related classes costs less. Records without a
      scored label use ``no_label_weight``.
    """

    def __init__(
        self, pos_weight: torch.Tensor | None = None, negative_cost: torch.Tensor | None = None,
        no_label_weight: float = 0.5,
    ) -> None:
        super().__init__()
        self.register_buffer("pos_weight", pos_weight)
        self.register_buffer("negative_cost", negative_cost)
        self.no_label_weight = no_label_weight

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        # softplus(-z) = -log sigmoid(z), softplus(z) = -log(1 - sigmoid(z)): stable for any z
        pos = targets * F.softplus(-logits)
        neg = (1 - targets) * F.softplus(logits)
        if self.pos_weight is not None:
            pos = pos * self.pos_weight
        if self.negative_cost is not None:
            mass = targets.sum(dim=1, keepdim=True)
            weight = (targets @ self.negative_cost) / mass.clamp_min(1e-8)
            neg = neg * torch.where(mass > 0, weight, torch.full_like(weight, self.no_label_weight))
        return (pos + neg).mean()


def build_loss(cfg: dict, class_counts: np.ndarray | list[int], edition: int = 2020) -> WeightedBCE:
    """The loss of ``cfg`` (``class_weight``, ``confusion_weight``, ``no_label_weight``);
    ``class_counts`` are the positives per class in the training records; ``edition`` gives the
    challenge weights ``confusion_weight`` uses."""
    pos_weight = negative_cost = None
    if cfg.get("class_weight"):
        counts = np.maximum(np.asarray(class_counts, dtype=np.float64), 1.0)
        pos_weight = torch.tensor(np.sqrt(counts.max() / counts), dtype=torch.float32)
    if cfg.get("confusion_weight"):
        from ecgtricks.scoring.labels import weight_matrix

        negative_cost = torch.tensor(1.0 - weight_matrix(edition), dtype=torch.float32)
    return WeightedBCE(pos_weight, negative_cost, float(cfg.get("no_label_weight", 0.5)))
