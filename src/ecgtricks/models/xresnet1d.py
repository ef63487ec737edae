"""1-D xresnet (He et al. 2019, "Bag of tricks", ResNet-D) as in the PTB-XL benchmark.

The design follows Strodthoff et al. 2020 (helme/ecg_ptbxl_benchmarking, after fastai's
xresnet): a three-conv stem, max pool, four stages of post-activation bottleneck blocks with
average-pool shortcuts, and a concat-pooling head. Variable-length batches are zero-padded;
``lengths`` masks the padding out of every convolution, pool and global pooling, so a record's
features do not depend on its batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from ecgtricks.models.blocks import SqueezeExcite, downsample_mask
from ecgtricks.models.registry import register_model


def length_mask(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor | None:
    """Real samples of a zero-padded batch (B x 1 x T, bool); None when nothing is padded."""
    if lengths is None or not bool((lengths < x.shape[-1]).any()):
        return None
    return (torch.arange(x.shape[-1], device=x.device)[None, :] < lengths[:, None])[:, None, :]


def zero_padding(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Padding set to 0 (a fill, not a product: padding may hold -inf after a max pool)."""
    return x if mask is None else x.masked_fill(~mask, 0.0)


def masked_max_pool(
    x: torch.Tensor, mask: torch.Tensor | None, kernel_size: int, stride: int, padding: int
) -> torch.Tensor:
    """Max pool in which padding never wins, as it would not exist for the record alone."""
    if mask is None:
        return F.max_pool1d(x, kernel_size, stride, padding)
    out = F.max_pool1d(x.masked_fill(~mask, float("-inf")), kernel_size, stride, padding)
    return zero_padding(out, downsample_mask(mask, stride))  # all-padding windows gave -inf


def masked_avg_pool(x: torch.Tensor, mask: torch.Tensor | None, stride: int) -> torch.Tensor:
    """Average pool (kernel = stride, ceil mode) over real samples only.

    For the record alone, PyTorch's ceil-mode last window averages only the samples it covers;
    avg_pool(x * mask) / avg_pool(mask) gives the same in a padded batch.
    """
    if mask is None:
        return F.avg_pool1d(x, stride, stride, ceil_mode=True)
    m = mask.to(x.dtype)
    num = F.avg_pool1d(x.masked_fill(~mask, 0.0), stride, stride, ceil_mode=True)
    den = F.avg_pool1d(m, stride, stride, ceil_mode=True)
    return num / den.clamp_min(1.0 / stride)  # all-padding windows: 0 / (1 / stride) = 0


