"""Does a trick transfer? The report's comparisons rearranged as a tricks x backbones matrix.

Nothing is tested anew: each cell is the row :func:`ecgtricks.reporting.rows.build_rows` already
made for the trick's group on that backbone, whose reference is the baseline of the *same*
backbone and other overrides (``Group.rest`` holds ``model=...``), so Δ, CI, Holm's p (over the
tricks sharing that baseline), verdict and MDE are the ones of the ablation table. A column is a
backbone -- the ``model=`` override, else the model the run's saved config names, else the
default of ``configs/train.yaml`` -- together with the other overrides of the group (``leads=2``
gets columns of its own). The matrix exists only when the tricks' experiments span at least two
backbones: a single-backbone report stays as it was.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ecgtricks.reporting.render import common_overrides, fmt
from ecgtricks.reporting.runs import Group, split_variant

FALLBACK_BACKBONE = "resnet1d"  # the `model:` entry of configs/train.yaml's defaults list
_TRICK_KEYS = ("trick", "without")
MARKS = {"better": "▲", "worse": "▼", "equivalent": "≈", "undecided": "?"}
CSV_COLUMNS = ("trick", "backbone", "delta", "ci_low", "ci_high", "p_holm", "verdict", "mde", "n",
               "overrides", "experiment", "reference", "status")


def _key(token: str) -> str:
    """The config key of an override token: ``+trick=[a,b]`` -> ``trick``."""
    return token.split("=", 1)[0].lstrip("+~")


@lru_cache(maxsize=1)
def default_backbone() -> str:
    """The model of ``configs/train.yaml``'s defaults list (what a run without ``model=`` gets)."""
    try:
        from omegaconf import OmegaConf

        from ecgtricks.utils.paths import config_dir

        for entry in OmegaConf.to_container(OmegaConf.load(config_dir() / "train.yaml")).get("defaults", []):
            if isinstance(entry, dict) and isinstance(entry.get("model"), str):
                return entry["model"]
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    return FALLBACK_BACKBONE


def backbone_of(group: Group) -> str:
    """The group's network: its ``model=`` override, else its saved config's ``model.name``
    (an experiment may pick its own model), else the config default."""
    for token in group.rest:
        if _key(token) == "model" and "=" in token:
            return token.split("=", 1)[1]
    try:
        name = (group.config().get("model") or {}).get("name")
    except (OSError, ValueError):
        name = None
    return str(name) if name else default_backbone()


@dataclass(frozen=True, order=True)
class Column:
    """One backbone under one set of other overrides (those shared by every run left out)."""

    others: tuple[str, ...]
    backbone: str

    def label(self, sep: str = " · ") -> str:
        return sep.join([self.backbone, *self.others])


@dataclass(frozen=True, order=True)
class Trick:
    experiment: str
    name: str  # the trick overrides of the variant: ``+trick=squeeze_excite``


@dataclass(frozen=True)
class Cell:
    """A (trick, column) pair: the ablation row when the trick ran there, else why not."""

    trick: Trick
    column: Column
    status: str  # "compared" | "no pairs" | "no baseline" | "no runs"
    row: dict[str, Any] | None = None

    def value(self, name: str) -> float:
        return float(self.row[name]) if self.row is not None and self.status == "compared" else math.nan

    @property
    def verdict(self) -> str:
        return str(self.row["verdict"]) if self.row is not None and self.status == "compared" else ""


@dataclass
class Transfer:
    tricks: list[Trick]
    columns: list[Column]
    cells: dict[tuple[Trick, Column], Cell]
    rope: float

    def cell(self, trick: Trick, column: Column) -> Cell:
        return self.cells.get((trick, column)) or Cell(trick, column, "no runs")

    def matrix(self, name: str) -> np.ndarray:
        """``name`` (a row column: ``delta``, ``mde`` ...) as a tricks x columns array, NaN where
        there is no comparison."""
        return np.array([[self.cell(t, c).value(name) for c in self.columns] for t in self.tricks], dtype=float)

    def shared_others(self) -> tuple[str, ...]:
        """The overrides every column has (the study's common settings): said once, not per column."""
        sets = [set(c.others) for c in self.columns]
        common = set.intersection(*sets) if sets else set()
        return tuple(o for o in self.columns[0].others if o in common) if self.columns else ()

    def column_label(self, column: Column, sep: str = " · ") -> str:
        """The backbone and what sets its column apart (shared settings left to :meth:`shared_others`)."""
        shared = set(self.shared_others())
        return sep.join([column.backbone, *(o for o in column.others if o not in shared)])

    def trick_label(self, trick: Trick) -> str:
        experiments = {t.experiment for t in self.tricks}
        return trick.name if len(experiments) < 2 else f"{trick.experiment}: {trick.name}"

    def compared(self) -> list[Cell]:
        return [self.cell(t, c) for t in self.tricks for c in self.columns
                if self.cell(t, c).status == "compared"]


