"""The report names the (seed, fold) runs a variant lacks: summary.json files written by hand."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

SMALL = ["debug=smoke", "data.n_records=64"]  # overrides every run shares


def add_run(root: Path, variant: str, tricks: list[str], seed: int, fold: int, score: float) -> None:
    """A finished run as ``ecgtricks.train`` leaves it: summary.json and the model directory's
    out-of-fold predictions and thresholds (what the report reads)."""
    from ecgtricks.runs.modeldir import META, OOF
    from ecgtricks.scoring.labels import SCORED_CLASSES

    run_dir = root / "baseline" / variant / f"fold{fold}"
    (run_dir / "model").mkdir(parents=True)
    rng = np.random.default_rng(100 * seed + fold)
    labels = rng.random((40, len(SCORED_CLASSES))) < 0.2
    probabilities = np.clip(0.4 * labels + 0.6 * rng.random(labels.shape), 0, 1)
    np.savez(run_dir / "model" / OOF, labels=labels, probabilities=probabilities)
    (run_dir / "model" / META).write_text(json.dumps({"thresholds": [0.5] * len(SCORED_CLASSES)}))
    overrides = [*tricks, *SMALL, f"fold={fold}", *([f"seed={seed}"] if seed else [])]
    (run_dir / "summary.json").write_text(json.dumps({
        "name": "baseline", "fold": fold, "seed": seed, "overrides": overrides,
        "challenge_score": score, "challenge_score_tuned": score + 0.1, "auroc": 0.8, "f_measure": 0.5,
        "n_train": 160, "n_val": 40,
    }))


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """Baseline, +trick=dropout and +trick=squeeze_excite on folds 0-2, seeds 0 and 1, but the
    dropout variant lacks fold 1 of seed 0 and the reference lacks folds 0 and 2 of seed 1."""
    root = tmp_path / "outputs"
    base = ",".join(sorted(SMALL))
    for seed in (0, 1):
        for fold in range(3):
            suffix = f",seed={seed}" if seed else ""
            if not (seed == 1 and fold in (0, 2)):
                add_run(root, base + suffix, [], seed, fold, 0.50 + 0.01 * fold)
            if not (seed == 0 and fold == 1):
                add_run(root, f"+trick=dropout,{base}{suffix}", ["+trick=dropout"], seed, fold, 0.52 + 0.01 * fold)
            add_run(root, f"+trick=squeeze_excite,{base}{suffix}", ["+trick=squeeze_excite"], seed, fold, 0.51)
    return root


def test_missing_runs_per_variant_against_its_family(sweep: Path) -> None:
    from ecgtricks.reporting.runs import collect, describe_missing, missing_runs

    groups = collect(sweep)
    assert len(groups) == 3
    missing = missing_runs(groups)
    base = ",".join(sorted(SMALL))
    assert missing == {
        f"baseline/{base}": [(1, 0), (1, 2)],
        f"baseline/+trick=dropout,{base}": [(0, 1)],
    }
    assert describe_missing([(0, 1)]) == "missing fold 1 (seed 0)"
    assert describe_missing([(0, 1), (0, 2), (1, 0)]) == "missing folds 1, 2 (seed 0), fold 0 (seed 1)"


def test_families_are_compared_only_within_themselves(tmp_path: Path) -> None:
    """A variant of another reference (other overrides) is not held to this family's runs."""
    from ecgtricks.reporting.runs import collect, missing_runs

    base = ",".join(sorted(SMALL))
    for fold in range(3):
        add_run(tmp_path, base, [], 0, fold, 0.5)
        add_run(tmp_path, f"+trick=dropout,{base}", ["+trick=dropout"], 0, fold, 0.5)
    add_run(tmp_path, f"{base},optim.lr=0.01", ["optim.lr=0.01"], 0, 0, 0.5)  # a one-fold family of its own
    assert missing_runs(collect(tmp_path)) == {}


def test_report_warns_and_lists_missing_runs_under_its_title(sweep: Path, tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    from ecgtricks.reporting.write import write_report

    with caplog.at_level(logging.WARNING, logger="ecgtricks.report"):
        write_report(sweep, tmp_path / "report")
    want = ["baseline/default: missing folds 0, 2 (seed 1)", "baseline/+trick=dropout: missing fold 1 (seed 0)"]
    assert [r.getMessage() for r in caplog.records if "missing" in r.getMessage()] == want
    markdown = (tmp_path / "report" / "ablation.md").read_text().splitlines()
    assert markdown[0].startswith("# Ablation report")
    start = next(i for i, line in enumerate(markdown) if line.startswith("**Missing runs**"))
    assert markdown[start + 2 : start + 4] == [f"- {line}" for line in want]
    assert not any("squeeze_excite: missing" in line for line in markdown)


def test_complete_sweep_has_no_missing_runs_section(tmp_path: Path) -> None:
    from ecgtricks.reporting.write import write_report

    base = ",".join(sorted(SMALL))
    for fold in range(2):
        add_run(tmp_path / "out", base, [], 0, fold, 0.5)
        add_run(tmp_path / "out", f"+trick=dropout,{base}", ["+trick=dropout"], 0, fold, 0.55)
    write_report(tmp_path / "out", tmp_path / "report")
    assert "Missing runs" not in (tmp_path / "report" / "ablation.md").read_text()
