"""Building blocks of 1-D residual networks (pre-activation, He et al. 2016)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvShortcut(nn.Module):
    """1x1 convolution, strided: the projection shortcut of torchvision's ResNet."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.conv(x)


class IdentityShortcut(nn.Module):
    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return x


class PoolShortcut(nn.Module):
    """Max-pool by the stride, then zero-pad new channels: a parameter-free shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        if c_out < c_in:
            raise ValueError("pool shortcut cannot reduce channels")
        self.stride, self.extra = stride, c_out - c_in

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.stride > 1:
            if mask is not None:  # padding must not win the max, as it would not exist alone
                x = x.masked_fill(~mask, float("-inf"))
            x = F.max_pool1d(x, self.stride, self.stride, ceil_mode=True)
            if mask is not None:
                x = x.nan_to_num(neginf=0.0)
        return F.pad(x, (0, 0, 0, self.extra)) if self.extra else x


SHORTCUTS = {"conv": ConvShortcut, "pool": PoolShortcut}


class BasicBlock(nn.Module):
    """BN-ReLU-conv(k, stride) -> BN-ReLU-[dropout]-conv(k), plus shortcut."""

    def __init__(
        self, c_in: int, c_out: int, *, kernel_size: int = 3, stride: int = 1,
        shortcut: str = "conv", dropout: float = 0.0,
    ) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.bn1 = nn.BatchNorm1d(c_in)
        self.conv1 = nn.Conv1d(c_in, c_out, kernel_size, stride=stride, padding=pad, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv2 = nn.Conv1d(c_out, c_out, kernel_size, padding=pad, bias=False)
        self.stride = stride
        self.shortcut = (
            SHORTCUTS[shortcut](c_in, c_out, stride) if (stride != 1 or c_in != c_out) else IdentityShortcut()
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``mask`` (batch x 1 x time, bool) marks real samples of zero-padded batches; padded
        positions are zeroed before every convolution so outputs match unpadded inputs exactly."""
        h = F.relu(self.bn1(x))
        out = self.conv1(h if mask is None else h * mask)
        out_mask = None if mask is None else downsample_mask(mask, self.stride)
        h = self.dropout(F.relu(self.bn2(out)))
        out = self.conv2(h if out_mask is None else h * out_mask)
        return out + self.shortcut(x, mask)


def downsample_mask(mask: torch.Tensor, stride: int) -> torch.Tensor:
    """Valid positions after a stride-``stride`` layer with 'same' padding: ceil(len/stride)."""
    return mask[..., ::stride] if stride > 1 else mask


BLOCKS = {"basic": BasicBlock}
