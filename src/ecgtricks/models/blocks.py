"""Building blocks of 1-D residual networks (pre-activation, He et al. 2016).

Every block takes ``mask`` (batch x 1 x time, bool, or None): the real samples of a zero-padded
batch. Padded positions are zeroed before every convolution and global averages (squeeze-and-
excitation, split attention) count real samples only, so a record's output does not depend on
its batch. Every block exposes ``stride``, ``out_channels`` and ``receptive_margin``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def downsample_mask(mask: torch.Tensor, stride: int) -> torch.Tensor:
    """Valid positions after a stride-``stride`` layer with 'same' padding: ceil(len/stride)."""
    return mask[..., ::stride] if stride > 1 else mask


def _masked(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return x if mask is None else x * mask


def check_groups(groups: int, *channels: int, what: str = "grouped convolution") -> None:
    for c in channels:
        if c % groups:
            raise ValueError(f"{what}: {c} channels are not divisible by groups={groups}")


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


def make_shortcut(kind: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    return SHORTCUTS[kind](c_in, c_out, stride) if (stride != 1 or c_in != c_out) else IdentityShortcut()


class GlobalAvgPool(nn.Module):
    """Mean over the real samples of each record: (B, C, T) -> (B, C, 1).

    ``fixed``, when set, is returned instead: ``ResNet1d.features_windowed`` sets it to the whole
    record's mean so that every window sees the same context as the whole record.
    """

    def __init__(self) -> None:
        super().__init__()
        self.fixed: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.fixed is not None:
            return self.fixed
        if mask is None:
            return x.mean(dim=-1, keepdim=True)
        return (x * mask).sum(dim=-1, keepdim=True) / mask.sum(dim=-1, keepdim=True).clamp_min(1)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018): channels gated by an MLP of their mean over time."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.pool = GlobalAvgPool()
        self.fc1 = nn.Conv1d(channels, hidden, 1)
        self.fc2 = nn.Conv1d(hidden, channels, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        gate = self.fc2(F.relu(self.fc1(self.pool(x, mask))))
        return x * torch.sigmoid(gate)


class SplitAttnConv(nn.Module):
    """Split-attention convolution (Zhang et al. 2022, ResNeSt), 1-D.

    One grouped convolution gives ``radix`` splits of ``c_out`` channels; their sum, averaged
    over time, feeds a two-layer 1x1 MLP whose output, softmax-normalised across the splits
    (sigmoid when radix is 1), weights the splits' sum. ``mask`` is at the input's resolution.
    """

    def __init__(
        self, c_in: int, c_out: int, kernel_size: int, *, stride: int = 1, groups: int = 1,
        radix: int = 2, reduction: int = 4, min_hidden: int = 8,
    ) -> None:
        super().__init__()
        what = f"split-attention convolution (radix={radix} x groups={groups})"
        check_groups(radix * groups, c_in, c_out * radix, what=what)
        self.radix, self.groups, self.stride = radix, groups, stride
        hidden = max(c_out * radix // reduction, min_hidden)
        hidden = -(-hidden // groups) * groups  # the MLP is grouped like the convolution
        self.conv = nn.Conv1d(
            c_in, c_out * radix, kernel_size, stride=stride, padding=kernel_size // 2,
            groups=groups * radix, bias=False,
        )
        self.bn = nn.BatchNorm1d(c_out * radix)
        self.pool = GlobalAvgPool()
        # No BN inside the MLP (unlike ResNeSt): it acts on one vector per record, like SE's.
        self.fc1 = nn.Conv1d(c_out, hidden, 1, groups=groups)
        self.fc2 = nn.Conv1d(hidden, c_out * radix, 1, groups=groups)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        batch = x.shape[0]
        splits = F.relu(self.bn(self.conv(_masked(x, mask))))
        splits = splits.unflatten(1, (self.radix, -1))  # (B, radix, C, T)
        out_mask = None if mask is None else downsample_mask(mask, self.stride)
        attn = self.fc2(F.relu(self.fc1(self.pool(splits.sum(dim=1), out_mask))))
        if self.radix > 1:  # fc2's channels run (group, split, channel): softmax across splits
            attn = attn.view(batch, self.groups, self.radix, -1).transpose(1, 2).softmax(dim=1)
        else:
            attn = torch.sigmoid(attn)
        return (splits * attn.reshape(batch, self.radix, -1, 1)).sum(dim=1)


class BasicBlock(nn.Module):
    """BN-ReLU-conv(k, stride) -> BN-ReLU-[dropout]-conv(k) [-> SE], plus shortcut.

    ``groups`` groups both k-size convolutions (ResNeXt); ``se_reduction`` adds
    squeeze-and-excitation on the residual branch, before the addition.
    """

    def __init__(
        self, c_in: int, c_out: int, *, kernel_size: int = 3, stride: int = 1,
        shortcut: str = "conv", dropout: float = 0.0, groups: int = 1, se_reduction: int | None = None,
    ) -> None:
        super().__init__()
        check_groups(groups, c_in, c_out)
        pad = kernel_size // 2
        self.bn1 = nn.BatchNorm1d(c_in)
        self.conv1: nn.Module = nn.Conv1d(
            c_in, c_out, kernel_size, stride=stride, padding=pad, groups=groups, bias=False
        )
        self.bn2 = nn.BatchNorm1d(c_out)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv2 = nn.Conv1d(c_out, c_out, kernel_size, padding=pad, groups=groups, bias=False)
        self.se = SqueezeExcite(c_out, se_reduction) if se_reduction else None
        self.shortcut = make_shortcut(shortcut, c_in, c_out, stride)
        self.stride, self.kernel_size, self.out_channels = stride, kernel_size, c_out

    def first_conv(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.conv1(_masked(h, mask))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        out = self.first_conv(F.relu(self.bn1(x)), mask)
        out_mask = None if mask is None else downsample_mask(mask, self.stride)
        out = self.conv2(_masked(self.dropout(F.relu(self.bn2(out))), out_mask))
        if self.se is not None:
            out = self.se(out, out_mask)
        return out + self.shortcut(x, mask)

    def receptive_margin(self, spacing: int) -> int:
        """Input samples (at input spacing ``spacing``) either side reaching one output position:
        conv1, the pool shortcut's window, conv2 (an upper bound: the sum, not the max)."""
        half = self.kernel_size // 2
        return half * spacing + (self.stride - 1) * spacing + half * spacing * self.stride


