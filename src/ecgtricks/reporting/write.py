"""Writing a sweep's report (files in one folder) and logging it to W&B."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ecgtricks.reporting.figures import plot_delta, plot_per_class_f1, plot_transfer
from ecgtricks.reporting.page import to_html
from ecgtricks.reporting.render import (
    common_overrides,
    per_class_csv,
    short_variant,
    to_csv,
    to_markdown,
)
from ecgtricks.reporting.rows import build_rows
from ecgtricks.reporting.runs import Group, collect, describe_missing, missing_runs
from ecgtricks.reporting.stats import DEFAULT_ROPE
from ecgtricks.reporting.transfer import build_transfer, transfer_csv, transfer_markdown
from ecgtricks.utils.errors import ECGTricksError
from ecgtricks.utils.files import atomic_write_bytes

log = logging.getLogger("ecgtricks.report")


FILES = ("ablation.md", "ablation.csv", "per_class_f1.csv", "delta.png", "per_class_f1.png", "report.html")
TRANSFER_FILES = ("transfer.csv", "transfer.png")
"""Written besides :data:`FILES` only when the tricks span two backbones or more (the transfer
matrix); otherwise removed from ``out_dir``, so that no stale matrix outlives its runs."""


def write_report(
    sweep_dir: Path, out_dir: Path, rope: float = DEFAULT_ROPE
) -> tuple[list[dict[str, Any]], list[Group]]:
    """Write :data:`FILES` (and :data:`TRANSFER_FILES` when the runs span several backbones) into
    ``out_dir``, each atomically; returns the rows and groups."""
    groups = collect(sweep_dir)
    if not groups:
        raise ECGTricksError(f"no finished runs (summary.json) below {sweep_dir}")
    rows, per_class = build_rows(groups, rope=rope)
    out_dir.mkdir(parents=True, exist_ok=True)
    delta_png, per_class_png = plot_delta(rows), plot_per_class_f1(per_class)
    transfer = build_transfer(rows, groups)
    transfer_png = plot_transfer(transfer) if transfer is not None else None
    markdown = to_markdown(rows, per_class, sweep_dir, transfer_markdown(transfer) if transfer is not None else ())
    lacking = missing_lines(groups)
    for line in lacking:
        log.warning("%s", line)
    if lacking:  # under the title, where it is seen
        title, _, rest = markdown.partition("\n")
        markdown = "\n".join([title, "", MISSING_TEXT, "", *(f"- {line}" for line in lacking), rest])
    atomic_write_bytes(out_dir / "ablation.md", markdown.encode())
    atomic_write_bytes(out_dir / "ablation.csv", to_csv(rows).encode())
    atomic_write_bytes(out_dir / "per_class_f1.csv", per_class_csv(per_class).encode())
    atomic_write_bytes(out_dir / "delta.png", delta_png)
    atomic_write_bytes(out_dir / "per_class_f1.png", per_class_png)
    if transfer is not None and transfer_png is not None:
        atomic_write_bytes(out_dir / "transfer.csv", transfer_csv(transfer).encode())
        atomic_write_bytes(out_dir / "transfer.png", transfer_png)
    else:
        for name in TRANSFER_FILES:
            (out_dir / name).unlink(missing_ok=True)
    page = to_html(rows, per_class, sweep_dir, delta_png, per_class_png, transfer, transfer_png)
    atomic_write_bytes(out_dir / "report.html", page.encode())
    failed = sorted(sweep_dir.rglob("error.txt"))
    if failed:
        log.warning("%d failed runs (not in the report): %s", len(failed), ", ".join(str(f.parent) for f in failed))
    return rows, groups


MISSING_TEXT = (
    "**Missing runs**: these variants lack (seed, fold) runs that their reference or the other "
    "variants have (a cancelled or failed job, an unfinished sweep); their means cover fewer runs "
    "and their Δ only the pairs both finished. Run the sweep again to fill them in."
)


def missing_lines(groups: Sequence[Group]) -> list[str]:
    """One line per variant lacking runs its family has: ``baseline/+trick=dropout: missing fold 1
    (seed 0)`` (variants named as in the tables, without the overrides every run shares)."""
    common = common_overrides([g.variant for g in groups])
    by_key = {g.key: g for g in groups}
    return [f"{by_key[key].experiment}/{short_variant(by_key[key].variant, common)}: {describe_missing(keys)}"
            for key, keys in missing_runs(groups).items()]


def log_to_wandb(rows: Sequence[dict[str, Any]], groups: Sequence[Group], out_dir: Path, sweep_dir: Path) -> None:
    """The summary table (the CSV's columns) and figures as a W&B run of job type ``report``, in the runs' own project."""
    import wandb
    from omegaconf import OmegaConf

    from ecgtricks.runs.tracking import wandb_entry, wandb_mode
    from ecgtricks.utils.paths import config_dir

    logger = wandb_entry(groups[0].config().get("logger"))
    if logger is None:  # the runs logged elsewhere: the project's default W&B project
        logger = OmegaConf.to_container(OmegaConf.load(config_dir() / "logger" / "wandb.yaml"))["wandb"]
    run = wandb.init(project=logger["project"], entity=logger.get("entity"),
                     job_type="report", name=f"report:{sweep_dir.name}", dir=str(out_dir),
                     mode=wandb_mode(None))
    logged = {
        "ablation": wandb.Table(columns=list(rows[0]), data=[list(r.values()) for r in rows]),
        "delta": wandb.Image(str(out_dir / "delta.png")),
        "per_class_f1": wandb.Image(str(out_dir / "per_class_f1.png")),
    }
    if (out_dir / "transfer.png").is_file():
        logged["transfer"] = wandb.Image(str(out_dir / "transfer.png"))
    run.log(logged)
    run.finish()
