"""Attention backbones of the PhysioNet/CinC Challenge winners, with exact masking.

* ``conv_transformer`` -- the 2020 winner's shape (prna: Natarajan et al. 2020): a strided
  convolutional front-end, sinusoidal positions, a pre-norm transformer encoder, masked pooling.
* ``resnet1d_mha`` -- the 2021 winner's shape (ISIBrno-AIMT: Nejedly et al. 2021): ResNet1d's
  stem and stages, multi-head self-attention over the final feature map, masked global max.

Both follow ResNet1d's interface (``features``, ``dropout``, ``head``, ``features_windowed``,
``num_features``, ``reset_parameters``) and its masking: a record in a zero-padded batch gets the
features it would get alone. Attention sees the whole record, so ``features_windowed`` is the
plain ``features`` (exact; memory grows with the square of the record's token count).
"""

from __future__ import annotations

import inspect
import math
import typing
from typing import Any

import torch
from torch import nn

from ecgtricks.models.blocks import SqueezeExcite, downsample_mask
from ecgtricks.models.registry import register_model
from ecgtricks.models.resnet1d import ResNet1d


def _valid_mask(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor | None:
    """Real samples of a zero-padded batch (batch x 1 x time, bool); None when nothing is padded."""
    if lengths is None or not bool((lengths < x.shape[-1]).any()):
        return None
    return (torch.arange(x.shape[-1], device=x.device)[None, :] < lengths[:, None])[:, None, :]


def _masked_mean(tokens: torch.Tensor, valid: torch.Tensor | None) -> torch.Tensor:
    """Mean over the valid tokens (batch x time x channels -> batch x channels)."""
    if valid is None:
        return tokens.mean(dim=1)
    tokens = torch.where(valid[..., None], tokens, 0.0)  # where, not *: no NaN can leak from padding
    return tokens.sum(dim=1) / valid.sum(dim=1, keepdim=True).clamp_min(1)


def _masked_max(tokens: torch.Tensor, valid: torch.Tensor | None) -> torch.Tensor:
    """Max over the valid tokens (batch x time x channels -> batch x channels)."""
    if valid is not None:
        tokens = tokens.masked_fill(~valid[..., None], float("-inf"))
    return tokens.amax(dim=1)


def sinusoidal_positions(length: int, dim: int, *, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Vaswani et al.'s encoding (length x dim): no parameters and no length limit, so records of
    any length (the longest Challenge record is 115 s) get positions; a token's encoding does not
    depend on how long its record or batch is."""
    position = torch.arange(length, device=device, dtype=dtype)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=dtype) * (-math.log(10_000.0) / dim))
    pe = torch.zeros(length, dim, device=device, dtype=dtype)
    pe[:, 0::2] = torch.sin(position * freq)
    pe[:, 1::2] = torch.cos(position * freq)
    return pe


class ConvBlock(nn.Module):
    """Conv1d(k, stride, 'same' padding) - BN - ReLU [- SE]: one front-end stage.

    The input's padding is zeroed first, so a padded record sees the zeros it would see alone;
    ``mask`` is at the input's resolution and is downsampled by the stride (ceil(n / stride)).
    """

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int, se_reduction: int | None) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, kernel_size, stride=stride, padding=kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm1d(c_out)
        self.se = SqueezeExcite(c_out, se_reduction) if se_reduction else None
        self.stride = stride

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h = torch.relu(self.bn(self.conv(x if mask is None else x * mask)))
        if self.se is not None:
            h = self.se(h, None if mask is None else downsample_mask(mask, self.stride))
        return h


class ConvTransformer(nn.Module):
    """Convolutional front-end, sinusoidal positions, pre-norm transformer encoder, masked pooling.

    The front-end has ``conv_layers`` blocks of stride ``conv_stride`` (overall stride
    ``conv_stride ** conv_layers``: 16 by default, so a 2,048-sample chunk gives 128 tokens)
    whose channels double up to ``d_model`` (32, 64, 128, 256 by default): cheap at full
    resolution, ``d_model`` wide where the tokens are. The encoder is torch's own
    (``norm_first``, GELU, a final LayerNorm); padded tokens are excluded by
    ``src_key_padding_mask``. Features are the mean over the valid tokens (``pool="meanmax"``
    concatenates their max too).
    """

    def __init__(
        self,
        in_channels: int = 12,
        num_classes: int = 24,
        d_model: int = 256,
        nhead: int = 8,
        num_layers: int = 8,
        dim_feedforward: int = 1024,
        conv_layers: int = 4,
        conv_stride: int = 2,
        conv_kernel_size: int = 15,
        dropout: float = 0.1,
        se_reduction: int | None = None,
        pool: str = "mean",
    ) -> None:
        super().__init__()
        if d_model % nhead:
            raise ValueError(f"d_model={d_model} is not divisible by nhead={nhead}")
        if d_model % 2:
            raise ValueError(f"d_model={d_model} must be even (sinusoidal positions come in sin/cos pairs)")
        if min(nhead, num_layers, dim_feedforward, conv_layers, conv_stride, conv_kernel_size) < 1:
            raise ValueError("nhead, num_layers, dim_feedforward, conv_layers, conv_stride, conv_kernel_size must be >= 1")
        if conv_kernel_size % 2 == 0:
            raise ValueError(f"conv_kernel_size={conv_kernel_size} must be odd ('same' padding gives ceil(n / stride))")
        if se_reduction is not None and se_reduction < 1:
            raise ValueError("se_reduction must be >= 1 (or null: off)")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout={dropout} must be in [0, 1)")
        if pool not in ("mean", "meanmax"):
            raise ValueError(f"pool={pool!r} must be 'mean' or 'meanmax'")
        channels = [max(1, d_model >> (conv_layers - 1 - i)) for i in range(conv_layers)]
        self.frontend = nn.ModuleList(
            ConvBlock(c_in, c_out, conv_kernel_size, conv_stride, se_reduction)
            for c_in, c_out in zip([in_channels, *channels[:-1]], channels, strict=True)
        )
        layer = nn.TransformerEncoderLayer(
            d_model, nhead, dim_feedforward, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        # No nested tensors (torch's sparsity fast path, unavailable with norm_first anyway): the
        # padded tokens stay dense, masked by src_key_padding_mask only.
        self.encoder = nn.TransformerEncoder(
            layer, num_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False
        )
        self.pool = pool
        self.d_model = d_model
        self.num_features = d_model * (2 if pool == "meanmax" else 1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Linear(self.num_features, num_classes)
        self.reset_parameters()

    @property
    def total_stride(self) -> int:
        return math.prod(block.stride for block in self.frontend)

    def reset_parameters(self) -> None:
        """Every submodule's own init (so the encoder's layers, deep copies of one, differ), then
        Kaiming normal for the convolutions and unit BN, as ResNet1d."""
        if self.head.weight.is_meta:  # built for its shapes only (config checks): nothing to fill
            return
        for m in self.modules():
            if isinstance(m, nn.MultiheadAttention):
                m._reset_parameters()
            elif m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm1d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def features(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Pooled features (batch x num_features).

        With ``lengths`` (a zero-padded batch), padding is zeroed before every convolution,
        excluded from every key of the attention and from the pooling, so each record's features
        equal those of the record alone.
        """
        mask = _valid_mask(x, lengths)
        h = x
        for block in self.frontend:
            h = block(h, mask)
            mask = None if mask is None else downsample_mask(mask, block.stride)
        tokens = h.transpose(1, 2)  # (B, T, d_model)
        tokens = tokens + sinusoidal_positions(tokens.shape[1], self.d_model, device=x.device, dtype=x.dtype)
        valid = None if mask is None else mask[:, 0, :]
        tokens = self.encoder(tokens, src_key_padding_mask=None if valid is None else ~valid)
        pooled = _masked_mean(tokens, valid)
        if self.pool == "meanmax":
            pooled = torch.cat([pooled, _masked_max(tokens, valid)], dim=1)
        return pooled

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.dropout(self.features(x, lengths)))

    @torch.no_grad()
    def features_windowed(self, x: torch.Tensor, window: int) -> torch.Tensor:
        """``features`` of the whole record, exact: attention needs every token of it, so
        ``window`` is ignored and memory grows with the record (115 s at 500 Hz: 3,594 tokens)."""
        return self.features(x)


