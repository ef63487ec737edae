"""The transfer matrix (tricks x backbones) of the report, from summary.json files written by hand
and checked against statistics recomputed from those files alone."""

from __future__ import annotations

import csv
import json
import struct
from pathlib import Path

import numpy as np
import pytest

SMALL = ["debug=smoke", "data.n_records=64"]  # overrides every run shares
FOLDS, SEEDS = range(5), (0, 1)
TRICKS = ("+trick=squeeze_excite", "+trick=manifold_mixup")
# Baseline level and each trick's true effect per backbone: the xresnet baseline sits 0.1 above
# resnet1d's, so pairing a trick with the wrong baseline shifts its Δ by about 0.1.
LEVEL = {"resnet1d": 0.50, "xresnet1d50": 0.60}
EFFECT = {("resnet1d", TRICKS[0]): 0.04, ("resnet1d", TRICKS[1]): -0.002,
          ("xresnet1d50", TRICKS[0]): 0.003, ("xresnet1d50", TRICKS[1]): -0.03}


def add_run(root: Path, overrides: list[str], seed: int, fold: int, score: float) -> None:
    """A finished run as ``ecgtricks.train`` leaves it: summary.json and the model directory's
    out-of-fold predictions and thresholds (what the report reads), in the directory its
    overrides name."""
    from ecgtricks.runs.modeldir import META, OOF
    from ecgtricks.runs.rundir import variant_name
    from ecgtricks.scoring.labels import SCORED_CLASSES

    given = [*overrides, *SMALL, *([f"seed={seed}"] if seed else [])]
    run_dir = root / "baseline" / variant_name(given, None) / f"fold{fold}"
    (run_dir / "model").mkdir(parents=True)
    rng = np.random.default_rng(100 * seed + fold)
    labels = rng.random((40, len(SCORED_CLASSES))) < 0.2
    probabilities = np.clip(0.4 * labels + 0.6 * rng.random(labels.shape), 0, 1)
    np.savez(run_dir / "model" / OOF, labels=labels, probabilities=probabilities)
    (run_dir / "model" / META).write_text(json.dumps({"thresholds": [0.5] * len(SCORED_CLASSES)}))
    (run_dir / "summary.json").write_text(json.dumps({
        "name": "baseline", "fold": fold, "seed": seed, "overrides": [*given, f"fold={fold}"],
        "challenge_score": score, "challenge_score_tuned": score + 0.1, "auroc": 0.8, "f_measure": 0.5,
        "n_train": 160, "n_val": 40,
    }))


def make_sweep(root: Path, backbones: dict[str, list[str]], tricks: tuple[str, ...] = TRICKS,
               effect: dict[tuple[str, str], float] | None = None) -> Path:
    """Baseline and ``tricks`` on each backbone (its overrides, ``[]`` for the default), 5 folds x
    2 seeds; a fold effect shared by the backbone's runs, noise per run."""
    effect = EFFECT if effect is None else effect
    rng = np.random.default_rng(7)
    for b, (backbone, model) in enumerate(backbones.items()):
        for seed in SEEDS:
            for fold in FOLDS:
                shared = LEVEL.get(backbone, 0.55 + 0.01 * b) + 0.02 * np.sin(fold + b)
                add_run(root, model, seed, fold, float(shared + rng.normal(0, 0.004)))
                for trick in tricks:
                    delta = effect.get((backbone, trick), 0.0)
                    add_run(root, [*model, trick], seed, fold, float(shared + delta + rng.normal(0, 0.004)))
    return root


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def recompute(root: Path, rope: float) -> dict[tuple[str, str], dict[str, float | str | int]]:
    """Each (trick, backbone) cell from the summary.json files alone: the paired differences per
    (seed, fold) with the same backbone's baseline, compare_runs, Holm over the backbone's tricks."""
    from ecgtricks.reporting.stats import compare_runs, holm

    scores: dict[tuple[str, str], dict[tuple[int, int], float]] = {}
    ratios: dict[tuple[str, str], list[float]] = {}
    for path in root.rglob("summary.json"):
        s = json.loads(path.read_text())
        backbone = next((o.split("=")[1] for o in s["overrides"] if o.startswith("model=")), "resnet1d")
        trick = next((o for o in s["overrides"] if o.startswith("+trick=")), "")
        scores.setdefault((backbone, trick), {})[(s["seed"], s["fold"])] = s["challenge_score"]
        ratios.setdefault((backbone, trick), []).append(s["n_val"] / s["n_train"])
    cells = {}
    for backbone in {b for b, _ in scores}:
        base = scores[(backbone, "")]
        family = {}
        for trick in sorted(t for b, t in scores if b == backbone and t):
            runs = scores[(backbone, trick)]
            pairs = {k: runs[k] - base[k] for k in sorted(set(runs) & set(base))}
            rho = float(np.mean(ratios[(backbone, trick)] + ratios[(backbone, "")]))
            family[trick] = (compare_runs(pairs, rho, rope=rope), len(pairs))
        adjusted = holm([c.p_corrected for c, _ in family.values()])
        for (trick, (c, n)), p_holm in zip(family.items(), adjusted, strict=True):
            cells[(trick, backbone)] = {"delta": c.mean, "ci_low": c.ci_low, "ci_high": c.ci_high,
                                        "p_holm": p_holm, "mde": c.mde, "verdict": c.verdict, "n": n}
    return cells


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ecgtricks.reporting.write import write_report

    root = tmp_path_factory.mktemp("transfer")
    make_sweep(root / "outputs", {"resnet1d": [], "xresnet1d50": ["model=xresnet1d50"]})
    write_report(root / "outputs", root / "report")
    return root


