"""The report's figures as PNG bytes: the Δ chart and the per-class F1 heat map."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from ecgtricks.reporting.render import PerClass, class_rows, common_overrides, short_variant


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    return buffer.getvalue()


_VERDICT_COLORS = {"better": "tab:green", "worse": "tab:red", "equivalent": "tab:blue",
                   "undecided": "tab:gray"}


def plot_delta(rows: Sequence[dict[str, Any]]) -> bytes:
    """Δ of each variant against its reference: the mean (a point coloured by the verdict), its
    95 % CI from the corrected standard error, and the ROPE as a grey band around 0."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in rows if r["reference"]]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * max(len(shown), 1) + 1.4))
    common = common_overrides([r["variant"] for r in rows])
    names = [f"{r['experiment']}/{short_variant(r['variant'], common)}" for r in shown]
    deltas = np.array([r["delta"] for r in shown], dtype=float)
    low = np.nan_to_num(deltas - np.array([r["delta_ci_low"] for r in shown], dtype=float))
    high = np.nan_to_num(np.array([r["delta_ci_high"] for r in shown], dtype=float) - deltas)
    rope = float(shown[0]["rope"]) if shown else 0.0
    ax.axvspan(-rope, rope, color="0.85", zorder=0, label=f"ROPE ±{rope:.3f}")
    for i, r in enumerate(shown):
        ax.errorbar(deltas[i], i, xerr=[[low[i]], [high[i]]], fmt="o", capsize=4,
                    color=_VERDICT_COLORS.get(r["verdict"], "tab:gray"))
        ax.annotate(r["verdict"], (deltas[i], i), textcoords="offset points", xytext=(0, 7),
                    ha="center", fontsize=7, color="0.3")
    ax.set_yticks(range(len(shown)), names)
    ax.set_ylim(len(shown) - 0.5, -0.7)
    ax.axvline(0, color="black", lw=0.8)
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    ax.set_xlabel("Δ challenge score vs reference at threshold 0.5 (mean, 95 % CI, corrected SE)")
    data = _png(fig)
    plt.close(fig)
    return data


def plot_per_class_f1(per_class: PerClass) -> bytes:
    """Variants x classes heat map of pooled out-of-fold F1, the value printed in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(per_class)
    all_classes = class_rows(per_class)
    matrix = np.array([[per_class[n].get(c, np.nan) for c in all_classes] for n in names], dtype=float)
    present = ~np.all(np.isnan(matrix), axis=0)  # classes with positives somewhere
    matrix = matrix[:, present]
    labels = [c for c, keep in zip(all_classes, present, strict=True) if keep]
    fig, ax = plt.subplots(figsize=(0.6 * len(labels) + 3, 0.5 * len(names) + 2.2))
    image = ax.imshow(np.nan_to_num(matrix, nan=0.0), vmin=0, vmax=1, cmap="viridis", aspect="auto")
    for i, j in np.ndindex(matrix.shape):
        value = matrix[i, j]
        ax.text(j, i, "–" if np.isnan(value) else f"{value:.2f}", ha="center", va="center", fontsize=7,
                color="black" if value > 0.6 else "white")
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    common = common_overrides([n.partition("/")[2] for n in names])
    ax.set_yticks(range(len(names)), [f"{n.partition('/')[0]}/{short_variant(n.partition('/')[2], common)}" for n in names])
    fig.colorbar(image, ax=ax, label="F1 (pooled out-of-fold)")
    data = _png(fig)
    plt.close(fig)
    return data


def plot_transfer(transfer: Any) -> bytes:
    """Tricks x backbones heat map of Δ vs the same backbone's baseline: a diverging colormap
    centred at 0 with symmetric limits (so colour means direction and size alike), each cell
    annotated with Δ, its verdict mark and CI; cells without a comparison grey, saying why."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecgtricks.reporting.transfer import MARKS

    delta = transfer.matrix("delta")
    n_rows, n_cols = delta.shape
    finite = np.abs(delta[np.isfinite(delta)])
    limit = max(float(finite.max()) if finite.size else 0.0, 2.0 * transfer.rope, 1e-3)
    fig, ax = plt.subplots(figsize=(1.45 * n_cols + 3.4, 0.78 * n_rows + 1.9))
    cmap = plt.get_cmap("RdBu").with_extremes(bad="0.88")
    image = ax.imshow(np.ma.masked_invalid(delta), cmap=cmap, vmin=-limit, vmax=limit, aspect="auto")
    low, high = transfer.matrix("delta_ci_low"), transfer.matrix("delta_ci_high")
    for i, j in np.ndindex(delta.shape):
        cell = transfer.cell(transfer.tricks[i], transfer.columns[j])
        if not np.isfinite(delta[i, j]):
            ax.text(j, i, cell.status, ha="center", va="center", fontsize=8, color="0.35", style="italic")
            continue
        color = "white" if abs(delta[i, j]) > 0.6 * limit else "black"
        ax.text(j, i - 0.2, f"{MARKS.get(cell.verdict, '')} {delta[i, j]:+.3f}", ha="center", va="center",
                fontsize=9.5, fontweight="bold", color=color)
        ax.text(j, i + 0.1, cell.verdict, ha="center", va="center", fontsize=7, color=color)
        ax.text(j, i + 0.33, f"[{low[i, j]:+.3f}, {high[i, j]:+.3f}]", ha="center", va="center",
                fontsize=6.5, color=color)
    ax.set_xticks(range(n_cols), [transfer.column_label(c, "\n") for c in transfer.columns], fontsize=8.5)
    ax.xaxis.tick_top()
    ax.set_yticks(range(n_rows), [transfer.trick_label(t) for t in transfer.tricks], fontsize=8.5)
    ax.set_xticks(np.arange(n_cols + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(n_rows + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel(f"▲ better   ▼ worse   ≈ equivalent (±ROPE {transfer.rope:.3f})   ? undecided   "
                  "[95 % CI, corrected]", fontsize=8)
    fig.colorbar(image, ax=ax, label="Δ challenge score vs the same backbone's baseline", shrink=0.9)
    if transfer.shared_others():
        fig.suptitle("every column: " + " · ".join(transfer.shared_others()), fontsize=8, y=0.01, va="bottom")
    data = _png(fig)
    plt.close(fig)
    return data