class ResNeStBlock(BasicBlock):
    """A basic block whose first convolution is a split-attention convolution (ResNeSt)."""

    def __init__(
        self, c_in: int, c_out: int, *, kernel_size: int = 3, stride: int = 1,
        shortcut: str = "conv", dropout: float = 0.0, groups: int = 1, se_reduction: int | None = None,
        radix: int = 2,
    ) -> None:
        super().__init__(
            c_in, c_out, kernel_size=kernel_size, stride=stride, shortcut=shortcut,
            dropout=dropout, groups=groups, se_reduction=se_reduction,
        )
        # Replaced in place, so it keeps conv1's position (pools run in registration order).
        self.conv1 = SplitAttnConv(c_in, c_out, kernel_size, stride=stride, groups=groups, radix=radix)

    def first_conv(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.conv1(h, mask)  # masks its input, and needs the mask for its average


class Bottleneck(nn.Module):
    """BN-ReLU-conv1x1 -> BN-ReLU-conv(k, stride, groups) -> BN-ReLU-[dropout]-conv1x1 [-> SE],
    plus shortcut (He et al. 2016, pre-activation). Outputs ``c_out * expansion`` channels."""

    def __init__(
        self, c_in: int, c_out: int, *, kernel_size: int = 3, stride: int = 1,
        shortcut: str = "conv", dropout: float = 0.0, groups: int = 1, se_reduction: int | None = None,
        expansion: int = 4,
    ) -> None:
        super().__init__()
        check_groups(groups, c_out)
        c_exp = c_out * expansion
        self.bn1 = nn.BatchNorm1d(c_in)
        self.conv1 = nn.Conv1d(c_in, c_out, 1, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(
            c_out, c_out, kernel_size, stride=stride, padding=kernel_size // 2, groups=groups, bias=False
        )
        self.bn3 = nn.BatchNorm1d(c_out)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv3 = nn.Conv1d(c_out, c_exp, 1, bias=False)
        self.se = SqueezeExcite(c_exp, se_reduction) if se_reduction else None
        self.shortcut = make_shortcut(shortcut, c_in, c_exp, stride)
        self.stride, self.kernel_size, self.out_channels = stride, kernel_size, c_exp

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        out = self.conv1(_masked(F.relu(self.bn1(x)), mask))
        out = self.conv2(_masked(F.relu(self.bn2(out)), mask))
        out_mask = None if mask is None else downsample_mask(mask, self.stride)
        out = self.conv3(_masked(self.dropout(F.relu(self.bn3(out))), out_mask))
        if self.se is not None:
            out = self.se(out, out_mask)
        return out + self.shortcut(x, mask)

    def receptive_margin(self, spacing: int) -> int:
        """The k-size convolution plus the pool shortcut's window (1x1 convolutions add none)."""
        return (self.kernel_size // 2) * spacing + (self.stride - 1) * spacing


BLOCKS: dict[str, type[nn.Module]] = {
    "basic": BasicBlock,
    "bottleneck": Bottleneck,
    "resnest": ResNeStBlock,
}
