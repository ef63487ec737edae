"""Binary cross-entropy with the paper's optional weightings, for hard or mixed (soft) targets,
and the loss tricks that reshape it.

One module, :class:`WeightedBCE`, holds every setting; each term is switched on by a key of
``configs/loss/bce.yaml`` and stays out of the computation at its neutral value, so the baseline
is today's BCE to the bit:

- **label smoothing** (Szegedy et al. 2016, multi-label form): targets ``y(1 - eps) + eps/2``.
- **focusing** of the per-element terms, shared by two tricks that reshape the same terms (so
  they cannot both be on): the *asymmetric loss* (Ridnik et al., ICCV 2021) multiplies the
  positive term by ``(1 - p)^gamma_pos`` and the negative term by ``p_m^gamma_neg`` with the
  shifted probability ``p_m = max(p - clip, 0)`` (whose log term is ``-log(1 - p_m)``); the
  *focal loss* (Lin et al. 2017) is the symmetric case ``gamma_pos = gamma_neg = gamma``,
  ``clip = 0``, with the optional alpha-balancing ``alpha`` / ``1 - alpha`` of the positive /
  negative terms.
- the paper's weightings of the positive (``class_weight``) and negative (``confusion_weight``)
  terms multiply whichever terms the above give: they say how much an element counts, the
  tricks above how its error is measured.
- **challenge loss** (ISIBrno-AIMT, Challenge 2021): the mean of the terms minus
  ``challenge_weight`` x :func:`soft_challenge_score` of the batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ecgtricks.utils.errors import ConfigError

# The new keys and their neutral values: at these the loss is the paper's weighted BCE.
NEUTRAL: dict[str, Any] = {
    "asl_gamma_neg": 0.0, "asl_gamma_pos": 0.0, "asl_clip": 0.0,
    "focal_gamma": 0.0, "focal_alpha": None,
    "label_smoothing": 0.0, "challenge_weight": 0.0,
}


def check_loss(cfg: dict[str, Any]) -> None:
    """Ranges and combinations of the loss keys, as one-line :class:`ConfigError` s; called by
    :func:`ecgtricks.runs.config.check` (before any data is read) and by :func:`build_loss`."""
    get = {**NEUTRAL, **cfg}.get
    for key in ("asl_gamma_neg", "asl_gamma_pos", "focal_gamma", "challenge_weight"):
        if not float(get(key)) >= 0:
            raise ConfigError(f"loss.{key}={get(key)} must be >= 0")
    for key in ("asl_clip", "label_smoothing"):
        if not 0 <= float(get(key)) < 1:
            raise ConfigError(f"loss.{key}={get(key)} must be in [0, 1)")
    alpha = get("focal_alpha")
    if alpha is not None and not 0 <= float(alpha) <= 1:
        raise ConfigError(f"loss.focal_alpha={alpha} must be in [0, 1] or null (no alpha-balancing)")
    asymmetric = any(float(get(k)) != 0 for k in ("asl_gamma_neg", "asl_gamma_pos", "asl_clip"))
    focal = float(get("focal_gamma")) != 0 or alpha is not None
    if asymmetric and focal:
        raise ConfigError("asymmetric_loss and focal_loss cannot both be on: both reshape the same "
                          "positive/negative terms (focal is asymmetric with gamma_pos = gamma_neg, clip 0)")


def soft_challenge_score(
    probs: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor, normal_index: int
) -> torch.Tensor:
    """The Challenge metric of the batch with probabilities as outputs: differentiable in ``probs``.

    The official definition (:class:`ecgtricks.scoring.metrics.ChallengeTerms`) with fuzzy sets:
    ``observed = sum_i (y_i W) . p_i / max(1, |y_i OR p_i|)`` with ``|y OR p| = sum_c max(y_c,
    p_c)``; the always-correct (``p = y``) and always-normal (the normal class only) scores
    normalise it, and a batch where the two coincide scores 0 (no gradient), as the official
    code. On 0/1 outputs and labels it is the official score; soft (mixup) targets are fuzzy
    labels. ``weights``: ``(C, C)`` without NaN.
    """
    y = targets.to(probs.dtype)
    yw = y @ weights
    observed = ((yw * probs).sum(dim=1) / torch.maximum(y, probs).sum(dim=1).clamp_min(1)).sum()
    n_labels = y.sum(dim=1)
    correct = ((yw * y).sum(dim=1) / n_labels.clamp_min(1)).sum()
    # {normal} as outputs: the union is the labels plus the normal class where it is not one
    inactive = (yw[:, normal_index] / (n_labels + 1 - y[:, normal_index]).clamp_min(1)).sum()
    span = correct - inactive
    safe = torch.where(span != 0, span, torch.ones_like(span))
    return torch.where(span != 0, (observed - inactive) / safe, torch.zeros_like(span))


def _power_of_sigmoid(logits: torch.Tensor, gamma: float) -> torch.Tensor:
    """``sigmoid(logits)^gamma`` as ``exp(gamma * logsigmoid)``: finite value and gradient even
    where the sigmoid saturates to 0 or 1 in float32 (a plain ``pow`` of 0 has an infinite
    derivative for gamma < 1)."""
    return torch.exp(gamma * F.logsigmoid(logits))


class WeightedBCE(nn.Module):
    """Mean over records and classes of ``w_pos * y * L+ + w_neg * (1 - y) * L-``, minus
    ``challenge_weight`` x the batch's soft challenge score (see the module docstring).

    ``L+ = -log p`` and ``L- = -log(1 - p)`` (BCE) unless focused: ``L+ x (1 - p)^gamma_pos``,
    ``L- = -log(1 - p_m) x p_m^gamma_neg`` with ``p_m = max(p - clip, 0)``, times ``alpha`` /
    ``1 - alpha`` when alpha-balanced; ``y`` is smoothed by ``label_smoothing``.

    - ``pos_weight`` (C,): weights of the positive terms (``class_weight`` trick).
    - ``negative_cost`` (C, C): ``1 - W`` with ``W`` the challenge weight matrix; the negative
      term of class j in a record weighs the mean of ``1 - W[t, j]`` over its true classes t
      (``confusion_weight`` trick), so confusing related classes costs less. Records without a
      scored label use ``no_label_weight``. Both weightings read the unsmoothed targets.
    - ``challenge_weights`` (C, C) and ``normal_index``: the edition's weight matrix and normal
      class, for ``challenge_weight`` > 0.
    """

    def __init__(
        self, pos_weight: torch.Tensor | None = None, negative_cost: torch.Tensor | None = None,
        no_label_weight: float = 0.5, *, gamma_pos: float = 0.0, gamma_neg: float = 0.0,
        clip: float = 0.0, alpha: float | None = None, label_smoothing: float = 0.0,
        challenge_weight: float = 0.0, challenge_weights: torch.Tensor | None = None,
        normal_index: int = 0,
    ) -> None:
        super().__init__()
        self.register_buffer("pos_weight", pos_weight)
        self.register_buffer("negative_cost", negative_cost)
        self.register_buffer("challenge_weights", challenge_weights if challenge_weight else None)
        self.no_label_weight = no_label_weight
        self.gamma_pos, self.gamma_neg, self.clip, self.alpha = gamma_pos, gamma_neg, clip, alpha
        self.label_smoothing, self.challenge_weight = label_smoothing, challenge_weight
        self.normal_index = normal_index

    def _negative_term(self, logits: torch.Tensor) -> torch.Tensor:
        """``-log(1 - p_m)`` times its focusing factor ``p_m^gamma_neg``."""
        if self.clip == 0:
            term = F.softplus(logits)  # -log(1 - sigmoid(z)), stable for any z
            return term if self.gamma_neg == 0 else term * _power_of_sigmoid(logits, self.gamma_neg)
        # 1 - p_m = min(1 - p + clip, 1) >= clip: the log is finite
        term = -torch.log((torch.sigmoid(-logits) + self.clip).clamp(max=1))
        if self.gamma_neg == 0:
            return term
        shifted = torch.sigmoid(logits) - self.clip
        # p_m^gamma with a finite gradient where p_m = 0 (the term is 0 there anyway)
        factor = torch.where(shifted > 0, shifted.clamp_min(1e-30).pow(self.gamma_neg), torch.zeros_like(shifted))
        return term * factor

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        y = targets
        if self.label_smoothing:
            y = targets * (1 - self.label_smoothing) + self.label_smoothing / 2
        # softplus(-z) = -log sigmoid(z), softplus(z) = -log(1 - sigmoid(z)): stable for any z
        positive = F.softplus(-logits)
        if self.gamma_pos:
            positive = positive * _power_of_sigmoid(-logits, self.gamma_pos)  # (1 - p)^gamma_pos
        negative = F.softplus(logits) if (self.clip == 0 and self.gamma_neg == 0) else self._negative_term(logits)
        if self.alpha is not None:
            positive, negative = positive * self.alpha, negative * (1 - self.alpha)
        pos = y * positive
        neg = (1 - y) * negative
        if self.pos_weight is not None:
            pos = pos * self.pos_weight
        if self.negative_cost is not None:
            mass = targets.sum(dim=1, keepdim=True)
            weight = (targets @ self.negative_cost) / mass.clamp_min(1e-8)
            neg = neg * torch.where(mass > 0, weight, torch.full_like(weight, self.no_label_weight))
        loss = (pos + neg).mean()
        if self.challenge_weight:
            score = soft_challenge_score(torch.sigmoid(logits.float()), targets, self.challenge_weights,
                                         self.normal_index)
            loss = loss - self.challenge_weight * score
        return loss


def build_loss(cfg: dict, class_counts: np.ndarray | list[int], edition: int = 2020) -> WeightedBCE:
    """The loss of ``cfg`` (the keys of ``configs/loss/bce.yaml``; missing keys are neutral);
    ``class_counts`` are the positives per class in the training records; ``edition`` gives the
    challenge weights ``confusion_weight`` and ``challenge_weight`` use."""
    check_loss(cfg)
    get = {**NEUTRAL, **cfg}.get
    pos_weight = negative_cost = challenge_weights = None
    normal_index = 0
    if cfg.get("class_weight"):
        counts = np.maximum(np.asarray(class_counts, dtype=np.float64), 1.0)
        pos_weight = torch.tensor(np.sqrt(counts.max() / counts), dtype=torch.float32)
    if cfg.get("confusion_weight"):
        from ecgtricks.scoring.labels import weight_matrix

        negative_cost = torch.tensor(1.0 - weight_matrix(edition), dtype=torch.float32)
    if float(get("challenge_weight")):
        from ecgtricks.scoring.editions import edition as scored_edition

        ed = scored_edition(edition)
        w = ed.weight_matrix()
        challenge_weights = torch.tensor(np.where(np.isnan(w), 0.0, w), dtype=torch.float32)
        normal_index = list(ed.codes).index(ed.normal_class)
    focal_gamma, alpha = float(get("focal_gamma")), get("focal_alpha")
    if focal_gamma or alpha is not None:  # focal: the symmetric, unshifted case of the focusing
        gamma_pos = gamma_neg = focal_gamma
        clip = 0.0
    else:
        gamma_pos, gamma_neg, clip = float(get("asl_gamma_pos")), float(get("asl_gamma_neg")), float(get("asl_clip"))
    return WeightedBCE(
        pos_weight, negative_cost, float(cfg.get("no_label_weight", 0.5)),
        gamma_pos=gamma_pos, gamma_neg=gamma_neg, clip=clip, alpha=None if alpha is None else float(alpha),
        label_smoothing=float(get("label_smoothing")), challenge_weight=float(get("challenge_weight")),
        challenge_weights=challenge_weights, normal_index=normal_index,
    )
