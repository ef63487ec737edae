"""Pre-activation 1-D ResNet for multi-lead ECG, configurable in depth, width, kernel, stride."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ecgtricks.models.blocks import BLOCKS, SHORTCUTS, downsample_mask
from ecgtricks.models.registry import register_model


class ResNet1d(nn.Module):
    """Stem conv, ``len(layers)`` stages of residual blocks, BN-ReLU, global max pool, linear.

    Channels are ``base_width * width * channel_multipliers``: the first entry is the stem,
    then one per stage. Variable-length batches are padded; ``lengths`` masks the padding out of
    the pooling so a record's prediction does not depend on its batch.
    """

    def __init__(
        self,
        in_channels: int = 12,
        num_classes: int = 24,
        layers: Sequence[int] = (2, 2, 2, 2),
        base_width: int = 16,
        width: float = 1,
        channel_multipliers: Sequence[int] = (1, 1, 2, 4, 8),
        kernel_size: int = 3,
        stride: int = 2,
        block: str = "basic",
        shortcut: str = "conv",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if len(channel_multipliers) != len(layers) + 1:
            raise ValueError("channel_multipliers needs one entry for the stem plus one per stage")
        if block not in BLOCKS or shortcut not in SHORTCUTS:
            raise ValueError(f"block must be in {sorted(BLOCKS)}, shortcut in {sorted(SHORTCUTS)}")
        if kernel_size < 1 or stride < 1:
            raise ValueError("kernel_size and stride must be >= 1")
        channels = [int(round(base_width * width * m)) for m in channel_multipliers]
        self.stride = stride
        self.stem = nn.Conv1d(in_channels, channels[0], kernel_size, padding=kernel_size // 2, bias=False)
        stages = []
        for i, n_blocks in enumerate(layers):
            c_in, c_out = channels[i], channels[i + 1]
            blocks = [
                BLOCKS[block](
                    c_in if j == 0 else c_out, c_out, kernel_size=kernel_size,
                    stride=stride if j == 0 else 1, shortcut=shortcut, dropout=dropout,
                )
                for j in range(n_blocks)
            ]
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.final_norm = nn.BatchNorm1d(channels[-1])
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Linear(channels[-1], num_classes)
        self.num_features = channels[-1]
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm1d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def features(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Pooled features (batch x num_features).

        With ``lengths`` (a zero-padded batch), padding is masked at every layer, so each
        record's features equal those of the record alone.
        """
        mask = None
        if lengths is not None and bool((lengths < x.shape[-1]).any()):
            mask = (torch.arange(x.shape[-1], device=x.device)[None, :] < lengths[:, None])[:, None, :]
        h = self.stem(x if mask is None else x * mask)
        for stage in self.stages:
            for block in stage:
                h = block(h, mask)
                mask = None if mask is None else downsample_mask(mask, block.stride)
        h = torch.relu(self.final_norm(h))
        if mask is not None:
            h = h.masked_fill(~mask, float("-inf"))
        return h.amax(dim=-1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.dropout(self.features(x, lengths)))

    @property
    def total_stride(self) -> int:
        return self.stride ** len(self.stages)

    def receptive_margin(self) -> int:
        """Input samples on either side that can reach one output position (an upper bound).

        Sums every convolution's half-kernel and every pooling window at its input spacing.
        """
        k, margin, spacing = self.stem.kernel_size[0], 0, 1
        margin += k // 2
        for stage in self.stages:
            for block in stage:
                margin += (k // 2) * spacing + (block.stride - 1) * spacing  # conv1 / pool shortcut
                spacing *= block.stride
                margin += (k // 2) * spacing  # conv2
        return margin

    @torch.no_grad()
    def features_windowed(self, x: torch.Tensor, window: int) -> torch.Tensor:
        """``features`` of one long record (1 x leads x samples) in bounded memory.

        The record is cut into windows whose length is a multiple of the total stride, each
        extended by the receptive margin; only the interior of each window's feature map is
        kept, so the max over windows equals the max over the whole record.
        """
        n, step = x.shape[-1], self.total_stride
        if n <= window:
            return self.features(x)
        window = max(step, window // step * step)
        margin = -(-self.receptive_margin() // step) * step
        best = None
        for start in range(0, n, window):
            lo, hi = max(0, start - margin), min(n, start + window + margin)
            h = torch.relu(self.final_norm(self.stages(self.stem(x[..., lo:hi]))))
            first = (start - lo) // step
            last = -(-(min(n, start + window) - lo) // step)
            pooled = h[..., first:last].amax(dim=-1)
            best = pooled if best is None else torch.maximum(best, pooled)
        return best




@register_model
def resnet1d(**kwargs) -> ResNet1d:
    """The configurable family; ``model=resnet1d`` with the baseline's defaults."""
    return ResNet1d(**kwargs)
