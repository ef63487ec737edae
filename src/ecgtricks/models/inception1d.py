"""1-D InceptionTime (Ismail Fawaz et al. 2020) as in the PTB-XL benchmark.

The design follows Strodthoff et al. 2020 (helme/ecg_ptbxl_benchmarking): inception modules
of one 1x1 bottleneck, three long-kernel convolutions and a max-pool branch, residual shortcuts
every three modules, no downsampling, and the concat-pooling head of the xresnet.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ecgtricks.models.blocks import SqueezeExcite
from ecgtricks.models.registry import register_model
from ecgtricks.models.xresnet1d import (
    ConvBN,
    check_common,
    concat_pool,
    init_weights,
    length_mask,
    make_head,
    masked_max_pool,
    zero_padding,
)


class InceptionModule(nn.Module):
    """bottleneck 1x1 -> convs of ``kernel_sizes``, plus max pool(3) -> 1x1; concat, BN, ReLU
    [, SE]. Outputs ``(len(kernel_sizes) + 1) * nb_filters`` channels at the input's length."""

    def __init__(
        self,
        c_in: int,
        nb_filters: int,
        bottleneck: int,
        kernel_sizes: Sequence[int],
        se_reduction: int | None,
    ) -> None:
        super().__init__()
        self.bottleneck = nn.Conv1d(c_in, bottleneck, 1, bias=False)
        self.convs = nn.ModuleList(
            nn.Conv1d(bottleneck, nb_filters, k, padding=k // 2, bias=False) for k in kernel_sizes
        )
        self.pool_conv = nn.Conv1d(c_in, nb_filters, 1, bias=False)
        self.out_channels = (len(kernel_sizes) + 1) * nb_filters
        self.bn = nn.BatchNorm1d(self.out_channels)
        self.se = SqueezeExcite(self.out_channels, se_reduction) if se_reduction else None

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = zero_padding(x, mask)
        bottled = self.bottleneck(x)  # 1x1 of zeroed padding: the padding stays zero
        branches = [conv(bottled) for conv in self.convs]
        branches.append(self.pool_conv(masked_max_pool(x, mask, 3, 1, 1)))
        h = F.relu(self.bn(torch.cat(branches, dim=1)))
        return h if self.se is None else self.se(h, mask)


class Inception1d(nn.Module):
    """InceptionTime backbone: ``depth`` inception modules, a shortcut (1x1 conv + BN, added,
    then ReLU) around every three, global max and mean concatenated, the benchmark's head.

    There is no ``kernel_size`` option (the kernels are ``kernel_sizes``), so the
    ``large_kernel`` trick does not apply. ``self.head`` holds the head's dropouts
    (``dropout / 2``, then ``dropout``); ``self.dropout`` is the identity, since the training
    code applies ``head(dropout(features))``. No stride anywhere: memory grows with
    ``4 * nb_filters`` channels at the full input length.
    """

    def __init__(
        self,
        in_channels: int = 12,
        num_classes: int = 24,
        depth: int = 6,
        nb_filters: int = 32,
        bottleneck: int = 32,
        kernel_sizes: Sequence[int] = (39, 19, 9),
        dropout: float = 0.5,
        se_reduction: int | None = None,
        head_hidden: int = 128,
    ) -> None:
        super().__init__()
        check_common(in_channels, num_classes, dropout, se_reduction, head_hidden)
        if depth < 3 or depth % 3:
            raise ValueError(
                f"depth={depth} must be a positive multiple of 3 (a shortcut spans 3 modules)"
            )
        if nb_filters < 1 or bottleneck < 1:
            raise ValueError(f"nb_filters={nb_filters} and bottleneck={bottleneck} must be >= 1")
        if len(kernel_sizes) < 1 or any(k < 1 or k % 2 == 0 for k in kernel_sizes):
            raise ValueError(
                f"kernel_sizes={list(kernel_sizes)} must be odd and >= 1 ('same' padding)"
            )
        modules, shortcuts, c_in = [], [], in_channels
        for d in range(depth):
            modules.append(
                InceptionModule(c_in, nb_filters, bottleneck, kernel_sizes, se_reduction)
            )
            if d % 3 == 0:  # from this module's input to the output of the third
                shortcuts.append(ConvBN(c_in, modules[-1].out_channels, 1, act=False))
            c_in = modules[-1].out_channels
        self.inceptions = nn.ModuleList(modules)
        self.shortcuts = nn.ModuleList(shortcuts)
        self.num_features = 2 * c_in
        self.dropout = nn.Identity()  # the head's own dropouts apply (see the class docstring)
        self.head = make_head(self.num_features, head_hidden, num_classes, dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.head[-1].weight.is_meta:  # built for shapes only (config checks)
            return
        init_weights(self)

    def features(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Pooled features (batch x num_features).

        With ``lengths`` (a zero-padded batch), padding is masked at every layer, so each
        record's features equal those of the record alone (in eval mode).
        """
        mask = length_mask(x, lengths)
        h = residual = x
        for d, module in enumerate(self.inceptions):
            h = module(h, mask)
            if d % 3 == 2:
                h = residual = F.relu(h + self.shortcuts[d // 3](residual, mask))
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


inception1d = register_model(Inception1d, name="inception1d")
