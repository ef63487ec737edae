"""Pre-activation 1-D ResNet for multi-lead ECG, configurable in depth, width, kernel, stride."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from ecgtricks.models.blocks import BLOCKS, SHORTCUTS, GlobalAvgPool, downsample_mask
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
        se_reduction: int | None = None,
        groups: int = 1,
        radix: int | None = None,
        expansion: int | None = None,
    ) -> None:
        super().__init__()
        if len(channel_multipliers) != len(layers) + 1:
            raise ValueError("channel_multipliers needs one entry for the stem plus one per stage")
        if block not in BLOCKS or shortcut not in SHORTCUTS:
            raise ValueError(f"block must be in {sorted(BLOCKS)}, shortcut in {sorted(SHORTCUTS)}")
        if kernel_size < 1 or stride < 1:
            raise ValueError("kernel_size and stride must be >= 1")
        if any(v is not None and v < 1 for v in (groups, radix, expansion, se_reduction)):
            raise ValueError("groups, radix, expansion and se_reduction must be >= 1")
        channels = [int(round(base_width * width * m)) for m in channel_multipliers]
        self.stride = stride
        self.stem = nn.Conv1d(in_channels, channels[0], kernel_size, padding=kernel_size // 2, bias=False)
        # radix and expansion belong to one block type each: given for another, they are an error.
        block_cls = BLOCKS[block]
        accepted = inspect.signature(block_cls).parameters
        specific = {k: v for k, v in (("radix", radix), ("expansion", expansion)) if v is not None}
        misplaced = [k for k in specific if k not in accepted]
        if misplaced:
            raise ValueError(f"{', '.join(misplaced)} does not apply to block={block!r}")
        options = dict(
            kernel_size=kernel_size, shortcut=shortcut, dropout=dropout, se_reduction=se_reduction,
            groups=groups, **specific,
        )
        stages, c_in = [], channels[0]
        for i, n_blocks in enumerate(layers):
            blocks = []
            for j in range(n_blocks):
                blocks.append(block_cls(c_in, channels[i + 1], stride=stride if j == 0 else 1, **options))
                c_in = blocks[-1].out_channels  # channels[i + 1] * expansion for bottlenecks
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.final_norm = nn.BatchNorm1d(c_in)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Linear(c_in, num_classes)
        self.num_features = c_in
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.head.weight.is_meta:  # built for its shapes only (config checks): nothing to fill
            return
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm1d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def feature_map(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The final feature map (batch x num_features x time / total_stride) before pooling,
        and its mask (batch x 1 x time, bool; None when nothing is padded).

        With ``lengths`` (a zero-padded batch), padding is masked at every layer, so each
        record's valid positions equal those of the record alone; padded positions are not
        zeroed (poolings and attention on top must mask them out).
        """
        mask = None
        if lengths is not None and bool((lengths < x.shape[-1]).any()):
            mask = (torch.arange(x.shape[-1], device=x.device)[None, :] < lengths[:, None])[:, None, :]
        h = self.stem(x if mask is None else x * mask)
        for block in self.blocks():
            h = block(h, mask)
            mask = None if mask is None else downsample_mask(mask, block.stride)
        return torch.relu(self.final_norm(h)), mask

    def features(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Pooled features (batch x num_features): the masked global max of ``feature_map``,
        so each record's features equal those of the record alone."""
        h, mask = self.feature_map(x, lengths)
        if mask is not None:
            h = h.masked_fill(~mask, float("-inf"))
        return h.amax(dim=-1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.dropout(self.features(x, lengths)))

    def blocks(self) -> Iterator[nn.Module]:
        for stage in self.stages:
            yield from stage

    @property
    def total_stride(self) -> int:
        return self.stride ** len(self.stages)

    def receptive_margin(self) -> int:
        """Input samples on either side that can reach one output position (an upper bound).

        The stem's half-kernel plus each block's own margin at its input spacing.
        """
        margin, spacing = self.stem.kernel_size[0] // 2, 1
        for block in self.blocks():
            margin += block.receptive_margin(spacing)
            spacing *= block.stride
        return margin

    @torch.no_grad()
    def features_windowed(self, x: torch.Tensor, window: int) -> torch.Tensor:
        """``features`` of one long record (1 x leads x samples) in bounded memory.

        The record is cut into windows whose length is a multiple of the total stride, each
        extended by the receptive margin; only the interior of each window's feature map is
        kept, so the max over windows equals the max over the whole record.

        Global averages over time (squeeze-and-excitation, split attention) need the whole
        record: each is computed in turn by one more pass over the windows (up to its block),
        then fixed, so the result stays exact at the cost of extra passes.
        """
        n, step = x.shape[-1], self.total_stride
        if n <= window:
            return self.features(x)
        window = max(step, window // step * step)
        margin = -(-self.receptive_margin() // step) * step
        # (lo, start, end, hi): the window [start, end) with its margins, [lo, hi)
        spans = [
            (max(0, start - margin), start, min(n, start + window), min(n, start + window + margin))
            for start in range(0, n, window)
        ]
        pools = [m for m in self.modules() if isinstance(m, GlobalAvgPool)]  # in order of use
        try:
            for pool in pools:
                pool.fixed = self._whole_record_mean(x, spans, pool)
            best = None
            for lo, start, end, hi in spans:
                h = torch.relu(self.final_norm(self.stages(self.stem(x[..., lo:hi]))))
                pooled = h[..., (start - lo) // step : -(-(end - lo) // step)].amax(dim=-1)
                best = pooled if best is None else torch.maximum(best, pooled)
        finally:
            for pool in pools:
                pool.fixed = None
        return best

    def _whole_record_mean(
        self, x: torch.Tensor, spans: list[tuple[int, int, int, int]], pool: GlobalAvgPool
    ) -> torch.Tensor:
        """What ``pool`` returns for the whole record, summed over the windows' interiors.

        Pools sit at their block's output resolution; the pools before ``pool`` are fixed.
        """
        seen: list[torch.Tensor] = []
        handle = pool.register_forward_hook(lambda _module, args, _out: seen.append(args[0]))
        total, count = 0.0, 0
        try:
            for lo, start, end, hi in spans:
                h, spacing = self.stem(x[..., lo:hi]), 1
                for block in self.blocks():
                    h, spacing = block(h), spacing * block.stride
                    if seen:  # no need to run the blocks after the pool's
                        break
                inputs = seen.pop()
                assert inputs.shape[-1] == -(-(hi - lo) // spacing), "pool not at its block's output"
                inner = inputs[..., (start - lo) // spacing : -(-(end - lo) // spacing)]
                total, count = total + inner.sum(dim=-1, keepdim=True), count + inner.shape[-1]
        finally:
            handle.remove()
        return total / count


# The configurable family; ``model=resnet1d`` with the baseline's defaults.
resnet1d = register_model(ResNet1d, name="resnet1d")
