"""``report.html``: the report as one self-contained page (tables, figures embedded as data URIs,
inline CSS; no network and no JavaScript), for a browser."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from ecgtricks.reporting.render import (
    SCORES_TEXT,
    TESTS_TEXT,
    PerClass,
    class_rows,
    common_overrides,
    fmt,
    reference_label,
    runs_label,
    short_variant,
)
from ecgtricks.reporting.transfer import MARKS, TRANSFER_TEXT, Transfer, power_sentence

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 2em; } h3 { font-size: 1em; margin: 1.2em 0 0; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 13px; }
th { max-width: 9em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
th { background: #f2f2f2; } td.name { text-align: left; font-family: monospace; max-width: 32em; overflow-wrap: anywhere; }
td.better { background: #d9f2d9; } td.worse { background: #f7d4d4; }
td.equivalent { background: #dbe8f7; } td.undecided { background: #eee; }
p.note { color: #444; max-width: 60em; } ul.power { color: #333; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
"""


def _image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _markup(text: str) -> str:
    """The shared explanations use *emphasis* and `code` as in markdown."""
    out, parts = [], escape(text).split("*")
    for i, part in enumerate(parts):
        out.append(f"<em>{part}</em>" if i % 2 else part)
    pieces = "".join(out).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))


def _table(header: Sequence[str], body: Sequence[Sequence[tuple[str, str]]]) -> str:
    """A table from (css class, text) cells; the text is escaped here."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    rows = "".join(
        "<tr>" + "".join(f'<td class="{c}">{escape(v)}</td>' for c, v in row) + "</tr>" for row in body
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _transfer_section(transfer: Transfer, png: bytes, short: Any) -> list[str]:
    """The heat map, then per trick its verdict on each backbone, then what the sweep could not see."""
    parts = ["<h2>Does a trick transfer?</h2>", f'<p class="note">{_markup(TRANSFER_TEXT)}</p>',
             _image(png, "tricks x backbones heat map of Δ vs the same backbone's baseline")]
    for trick in transfer.tricks:
        body = []
        for column in transfer.columns:
            cell = transfer.cell(trick, column)
            if cell.status != "compared":
                body.append([("name", column.label()), ("", "–"), ("", "–"), ("", "–"), ("", "–"), ("", "–"),
                             ("undecided", cell.status), ("", "–")])
                continue
            r = cell.row
            ref_experiment, _, ref_variant = r["reference"].partition("/")
            body.append([
                ("name", column.label()), ("name", f"{ref_experiment}/{short(ref_variant)}"), ("", str(r["n_pairs"])),
                ("", fmt(r["delta"], sign=True)),
                ("", f"[{fmt(r['delta_ci_low'], sign=True)}, {fmt(r['delta_ci_high'], sign=True)}]"),
                ("", fmt(r["p_holm"])), (r["verdict"], f"{MARKS.get(r['verdict'], '')} {r['verdict']}"),
                ("", fmt(r["mde"])),
            ])
        parts += [f"<h3><code>{escape(transfer.trick_label(trick))}</code></h3>",
                  _table(["backbone", "vs", "pairs", "Δ", "95 % CI (corrected)", "p (Holm)", "verdict", "MDE"], body)]
    parts.append(f'<p class="note">{escape(power_sentence(transfer))}</p>')
    return parts


def to_html(
    rows: Sequence[dict[str, Any]], per_class: PerClass, sweep_dir: Path,
    delta_png: bytes, per_class_png: bytes,
    transfer: Transfer | None = None, transfer_png: bytes | None = None,
) -> str:
    common = common_overrides([r["variant"] for r in rows])
    short = lambda name: short_variant(name, common)  # noqa: E731
    scores = _table(
        ["experiment", "variant", "runs (seeds×folds)", "score @0.5", "tuned, cross-fitted",
         "tuned on own fold (optimistic)", "pooled OOF", "AUROC", "macro F1"],
        [[("name", r["experiment"]), ("name", short(r["variant"])), ("", runs_label(r)),
          ("", f"{fmt(r['challenge_score_mean'])} ± {fmt(r['challenge_score_std'])}"),
          ("", f"{fmt(r['score_crossfit_mean'])} ± {fmt(r['score_crossfit_std'])}"),
          ("", f"{fmt(r['challenge_score_tuned_mean'])} ± {fmt(r['challenge_score_tuned_std'])}"),
          ("", fmt(r["pooled_oof_score"])), ("", fmt(r["auroc_mean"])), ("", fmt(r["f_measure_mean"]))]
         for r in rows],
    )
    compared = [r for r in rows if r["reference"]]
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Ablation report: {escape(str(sweep_dir))}</title><style>{_CSS}</style></head><body>",
        f"<h1>Ablation report: <code>{escape(str(sweep_dir))}</code></h1>",
    ]
    if common:
        parts.append(f"<p>Overrides of every run (left out of the names below): <code>{escape(','.join(common))}</code></p>")
    parts += [f'<p class="note">{_markup(SCORES_TEXT)}</p>', scores]
    if compared:
        rope = compared[0]["rope"]
        tests = _table(
            ["experiment", "variant", "vs", "pairs", "Δ", "95 % CI (corrected)", "p (corrected)", "p (Holm)",
             "P(worse)", f"P(ROPE ±{rope:.3f})", "P(better)", "verdict", "MDE",
             "p (uncorrected, ignores overlap)"],
            [[("name", r["experiment"]), ("name", short(r["variant"])), ("name", reference_label(r, rows, short)),
              ("", str(r["n_pairs"])), ("", fmt(r["delta"], sign=True)),
              ("", f"[{fmt(r['delta_ci_low'], sign=True)}, {fmt(r['delta_ci_high'], sign=True)}]"),
              ("", fmt(r["p_corrected"])), ("", fmt(r["p_holm"])), ("", fmt(r["p_worse"], 2)),
              ("", fmt(r["p_rope"], 2)), ("", fmt(r["p_better"], 2)), (r["verdict"], r["verdict"]),
              ("", fmt(r["mde"])), ("", fmt(r["p_uncorrected"]))]
             for r in compared],
        )
        power = "".join(f"<li><code>{escape(short(r['variant']))}</code>: {escape(r['power'])}.</li>" for r in compared)
        parts += ["<h2>Differences from the reference</h2>", f'<p class="note">{_markup(TESTS_TEXT)}</p>', tests,
                  f'<ul class="power">{power}</ul>', _image(delta_png, "Δ vs reference with corrected 95 % CIs and the ROPE")]
    if transfer is not None and transfer_png is not None:
        parts += _transfer_section(transfer, transfer_png, short)
    names = list(per_class)
    heat = _table(
        ["class", *(f"{n.partition('/')[0]}/{short(n.partition('/')[2])}" for n in names)],
        [[("name", name), *(("", fmt(per_class[n].get(name, float("nan")), 2)) for n in names)]
         for name in class_rows(per_class)],
    )
    parts += ["<h2>Per-class F1 (pooled out-of-fold, saved thresholds)</h2>",
              _image(per_class_png, "per-class F1 heat map"), heat, "</body></html>"]
    return "\n".join(parts) + "\n"
