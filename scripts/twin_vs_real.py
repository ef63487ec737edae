"""The twin's populations against the real records', per source (ecgtricks.synth.population).

    python scripts/twin_vs_real.py TWIN_DIR [--real DIR] [--per-source 60] [--markdown FILE]

Measures every real record in ``../shared/data/challenge-samples`` and up to ``--per-source``
twin records of each source (the first by name), and prints the 10th / 50th / 90th percentiles
of each measure side by side: all records, then per source (``--sources``) and per class
(``--classes PAC,AF``). Chapman-Shaoxing and Ningbo share the ``JS`` prefix and are one group here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ecgtricks.synth.population import Measured, measure_folder

REPO = Path(__file__).resolve().parents[1]


def agreement(real: Measured, *twins: tuple[str, Measured]) -> list[str]:
    """Labels against what the measures show (a rough bound on label noise)."""
    from ecgtricks.scoring.labels import ABBREVIATIONS
    from ecgtricks.synth.population import LABEL_CHECKS, label_agreement

    counts = [label_agreement(r for v in rows.values() for r in v)
              for rows in (real, *(t for _, t in twins))]
    names = ["real", *(name for name, _ in twins)]
    lines = ["| label | measure must show | " + " | ".join(f"{n}: labelled, disagree" for n in names) + " |",
             "| --- | --- |" + " --- |" * len(names)]
    for code, (key, lo, hi) in LABEL_CHECKS.items():
        lines.append(f"| {ABBREVIATIONS.get(code, code)} | {key} in [{lo:g}, {hi:g}] | "
                     + " | ".join(f"{c[code][0]}, {c[code][1]}" for c in counts) + " |")
    tot = [(sum(x[0] for x in c.values()), sum(x[1] for x in c.values())) for c in counts]
    lines.append("| all | | " + " | ".join(f"{n}, {b} ({b / max(n, 1):.0%})" for n, b in tot) + " |")
    return lines


def table(real: list[dict[str, float]], *twins: tuple[str, list[dict[str, float]]]) -> list[str]:
    """Percentiles of each measure: the real records, then each twin."""
    from ecgtricks.synth.population import percentiles

    a = percentiles(real)
    others = [(name, len(rows), percentiles(rows)) for name, rows in twins]
    lines = [f"| measure | real ({len(real)}) p10 / p50 / p90 | "
             + " | ".join(f"{name} ({n}) p10 / p50 / p90" for name, n, _ in others) + " |",
             "| --- | --- |" + " --- |" * len(others)]
    for key in a:
        fmt = (lambda v: f"{v:.0f}") if key in ("hr_bpm", "axis_deg") else (lambda v: f"{v:.3f}")
        cells = [" / ".join(map(fmt, b[key])) if key in b else "-" for _, _, b in others]
        lines.append(f"| {key} | {' / '.join(map(fmt, a[key]))} | " + " | ".join(cells) + " |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("twin", type=Path)
    parser.add_argument("--before", type=Path, default=None, help="an earlier twin, for a column of its own")
    parser.add_argument("--real", type=Path, default=REPO.parent / "shared" / "data" / "challenge-samples")
    parser.add_argument("--per-source", type=int, default=60)
    parser.add_argument("--markdown", type=Path, default=None)
    parser.add_argument("--sources", action="store_true", help="also one table per source")
    parser.add_argument("--classes", default="", help="comma-separated class abbreviations (PAC,AF): "
                        "one table each, over the records labelled with it")
    args = parser.parse_args()
    if not args.real.is_dir():
        raise SystemExit(f"no real records at {args.real}")
    real = measure_folder(args.real, None)
    twins = [("twin", measure_folder(args.twin, args.per_source))]
    if args.before:
        twins.insert(0, ("twin before", measure_folder(args.before, args.per_source)))

    def rows(measured: Measured, keep=lambda labels: True, source: str | None = None) -> list[dict[str, float]]:
        return [m for key, v in measured.items() if source in (None, key) for lab, m in v if keep(lab)]

    normal = "426783006"  # records whose only label is sinus rhythm: the normal population
    only_normal = lambda labels: set(labels) == {normal}  # noqa: E731
    out = ["### All sources", ""]
    out += table(rows(real), *((n, rows(t)) for n, t in twins))
    out += ["", "### Records labelled with sinus rhythm only", ""]
    out += table(rows(real, only_normal), *((n, rows(t, only_normal)) for n, t in twins))
    out += ["", "### Labels against measures", ""] + agreement(real, *twins)
    if args.sources:
        for source in sorted(real):
            out += ["", f"### {source}", ""] + table(rows(real, source=source),
                                                     *((n, rows(t, source=source)) for n, t in twins))
    from ecgtricks.scoring.labels import ABBREVIATIONS

    codes = {abbr: code for code, abbr in ABBREVIATIONS.items()}
    for abbr in filter(None, args.classes.split(",")):
        if abbr not in codes:
            raise SystemExit(f"--classes: no class {abbr}; known: {', '.join(sorted(codes))}")
        labelled = lambda labels, c=codes[abbr]: c in labels  # noqa: E731
        twin_rows = [(n, rows(measure_folder(p, args.per_source, codes[abbr])))
                     for n, p in ([("twin before", args.before)] if args.before else []) + [("twin", args.twin)]]
        out += ["", f"### Records labelled {abbr}", ""] + table(rows(real, labelled), *twin_rows)
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
