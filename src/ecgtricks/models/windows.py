"""Sliding-window test-time augmentation: a network scores overlapping windows of each record and
the windows' outputs are aggregated (the PTB-XL benchmark, Strodthoff et al. 2021: 2.5 s windows,
1.25 s stride, the maximum over windows).

Windows start every ``stride`` samples, plus one aligned to the record's end so its tail is
seen; a record shorter than a window is one window, its padding masked as in a whole-record
forward. All windows of a batch go through the network at once (one gather, no Python loop over
records or windows).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

AGGREGATIONS = ("max", "mean")


def window_samples(postprocess: Any, fs: float) -> dict[str, Any]:
    """``{how, window, stride}`` of a config's ``postprocess`` section (``tta``, ``tta_window_s``,
    ``tta_stride_s``) in samples at ``fs``: what training's evaluation and a model directory's
    prediction both use."""
    window = max(1, int(round(float(postprocess["tta_window_s"]) * fs)))
    stride = max(1, int(round(float(postprocess["tta_stride_s"]) * fs)))
    return {"how": str(postprocess["tta"]), "window": window, "stride": stride}


def window_starts(lengths: torch.Tensor, window: int, stride: int, n_windows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(starts, valid)``, each (records x n_windows): window ``j`` starts at ``min(j * stride,
    length - window)``; it is valid when it is the first or its grid start falls before the last
    full window's start (so the window aligned to the end is counted once)."""
    j = torch.arange(n_windows, device=lengths.device)
    last = (lengths - window).clamp(min=0)[:, None]
    starts = torch.minimum(j[None] * stride, last)
    valid = (j[None] == 0) | ((j[None] - 1) * stride < last)
    return starts, valid


def sliding_window_logits(net: torch.nn.Module, x: torch.Tensor, lengths: torch.Tensor, window: int, stride: int,
                          how: str = "max") -> torch.Tensor:
    """Logits of each record of ``x`` (records x leads x samples, zero-padded past ``lengths``)
    aggregated over its windows: ``max`` takes the maximum logit (the maximum probability, as
    the sigmoid is monotone), ``mean`` the logit of the mean probability."""
    if how not in AGGREGATIONS:
        raise ValueError(f"window aggregation must be one of {AGGREGATIONS}, got {how!r}")
    if window < 1 or stride < 1:
        raise ValueError(f"window ({window}) and stride ({stride}) must be at least one sample")
    n, channels, total = x.shape
    if total < window:
        x, total = F.pad(x, (0, window - total)), window
    n_windows = (total - window) // stride + 2  # the grid, plus the window aligned to the end
    starts, valid = window_starts(lengths, window, stride, n_windows)
    index = starts[..., None] + torch.arange(window, device=x.device)  # records x windows x window
    rows = torch.arange(n, device=x.device)[:, None, None]
    windows = x[rows, :, index].permute(0, 1, 3, 2)  # records x windows x leads x window
    window_lengths = lengths.clamp(max=window)[:, None].expand(n, n_windows)
    logits = net(windows[valid], window_lengths[valid])  # valid windows x classes
    if how == "max":
        full = logits.new_full((n, n_windows, logits.shape[-1]), float("-inf"))
        full[valid] = logits
        return full.amax(dim=1)
    probs = logits.new_zeros((n, n_windows, logits.shape[-1]))
    probs[valid] = torch.sigmoid(logits)
    mean = probs.sum(dim=1) / valid.sum(dim=1, keepdim=True)
    return torch.logit(mean, eps=torch.finfo(mean.dtype).eps)