def concat_pool(h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Global max and mean over the real samples, concatenated (B x 2C), as fastai's concat pool."""
    if mask is None:
        return torch.cat([h.amax(dim=-1), h.mean(dim=-1)], dim=1)
    top = h.masked_fill(~mask, float("-inf")).amax(dim=-1)
    mean = zero_padding(h, mask).sum(dim=-1) / mask.sum(dim=-1).clamp_min(1)
    return torch.cat([top, mean], dim=1)


def make_head(num_features: int, hidden: int, num_classes: int, dropout: float) -> nn.Sequential:
    """The benchmark's head (fastai create_head1d, lin_ftrs=[hidden], ps=dropout):
    BN, dropout/2, linear, ReLU, BN, dropout, linear. Its dropouts live here, so the networks'
    own ``dropout`` (applied by the training code before the head) is the identity."""

    def drop(p: float) -> nn.Module:
        return nn.Dropout(p) if p > 0 else nn.Identity()

    return nn.Sequential(
        nn.BatchNorm1d(num_features),
        drop(dropout / 2),
        nn.Linear(num_features, hidden),
        nn.ReLU(),
        nn.BatchNorm1d(hidden),
        drop(dropout),
        nn.Linear(hidden, num_classes),
    )


def check_common(
    in_channels: int, num_classes: int, dropout: float, se_reduction: int | None, head_hidden: int
) -> None:
    if in_channels < 1 or num_classes < 1:
        raise ValueError(f"in_channels={in_channels} and num_classes={num_classes} must be >= 1")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout={dropout} must be in [0, 1)")
    if se_reduction is not None and se_reduction < 1:
        raise ValueError(f"se_reduction={se_reduction} must be >= 1 (or null: off)")
    if head_hidden < 1:
        raise ValueError(f"head_hidden={head_hidden} must be >= 1")


def init_weights(net: nn.Module) -> None:
    """fastai's init_cnn, as in the benchmark: Kaiming-normal convolutions and linears, zero
    biases; BN weight 1, bias 0."""
    for m in net.modules():
        if isinstance(m, (nn.Conv1d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm1d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class ConvBN(nn.Module):
    """Conv ('same' padding, no bias) - BN [- ReLU]; zeroes the padding of its input."""

    def __init__(
        self, c_in: int, c_out: int, kernel_size: int, stride: int = 1, act: bool = True
    ) -> None:
        super().__init__()
        self.conv = nn.Conv1d(
            c_in, c_out, kernel_size, stride=stride, padding=kernel_size // 2, bias=False
        )
        self.bn = nn.BatchNorm1d(c_out)
        self.act, self.stride = act, stride

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.bn(self.conv(zero_padding(x, mask)))
        return F.relu(h) if self.act else h


class XBottleneck(nn.Module):
    """conv1x1-BN-ReLU, conv(k, stride)-BN-ReLU, conv1x1-BN [- SE], + shortcut, ReLU.

    The shortcut (ResNet-D) average-pools by the stride, then projects (1x1 conv + BN) when the
    channels change; identity otherwise. The last BN's weight starts at zero (``zero_bn``).
    """

    def __init__(
        self,
        c_in: int,
        mid: int,
        c_out: int,
        kernel_size: int,
        stride: int,
        se_reduction: int | None,
    ) -> None:
        super().__init__()
        self.conv1 = ConvBN(c_in, mid, 1)
        self.conv2 = ConvBN(mid, mid, kernel_size, stride)
        self.conv3 = ConvBN(mid, c_out, 1, act=False)
        self.se = SqueezeExcite(c_out, se_reduction) if se_reduction else None
        self.proj = ConvBN(c_in, c_out, 1, act=False) if c_in != c_out else None
        self.stride, self.out_channels = stride, c_out

    @property
    def zero_bn(self) -> nn.BatchNorm1d:
        return self.conv3.bn

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        out_mask = None if mask is None else downsample_mask(mask, self.stride)
        h = self.conv3(self.conv2(self.conv1(x, mask), mask), out_mask)
        if self.se is not None:
            h = self.se(h, out_mask)
        short = masked_avg_pool(x, mask, self.stride) if self.stride > 1 else x
        if self.proj is not None:
            short = self.proj(short, out_mask)
        return F.relu(h + short)


class XResNet1d(nn.Module):
    """1-D xresnet with bottleneck blocks (expansion 4) and the PTB-XL benchmark's head.

    Stem: three conv(3)-BN-ReLU of ``base_width/2, base_width/2, base_width`` channels (32, 32, 64
    at the default 64; strides 2, 1, 1), then max pool (3, stride 2). Stage ``i`` has
    ``layers[i]`` blocks of ``base_width * width * 2**i`` middle channels (times 4 out), its first
    block strided 2 from the second stage on; ``kernel_size`` is the middle convolution's.
    Features: global max and mean concatenated (``num_features`` = 2 x the last channels).

    ``self.head`` holds the benchmark's whole head, its dropouts included (``dropout / 2`` before
    the hidden layer, ``dropout`` before the output); ``self.dropout`` is the identity, since the
    training code applies ``head(dropout(features))``.
    """

    def __init__(
        self,
        in_channels: int = 12,
        num_classes: int = 24,
        layers: Sequence[int] = (3, 4, 6, 3),
        base_width: int = 64,
        width: float = 1.0,
        kernel_size: int = 5,
        dropout: float = 0.5,
        se_reduction: int | None = None,
        head_hidden: int = 128,
    ) -> None:
        super().__init__()
        check_common(in_channels, num_classes, dropout, se_reduction, head_hidden)
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size={kernel_size} must be odd and >= 1 ('same' padding)")
        if len(layers) < 1 or any(n < 1 for n in layers):
            raise ValueError(f"layers={list(layers)} needs at least one stage, each of >= 1 blocks")
        if base_width < 2 or width <= 0:
            raise ValueError(f"base_width={base_width} must be >= 2 and width={width} > 0")
        stem = (base_width // 2, base_width // 2, base_width)
        self.stem = nn.ModuleList(
            ConvBN(c_in, c_out, 3, stride=2 if i == 0 else 1)
            for i, (c_in, c_out) in enumerate(zip((in_channels, *stem[:-1]), stem, strict=True))
        )
        blocks, c_in = [], stem[-1]
        for i, n_blocks in enumerate(layers):
            mid = max(1, int(round(base_width * width * 2**i)))
            for j in range(n_blocks):
                stride = 2 if i > 0 and j == 0 else 1
                blocks.append(XBottleneck(c_in, mid, 4 * mid, kernel_size, stride, se_reduction))
                c_in = 4 * mid
        self.blocks = nn.ModuleList(blocks)
        self.num_features = 2 * c_in
        self.dropout = nn.Identity()  # the head's own dropouts apply (see the class docstring)
        self.head = make_head(self.num_features, head_hidden, num_classes, dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.head[-1].weight.is_meta:  # built for shapes only (config checks)
            return
        init_weights(self)
        for block in self.blocks:
            nn.init.zeros_(block.zero_bn.weight)  # each block starts as its shortcut

    def features(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Pooled features (batch x num_features).

        With ``lengths`` (a zero-padded batch), padding is masked at every layer, so each
        record's features equal those of the record alone (in eval mode).
        """
        mask = length_mask(x, lengths)
        h = x
        for layer in self.stem:
            h = layer(h, mask)
            mask = None if mask is None else downsample_mask(mask, layer.stride)
        h = masked_max_pool(h, mask, 3, 2, 1)
        mask = None if mask is None else downsample_mask(mask, 2)
        for block in self.blocks:
            h = block(h, mask)
            mask = None if mask is None else downsample_mask(mask, block.stride)
        return concat_pool(h, mask)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.dropout(self.features(x, lengths)))

    @torch.no_grad()
    def features_windowed(self, x: torch.Tensor, window: int) -> torch.Tensor:
        """``features`` of one whole record (1 x leads x samples); ``window`` is ignored.

        Exact (the global mean and max see the whole record at once), but memory grows with
        the record's length.
        """
        return self.features(x)


xresnet1d50 = register_model(partial(XResNet1d, layers=(3, 4, 6, 3)), name="xresnet1d50")
xresnet1d101 = register_model(partial(XResNet1d, layers=(3, 4, 23, 3)), name="xresnet1d101")