def test_transfer_csv_equals_the_statistics_recomputed_from_the_summaries(report: Path) -> None:
    from ecgtricks.reporting.stats import DEFAULT_ROPE
    from ecgtricks.runs.rundir import variant_name

    rows = list(csv.DictReader((report / "report" / "transfer.csv").open()))
    assert [(r["trick"], r["backbone"]) for r in rows] == [
        (t, b) for t in sorted(TRICKS) for b in ("resnet1d", "xresnet1d50")]
    expected = recompute(report / "outputs", DEFAULT_ROPE)
    assert set(expected) == {(r["trick"], r["backbone"]) for r in rows}
    for row in rows:
        want = expected[(row["trick"], row["backbone"])]
        for column in ("delta", "ci_low", "ci_high", "p_holm", "mde"):
            assert float(row[column]) == pytest.approx(want[column], abs=1e-12, rel=0), (row["trick"], column)
        assert row["verdict"] == want["verdict"] and int(row["n"]) == want["n"] == 10
        assert row["status"] == "compared" and row["overrides"] == ""
        model = [] if row["backbone"] == "resnet1d" else ["model=xresnet1d50"]
        assert row["reference"] == f"baseline/{variant_name([*model, *SMALL], None)}"
    # The design's verdicts show: squeeze_excite helps resnet1d only, mixup hurts xresnet1d50 only.
    verdicts = {(r["trick"], r["backbone"]): r["verdict"] for r in rows}
    assert verdicts[(TRICKS[0], "resnet1d")] == "better" and verdicts[(TRICKS[1], "xresnet1d50")] == "worse"


def test_each_backbone_is_compared_with_its_own_baseline(report: Path) -> None:
    """Against resnet1d's baseline the xresnet cells would be about 0.1 higher."""
    rows = {(r["trick"], r["backbone"]): float(r["delta"])
            for r in csv.DictReader((report / "report" / "transfer.csv").open())}
    summaries = [json.loads(p.read_text()) for p in (report / "outputs").rglob("summary.json")]
    resnet_base = {(s["seed"], s["fold"]): s["challenge_score"] for s in summaries
                   if not any(o.startswith(("model=", "+trick=")) for o in s["overrides"])}
    for trick in TRICKS:
        xres = {(s["seed"], s["fold"]): s["challenge_score"] for s in summaries
                if "model=xresnet1d50" in s["overrides"] and trick in s["overrides"]}
        wrong = np.mean([np.mean([xres[(s, f)] - resnet_base[(s, f)] for s in SEEDS]) for f in FOLDS])
        assert abs(rows[(trick, "xresnet1d50")] - wrong) > 0.08
        assert rows[(trick, "xresnet1d50")] == pytest.approx(EFFECT[("xresnet1d50", trick)], abs=0.01)


