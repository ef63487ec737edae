"""The report's tests measured on real training runs (docs/statistics.md).

    python scripts/stats_study.py SWEEP_DIR --recipe VARIANT --reference VARIANT [--rope 0.01]

SWEEP_DIR holds one recipe (``--recipe``, a variant name as the report prints it, seeds pooled)
trained with at least 2·r seeds × k folds, and another (``--reference``) with r seeds × k folds.

* **False positives.** The recipe against itself: r of its seeds paired, in order, with r of
  the others (every such pairing, or a sample), seed i of one set against seed i of the other on
  each fold; a true null. For each: the plain paired t-test over the r·k pairs, the corrected
  test with n = r·k (Bouckaert & Frank's repetitions) and the report's test
  (:func:`ecgtricks.reporting.stats.compare_runs`); the share each rejects at α, and the
  Bayesian verdicts.
* **Power.** The recipe's first r seeds against the reference, for the full design and for
  smaller ones (fewer seeds, fewer folds: every subset), the share each test detects.

The splits share runs, so their rejections are not independent: the rates describe this sweep,
with a Monte-Carlo error larger than the binomial one printed.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ecgtricks.reporting.runs import Group, collect
from ecgtricks.reporting.stats import DEFAULT_ROPE, compare, compare_runs

ALPHA = 0.05


def _find(groups: Sequence[Group], variant: str) -> Group:
    for g in groups:
        if g.variant == variant or g.key == variant:
            return g
    raise SystemExit(f"no variant {variant!r}; found: {[g.key for g in groups]}")


def _tests(pairs: dict[tuple[int, int], float], rho: float, rope: float) -> dict[str, object]:
    values = list(pairs.values())
    c = compare_runs(pairs, rho, rope=rope)
    return {
        "plain": compare(values, rho).p_uncorrected,  # pairs as independent
        "corrected_pairs": compare(values, rho).p_corrected,  # n = r*k
        "report": c.p_corrected,  # fold means of the seeds
        "verdict": c.verdict,
        "delta": c.mean,
    }


def _rho(groups: Sequence[Group]) -> float:
    return float(np.mean([g.val_train_ratio(k) for g in groups for k in g.summaries]))


def null_study(recipe: Group, seeds_per_set: int, folds: Sequence[int], rope: float,
               max_splits: int = 400) -> dict[str, object]:
    seeds = recipe.seeds
    scores = recipe.scores()
    rho = _rho([recipe])
    # Every way to pick r seeds and pair them, in order, with r of the others: the pairing
    # matters, since a pair's seeds are matched on every fold.
    splits = [(first, second) for first in itertools.combinations(seeds, seeds_per_set)
              for second in itertools.permutations([s for s in seeds if s not in first], seeds_per_set)]
    rng = np.random.default_rng(0)
    if len(splits) > max_splits:
        splits = [splits[i] for i in rng.choice(len(splits), max_splits, replace=False)]
    results = []
    for first, second in splits:
        pairs = {(i, f): scores[(a, f)] - scores[(b, f)]
                 for i, (a, b) in enumerate(zip(first, second, strict=True)) for f in folds}
        results.append(_tests(pairs, rho, rope))
    return _summarise(results, len(splits))


def power_study(recipe: Group, reference: Group, n_seeds: int, n_folds: int, rope: float) -> dict[str, object]:
    rho = _rho([recipe, reference])
    a, b = recipe.scores(), reference.scores()
    shared_seeds = sorted(set(recipe.seeds) & set(reference.seeds))
    shared_folds = sorted(set(recipe.folds) & set(reference.folds))
    results = []
    for seeds in itertools.combinations(shared_seeds, n_seeds):
        for folds in itertools.combinations(shared_folds, n_folds):
            pairs = {(s, f): a[(s, f)] - b[(s, f)] for s in seeds for f in folds}
            results.append(_tests(pairs, rho, rope))
    return _summarise(results, len(results))


def _summarise(results: list[dict[str, object]], n: int) -> dict[str, object]:
    out: dict[str, object] = {"comparisons": n}
    for test in ("plain", "corrected_pairs", "report"):
        out[test] = float(np.mean([float(r[test]) < ALPHA for r in results]))  # type: ignore[arg-type]
    for verdict in ("better", "equivalent", "worse", "undecided"):
        out[verdict] = float(np.mean([r["verdict"] == verdict for r in results]))
    out["mean_delta"] = float(np.mean([float(r["delta"]) for r in results]))  # type: ignore[arg-type]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--recipe", required=True)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--rope", type=float, default=DEFAULT_ROPE)
    args = parser.parse_args(argv)
    groups = collect(args.sweep_dir)
    recipe, reference = _find(groups, args.recipe), _find(groups, args.reference)
    r, k = len(recipe.seeds) // 2, len(recipe.folds)
    print(f"recipe {recipe.key}: {len(recipe.seeds)} seeds x {k} folds; reference {reference.key}: "
          f"{len(reference.seeds)} seeds x {len(reference.folds)} folds; rho {_rho([recipe]):.4f}; rope {args.rope}")
    header = "| design | comparisons | plain paired t | corrected, n = r·k | report's test | better / equivalent / worse / undecided | mean Δ |"
    rule = "| --- | --- | --- | --- | --- | --- | --- |"

    def line(design: str, s: dict[str, object]) -> str:
        return (f"| {design} | {s['comparisons']} | {s['plain']:.3f} | {s['corrected_pairs']:.3f} | {s['report']:.3f} "
                f"| {s['better']:.2f} / {s['equivalent']:.2f} / {s['worse']:.2f} / {s['undecided']:.2f} | {s['mean_delta']:+.4f} |")

    print("\nFalse positives: the recipe against itself (two disjoint seed sets), share rejecting at 0.05\n")
    print(header)
    print(rule)
    for seeds in sorted({1, 2, r} - {0}):
        print(line(f"{seeds} seed{'s' if seeds > 1 else ''} × {k} folds", null_study(recipe, seeds, recipe.folds, args.rope)))
    print("\nPower: the recipe against the reference, share detecting the difference at 0.05\n")
    print(header)
    print(rule)
    n_ref = min(len(reference.seeds), r)
    for seeds, folds in [(n_ref, k), (1, k), (1, 3), (1, 2), (2, 3)]:
        if seeds <= n_ref and folds <= k:
            print(line(f"{seeds} seed{'s' if seeds > 1 else ''} × {folds} folds",
                       power_study(recipe, reference, seeds, folds, args.rope)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
