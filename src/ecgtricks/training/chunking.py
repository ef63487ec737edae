"""Chunked training input: records cut into overlapping fixed-length chunks, features max-pooled.

All chunks of a batch run as one tensor; no Python loop over records.
"""

from __future__ import annotations

import torch
from torch import nn


def chunk_starts(lengths: torch.Tensor, chunk: int, stride: int, width: int) -> torch.Tensor:
    """(B, K) chunk starts: every ``stride`` samples, the last one aligned to the record's end.

    ``K`` is the count a record filling the whole ``width`` needs; shorter records repeat their
    last chunk, which leaves the max over chunks unchanged.
    """
    n_chunks = 1 + max(0, -(-(width - chunk) // stride))
    starts = torch.arange(n_chunks, device=lengths.device) * stride
    last = (lengths - chunk).clamp_min(0)
    return torch.minimum(starts[None, :], last[:, None])


def chunked_features(
    net: nn.Module, x: torch.Tensor, lengths: torch.Tensor, chunk: int, stride: int
) -> torch.Tensor:
    """Pooled features (B, F): ``net.features`` of every chunk, max over each record's chunks."""
    if x.shape[-1] < chunk:
        x = nn.functional.pad(x, (0, chunk - x.shape[-1]))
    batch, channels, width = x.shape
    starts = chunk_starts(lengths, chunk, stride, width)  # (B, K)
    windows = x.unfold(-1, chunk, 1)  # (B, C, width - chunk + 1, chunk), a view
    chunks = windows[torch.arange(batch, device=x.device)[:, None], :, starts]  # (B, K, C, chunk)
    features = net.features(chunks.reshape(-1, channels, chunk))
    return features.view(batch, starts.shape[1], -1).amax(dim=1)