def test_heat_map_and_sections(report: Path) -> None:
    from ecgtricks.reporting.write import FILES, TRANSFER_FILES

    out = report / "report"
    assert sorted(p.name for p in out.iterdir()) == sorted([*FILES, *TRANSFER_FILES])
    width, height = png_size(out / "transfer.png")
    assert 400 < width < 3000 and 200 < height < 2000
    page = (out / "report.html").read_text()
    assert "<h2>Does a trick transfer?</h2>" in page
    section = page.split("<h2>Does a trick transfer?</h2>")[1].split("<h2>")[0]
    assert "data:image/png;base64," in section and section.count("<h3>") == len(TRICKS)
    assert "▲ better" in section and "▼ worse" in section and "Power:" in section
    markdown = (out / "ablation.md").read_text()
    assert "## Does a trick transfer?" in markdown and "| trick | `resnet1d` | `xresnet1d50` |" in markdown
    assert markdown.index("## Does a trick transfer?") < markdown.index("## Per-class F1")


def test_missing_cells_other_overrides_and_explicit_default(tmp_path: Path) -> None:
    """A trick not run on a backbone is a grey 'no runs' cell; ``model=resnet1d`` written out is the
    default backbone's column; ``leads=2`` runs form columns of their own."""
    from ecgtricks.reporting.write import write_report

    make_sweep(tmp_path / "out", {"resnet1d": ["model=resnet1d"], "xresnet1d50": ["model=xresnet1d50"]},
               tricks=TRICKS[:1])
    make_sweep(tmp_path / "out", {"inception1d": ["model=inception1d", "leads=2"]}, tricks=TRICKS[1:])
    write_report(tmp_path / "out", tmp_path / "report")
    rows = list(csv.DictReader((tmp_path / "report" / "transfer.csv").open()))
    cells = {(r["trick"], r["backbone"], r["overrides"]): r for r in rows}
    assert len(rows) == 2 * 3
    assert cells[(TRICKS[0], "resnet1d", "")]["status"] == "compared"
    assert cells[(TRICKS[1], "inception1d", "leads=2")]["status"] == "compared"
    missing = cells[(TRICKS[0], "inception1d", "leads=2")]
    assert missing["status"] == "no runs" and missing["delta"] == "nan" and missing["verdict"] == ""
    page = (tmp_path / "report" / "report.html").read_text()
    assert "inception1d · leads=2" in page and "no runs" in page


def test_single_backbone_report_has_no_transfer_section(tmp_path: Path) -> None:
    from ecgtricks.reporting.write import FILES, write_report

    make_sweep(tmp_path / "out", {"resnet1d": []})
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "transfer.png").write_bytes(b"stale")  # of an earlier report
    write_report(tmp_path / "out", tmp_path / "report")
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == sorted(FILES)
    for name in ("ablation.md", "report.html"):
        text = (tmp_path / "report" / name).read_text()
        assert "Does a trick transfer?" not in text and "transfer.png" not in text


def test_power_sentence_names_undecided_cells_below_their_mde() -> None:
    from ecgtricks.reporting.transfer import Cell, Column, Transfer, Trick, power_sentence

    trick, a, b = Trick("baseline", "+trick=x"), Column((), "resnet1d"), Column((), "xresnet1d50")
    row = lambda delta, mde, verdict: {"delta": delta, "mde": mde, "verdict": verdict, "n_pairs": 10}  # noqa: E731
    transfer = Transfer([trick], [a, b], {
        (trick, a): Cell(trick, a, "compared", row(0.004, 0.02, "undecided")),
        (trick, b): Cell(trick, b, "compared", row(0.002, 0.02, "equivalent")),  # evidence, not silence
    }, rope=0.01)
    sentence = power_sentence(transfer)
    assert "0.020 to 0.020" in sentence and "+trick=x on resnet1d (Δ +0.004, MDE 0.020)" in sentence
    assert "on xresnet1d50" not in sentence


def test_column_labels_say_shared_settings_once() -> None:
    """Settings every column has (the study's resampling, epochs) are said once; a column's label
    keeps what sets it apart (its backbone and that backbone's sizes)."""
    from ecgtricks.reporting.transfer import Column, Transfer

    a = Column(("model.base_width=16", "trainer.max_epochs=8"), "xresnet1d50")
    b = Column(("trainer.max_epochs=8",), "resnet1d")
    transfer = Transfer([], [a, b], {}, rope=0.01)
    assert transfer.shared_others() == ("trainer.max_epochs=8",)
    assert transfer.column_label(a) == "xresnet1d50 · model.base_width=16"
    assert transfer.column_label(b) == "resnet1d"
    assert Transfer([], [], {}, rope=0.01).shared_others() == ()