class ResNet1dMHA(ResNet1d):
    """ResNet1d's stem and stages, then multi-head self-attention over the final feature map's
    time positions (residual + LayerNorm), masked global max pooling (as ResNet1d, so chunk
    features still pool by max), dropout, linear head.

    Every ResNet1d option applies (so do the block tricks: large_kernel, wide, stride4,
    squeeze_excite, resnext, resnest, bottleneck, pool_shortcut, dropout), plus ``num_heads``
    and ``attn_dropout`` (on the attention weights). The signature is ResNet1d's plus these two,
    one list of options: see ``_extend_signature`` below.
    """

    def __init__(self, *args: Any, num_heads: int = 8, attn_dropout: float = 0.0, **options: Any) -> None:
        super().__init__(*args, **options)
        c = self.num_features
        if num_heads < 1 or c % num_heads:
            raise ValueError(f"the final {c} channels are not divisible by num_heads={num_heads}")
        if not 0.0 <= attn_dropout < 1.0:
            raise ValueError(f"attn_dropout={attn_dropout} must be in [0, 1)")
        self.attention = nn.MultiheadAttention(c, num_heads, dropout=attn_dropout, batch_first=True)
        self.attention_norm = nn.LayerNorm(c)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.head.weight.is_meta or not hasattr(self, "attention"):  # ResNet1d.__init__ calls it first
            return
        self.attention.out_proj.reset_parameters()  # torch's own init, not ResNet1d's Kaiming for Linear
        self.attention._reset_parameters()
        self.attention_norm.reset_parameters()

    def features(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Pooled features (batch x num_features); padded positions are masked in the stages,
        excluded from the attention's keys and from the max, so each record's features equal
        those of the record alone."""
        h, mask = self.feature_map(x, lengths)
        tokens = h.transpose(1, 2)  # (B, T, C)
        valid = None if mask is None else mask[:, 0, :]
        attended, _ = self.attention(
            tokens, tokens, tokens, key_padding_mask=None if valid is None else ~valid, need_weights=False
        )
        return _masked_max(self.attention_norm(tokens + attended), valid)

    @torch.no_grad()
    def features_windowed(self, x: torch.Tensor, window: int) -> torch.Tensor:
        """``features`` of the whole record, exact: attention needs every position of it, so
        ``window`` is ignored and memory grows with the record (115 s at 500 Hz: 3,594 positions
        at the baseline's overall stride 16)."""
        return self.features(x)


def _extend_signature(cls: type[nn.Module], base: type[nn.Module]) -> None:
    """Give ``cls.__init__`` the signature and type hints of ``base.__init__`` plus its own
    keyword-only options: the registry reads options from them, and ResNet1d's stay one list."""
    own = cls.__init__
    own_hints, base_hints = typing.get_type_hints(own), typing.get_type_hints(base.__init__)
    base_sig = inspect.signature(base.__init__)
    extra = [p for p in inspect.signature(own).parameters.values() if p.kind is p.KEYWORD_ONLY]
    own.__signature__ = base_sig.replace(parameters=[*base_sig.parameters.values(), *extra])
    own.__annotations__ = {**base_hints, **{p.name: own_hints[p.name] for p in extra}, "return": None}


_extend_signature(ResNet1dMHA, ResNet1d)

conv_transformer = register_model(ConvTransformer, name="conv_transformer")
resnet1d_mha = register_model(ResNet1dMHA, name="resnet1d_mha")