def build_transfer(rows: Sequence[dict[str, Any]], groups: Sequence[Group]) -> Transfer | None:
    """The matrix of the tricks' rows, or None when they span fewer than two backbones.

    Should two groups land in one cell (``+trick=x`` and ``model=resnet1d,+trick=x``, each with
    its own baseline), the compared one with more pairs is shown."""
    by_key = {f"{r['experiment']}/{r['variant']}": r for r in rows}
    common = set(common_overrides([g.variant for g in groups]))
    tricks_of = {g.key: ",".join(t for t in split_variant(g.variant) if _key(t) in _TRICK_KEYS) for g in groups}
    experiments = {g.experiment for g in groups if not g.plain and tricks_of[g.key]}
    place: dict[str, Column] = {}
    for g in groups:
        if g.experiment in experiments:
            others = tuple(t for t in g.rest if _key(t) != "model" and t.replace("/", "_") not in common)
            place[g.key] = Column(others, backbone_of(g))
    columns = sorted(set(place.values()), key=lambda c: (c.others, c.backbone != default_backbone(), c.backbone))
    if len({c.backbone for c in columns}) < 2:
        return None
    cells: dict[tuple[Trick, Column], Cell] = {}
    for g in groups:
        if g.key not in place or g.plain or not tricks_of[g.key]:
            continue
        row = by_key[g.key]
        status = "no baseline" if not row["reference"] else "compared" if row["n_pairs"] else "no pairs"
        cell = Cell(Trick(g.experiment, tricks_of[g.key]), place[g.key], status, row)
        key = (cell.trick, cell.column)
        old = cells.get(key)
        if old is None or (status == "compared", row["n_pairs"]) > (old.status == "compared", old.row["n_pairs"]):
            cells[key] = cell
    tricks = sorted({t for t, _ in cells})
    rope = float(rows[0]["rope"]) if rows else math.nan
    return Transfer(tricks, columns, cells, rope)


def transfer_csv(transfer: Transfer) -> str:
    """One line per (trick, column), missing cells included (``status`` says why they are empty);
    numbers at full precision so that the file can be checked and re-used."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for t in transfer.tricks:
        for c in transfer.columns:
            cell = transfer.cell(t, c)
            row = cell.row or {}
            writer.writerow([
                t.name, c.backbone, *(repr(cell.value(n)) for n in ("delta", "delta_ci_low", "delta_ci_high", "p_holm")),
                cell.verdict, repr(cell.value("mde")), int(row.get("n_pairs", 0)), ",".join(c.others),
                t.experiment, row.get("reference", ""), cell.status,
            ])
    return buffer.getvalue()


TRANSFER_TEXT = (
    "Each cell: the trick's Δ challenge score (threshold 0.5) against the baseline of the *same* "
    "backbone (and the same other overrides), over the (seed, fold) pairs both finished -- the "
    "numbers of the table of differences above, rearranged: the same corrected standard error, "
    "95 % CI, Holm-adjusted p (over the tricks sharing that baseline) and verdict (▲ better, "
    "▼ worse, ≈ equivalent within ±ROPE, ? undecided). A trick transfers to a backbone where it "
    "is *better* there too; *no runs*: the trick was not run on that backbone; *no baseline*: "
    "it was, but that backbone's baseline was not."
)


def power_sentence(transfer: Transfer) -> str:
    """Which cells' silence means nothing: an undecided cell whose |Δ| is below its MDE could
    not have detected that Δ, so it is no evidence that the trick fails to transfer (an
    *equivalent* verdict is evidence: the posterior lies within the ROPE)."""
    cells = transfer.compared()
    finite = [c for c in cells if math.isfinite(c.value("mde"))]
    if not finite:
        return "Power: too few paired runs in any cell to estimate the minimum detectable effect."
    weak = [c for c in finite if c.verdict == "undecided" and abs(c.value("delta")) < c.value("mde")]
    lo, hi = min(c.value("mde") for c in finite), max(c.value("mde") for c in finite)
    sentence = (f"Power: no cell can reliably detect a Δ smaller than its MDE (80 % power, α = 0.05), "
                f"here {fmt(lo)} to {fmt(hi)}. ")
    if weak:
        listed = "; ".join(f"{transfer.trick_label(c.trick)} on {c.column.label()} (Δ {fmt(c.value('delta'), sign=True)}, "
                           f"MDE {fmt(c.value('mde'))})" for c in weak)
        sentence += (f"These undecided cells observed |Δ| below their MDE, so they say nothing about whether "
                     f"the trick transfers -- only that the sweep is too small to tell: {listed}.")
    else:
        sentence += "No undecided cell observed |Δ| below its MDE."
    unpaired = len(cells) - len(finite)
    if unpaired:
        sentence += f" {unpaired} cell(s) had too few pairs to estimate it."
    return sentence


def _cell_text(cell: Cell) -> str:
    if cell.status != "compared":
        return cell.status
    return (f"{fmt(cell.value('delta'), sign=True)} {MARKS.get(cell.verdict, '')} {cell.verdict} "
            f"[{fmt(cell.value('delta_ci_low'), sign=True)}, {fmt(cell.value('delta_ci_high'), sign=True)}], "
            f"MDE {fmt(cell.value('mde'))}, n {cell.row['n_pairs']}")


def transfer_markdown(transfer: Transfer) -> list[str]:
    """The section of ``ablation.md``: the matrix as a table, then the power sentence."""
    lines = [
        "## Does a trick transfer?", "", TRANSFER_TEXT, "", "![transfer](transfer.png)", "",
        "| trick | " + " | ".join(f"`{c.label()}`" for c in transfer.columns) + " |",
        "| --- |" + " --- |" * len(transfer.columns),
    ]
    for t in transfer.tricks:
        lines.append(f"| `{transfer.trick_label(t)}` | "
                     + " | ".join(_cell_text(transfer.cell(t, c)) for c in transfer.columns) + " |")
    return [*lines, "", power_sentence(transfer)]
