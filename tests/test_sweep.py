"""Sweeps end to end: multirun layout, idempotent re-runs, failure isolation, W&B offline runs,
the ablation report, and the launchers."""

from __future__ import annotations

import csv
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ecgtricks.reporting.runs import split_overrides, without_seed
from ecgtricks.reporting.stats import holm

SMALL = ["debug=smoke", "data.n_records=64", "data.limit=64"]


def train(args: list[str], cwd: Path, wandb_mode: str = "disabled") -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "WANDB_MODE": wandb_mode, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "ecgtricks.train", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def offline_run_record(run_dir: Path, kind: str = "run"):
    """The ``kind`` record (``run``: project, group, job type, tags; ``exit``: exit code) of an
    offline W&B run: the .wandb file is a LevelDB-style log of protobuf records behind a 7-byte
    W&B header."""
    from wandb.proto import wandb_internal_pb2

    (path,) = run_dir.glob("wandb/offline-run-*/run-*.wandb")
    data, pos, block, buffer = path.read_bytes(), 7, 32768, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # block trailer
            pos += block - pos % block
            continue
        _, length, chunk = struct.unpack("<IHB", data[pos : pos + 7])
        buffer += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if chunk in (1, 4):  # a full record, or the last piece of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(buffer)
            buffer = b""
            if record.WhichOneof("record_type") == kind:
                return getattr(record, kind)
    raise AssertionError(f"no {kind} record in {path}")


@pytest.mark.slow
def test_sweep_tricks_by_seeds_and_folds_with_wandb_report_and_rerun(tmp_path: Path) -> None:
    grid = ["fold=0,1,2", "seed=0,1"]
    args = ["-m", "hydra/launcher=parallel", "+trick=squeeze_excite,dropout", *grid,
            *SMALL, f"output_root={tmp_path / 'out'}"]
    first = train(args, tmp_path, wandb_mode="offline")
    assert first.returncode == 0, first.stderr[-3000:]
    summaries = sorted((tmp_path / "out").rglob("summary.json"))
    assert len(summaries) == 12
    for path in summaries[::5]:
        run_dir = path.parent
        variant = run_dir.parent.name
        assert variant.startswith(("+trick=squeeze_excite,", "+trick=dropout,")) and run_dir.parent.parent.name == "baseline"
        run = offline_run_record(run_dir)
        assert run.project == "ecgtricks" and run.run_group == f"baseline/{variant}"
        assert run.job_type == f"fold-{json.loads(path.read_text())['fold']}"
        assert list(run.tags) == [variant.split(",")[0].split("=")[1]]
    mtimes = [p.stat().st_mtime_ns for p in summaries]

    again = train(args, tmp_path, wandb_mode="offline")
    assert again.returncode == 0
    logs = "".join(p.read_text() for p in (tmp_path / "out").rglob("train.log"))
    assert logs.count("skipping") == 12
    assert [p.stat().st_mtime_ns for p in summaries] == mtimes

    # the reference runs, then the report
    assert train(["-m", "hydra/launcher=parallel", *grid, *SMALL, f"output_root={tmp_path / 'out'}"],
                 tmp_path).returncode == 0
    import os

    report = subprocess.run([sys.executable, "-m", "ecgtricks.report", str(tmp_path / "out"), "--out",
                             str(tmp_path / "report"), "--wandb", "--rope", "0.02"], capture_output=True,
                            text=True, timeout=300, env={**os.environ, "WANDB_MODE": "offline"})
    assert report.returncode == 0, report.stderr
    assert str((tmp_path / "report" / "report.html").resolve()) in report.stdout  # the page's path
    assert offline_run_record(tmp_path / "report").job_type == "report"  # table and figures logged
    rows = list(csv.DictReader((tmp_path / "report" / "ablation.csv").open()))
    assert len(rows) == 3 and rows[0]["reference"] == "" and rows[0]["variant"] == "data.limit=64,data.n_records=64,debug=smoke"
    for row in rows:
        assert (row["n_runs"], row["n_seeds"], row["n_folds"]) == ("6", "2", "3")
        assert row["score_crossfit_mean"] not in ("", "nan") and row["score_crossfit_std"] not in ("", "nan")
    expected = recompute_comparisons(tmp_path / "out", rope=0.02)
    for row in rows[1:]:
        assert row["reference"] == "baseline/data.limit=64,data.n_records=64,debug=smoke" and row["n_pairs"] == "6"
        want = expected[row["variant"]]
        for column, value in want.items():
            assert float(row[column]) == pytest.approx(value, rel=1e-9, abs=1e-12), column
        assert row["verdict"] in ("better", "equivalent", "worse", "undecided")
        assert row["power"].startswith("this sweep cannot tell apart differences below")
    family = [float(r["p_corrected"]) for r in rows[1:]]
    assert [float(r["p_holm"]) for r in rows[1:]] == pytest.approx(holm(family))
    per_class = list(csv.DictReader((tmp_path / "report" / "per_class_f1.csv").open()))
    assert [(r["class"], r["code"]) for r in per_class][:2] == [("IAVB", "270492004"), ("AF", "164889003")]
    markdown = (tmp_path / "report" / "ablation.md").read_text()
    assert "+trick=squeeze_excite" in markdown and "+trick=dropout" in markdown and "6 (2×3)" in markdown
    assert "tuned, cross-fitted" in markdown and "optimistic" in markdown and "| AF 164889003 |" in markdown
    assert "p (uncorrected, ignores overlap)" in markdown and "Nadeau & Bengio" in markdown
    for png in ("delta.png", "per_class_f1.png"):
        assert (tmp_path / "report" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    check_page((tmp_path / "report" / "report.html").read_text())


def recompute_comparisons(sweep: Path, rope: float) -> dict[str, dict[str, float]]:
    """The report's comparison columns, from the runs' summary.json files alone and the
    formulas: d over the (seed, fold) pairs; the mean of the fold means; its variance the folds'
    part (1/k + rho) var(fold means) plus the seeds' part var(seed means)/r, Satterthwaite's df;
    the t-test and the Bayesian correlated t-test's posterior with that SE."""
    from scipy import stats

    runs: dict[str, dict[tuple[int, int], dict]] = {}
    for path in sweep.rglob("summary.json"):
        s = json.loads(path.read_text())
        variant = ",".join(t for t in path.parent.parent.name.split(",") if not t.startswith("seed="))
        runs.setdefault(variant, {})[(s["seed"], s["fold"])] = s
    reference = runs.pop("data.limit=64,data.n_records=64,debug=smoke")
    out = {}
    for variant, mine in runs.items():
        keys = sorted(set(mine) & set(reference))
        d = {k: mine[k]["challenge_score"] - reference[k]["challenge_score"] for k in keys}
        rho = np.mean([r[k]["n_val"] / r[k]["n_train"] for k in keys for r in (mine, reference)])
        folds = sorted({f for _, f in keys})
        seeds = sorted({s for s, _ in keys})
        means = np.array([np.mean([d[(s, f)] for s, ff in keys if ff == f]) for f in folds])
        by_seed = np.array([np.mean([d[(s, f)] for ss, f in keys if ss == s]) for s in seeds])
        n, r = len(means), len(seeds)
        v_fold = (1 / n + rho) * means.var(ddof=1)  # Nadeau & Bengio over the fold means
        v_seed = by_seed.var(ddof=1) / r  # each seed's effect, shared by its folds
        se = np.sqrt(v_fold + v_seed)
        df = (v_fold + v_seed) ** 2 / (v_fold**2 / (n - 1) + v_seed**2 / (r - 1))
        t = means.mean() / se
        posterior = stats.t(df, loc=means.mean(), scale=se)
        half = stats.t.ppf(0.975, df) * se
        naive = np.array(list(d.values()))
        out[variant] = {
            "delta": means.mean(), "rho": rho, "delta_se": se, "t_corrected": t, "df": df,
            "p_corrected": 2 * stats.t.sf(abs(t), df),
            "delta_ci_low": means.mean() - half, "delta_ci_high": means.mean() + half,
            "p_worse": posterior.cdf(-rope), "p_better": posterior.sf(rope),
            "p_rope": posterior.cdf(rope) - posterior.cdf(-rope),
            "mde": (stats.t.ppf(0.975, df) + stats.t.ppf(0.8, df)) * se,
            "p_uncorrected": stats.ttest_1samp(naive, 0).pvalue,
        }
    return out


def check_page(page: str) -> None:
    """report.html stands alone: well-formed, figures embedded, no script, nothing fetched."""
    from html.parser import HTMLParser

    class Checker(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.open: list[str] = []
            self.images: list[str] = []
            self.tags: set[str] = set()

        def handle_starttag(self, tag: str, attrs: list) -> None:
            self.tags.add(tag)
            if tag == "img":
                self.images.append(dict(attrs)["src"])
            elif tag not in ("meta", "br"):
                self.open.append(tag)

        def handle_endtag(self, tag: str) -> None:
            assert self.open.pop() == tag, f"</{tag}> closes another element"

    checker = Checker()
    checker.feed(page)
    assert not checker.open and "script" not in checker.tags and "link" not in checker.tags
    assert len(checker.images) == 2 and all(src.startswith("data:image/png;base64,") for src in checker.images)
    assert "http://" not in page and "https://" not in page
    assert "Differences from the reference" in page and "verdict" in page


@pytest.mark.slow
def test_a_failed_job_leaves_the_others_finished(tmp_path: Path) -> None:
    proc = train(["-m", "model.kernel_size=3,0", *SMALL, f"output_root={tmp_path}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (good,) = tmp_path.rglob("summary.json")
    assert "model.kernel_size=3" in str(good)
    (error,) = tmp_path.rglob("error.txt")
    assert "model.kernel_size=0" in str(error.parent) and "kernel_size" in error.read_text()


@pytest.mark.slow
def test_a_job_failing_in_training_closes_its_wandb_run_as_failed(tmp_path: Path) -> None:
    proc = train(["-m", *SMALL, "+callbacks.broken._target_=builtins.dict", f"output_root={tmp_path}"],
                 tmp_path, wandb_mode="offline")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (error,) = tmp_path.rglob("error.txt")
    assert "AttributeError" in error.read_text()  # a dict is no Lightning callback: fails in fit
    assert offline_run_record(error.parent, "exit").exit_code == 1


@pytest.mark.slow
def test_submitit_local_launcher_runs_a_job(tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    proc = train(["-m", "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5", *SMALL,
                  f"output_root={tmp_path}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(list(tmp_path.rglob("summary.json"))) == 1


def test_slurm_launcher_config_requeues(compose) -> None:
    cfg = compose("hydra/launcher=slurm", hydra=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert launcher.max_num_timeout >= 1 and launcher.gpus_per_node == 1


def test_reference_from_overrides_and_statistics() -> None:
    # seed is a repetition, not part of what a variant is compared on
    assert split_overrides([]) == ((), True)
    assert split_overrides(["+trick=[a,b]", "seed=1", "fold=3", "threads=2"]) == ((), False)
    assert split_overrides(["+trick=[]", "seed=1", "optim.lr=0.01"]) == (("optim.lr=0.01",), True)
    assert split_overrides(["without=dropout", "experiment=dsail2020"]) == ((), False)
    assert split_overrides(["data.path=/a/b", "data=folder"])[0][0].startswith("data.path=b-")
    assert without_seed("+trick=se,debug=smoke,seed=3") == "+trick=se,debug=smoke"
    assert without_seed("seed=1") == "default" and without_seed("data.sources=[a,b],seed=0") == "data.sources=[a,b]"
    # Holm: sorted p times (m - rank), made monotone, capped at 1; NaN left out
    assert holm([0.01, 0.04, 0.03, float("nan")]) == pytest.approx([0.03, 0.06, 0.06, float("nan")], nan_ok=True)
    assert holm([0.5, 0.6]) == [1.0, 1.0]


def test_config_hash_ignores_settings_that_do_not_change_the_result(compose) -> None:
    from ecgtricks.runs.rundir import config_hash

    def digest(*overrides: str) -> str:
        return config_hash(compose(*overrides))

    plain = digest()
    assert digest("num_workers=4", "data.workers=8", "data.cache_dir=/elsewhere", "trainer.enable_progress_bar=false") == plain
    assert digest("seed=1") != plain and digest("data.n_records=600") != plain


def test_crossfit_tunes_each_fold_on_the_others_only(tmp_path: Path) -> None:
    from ecgtricks.reporting.runs import collect, crossfit_scores
    from ecgtricks.runs.modeldir import META, OOF
    from ecgtricks.scoring import metrics
    from ecgtricks.scoring.postprocess import apply_thresholds, tune_thresholds

    rng = np.random.default_rng(0)
    data = {}
    for fold in range(3):
        y = rng.random((60, 24)) < 0.15
        p = np.clip(0.5 * y + rng.random((60, 24)) * 0.6, 0, 1)
        data[fold] = (y, p)
        model = tmp_path / "demo" / "default" / f"fold{fold}" / "model"
        model.mkdir(parents=True)
        np.savez(model / OOF, labels=y, probabilities=p)
        (model / META).write_text(json.dumps({"thresholds": [0.5] * 24}))
        (model.parent / "summary.json").write_text(json.dumps(
            {"name": "demo", "fold": fold, "seed": 0, "overrides": [], "challenge_score": 0.0}))
    (group,) = collect(tmp_path)
    got = crossfit_scores(group)
    for fold, (y, p) in data.items():
        others = [f for f in data if f != fold]
        t = tune_thresholds(np.concatenate([data[f][0] for f in others]), np.concatenate([data[f][1] for f in others]))
        assert got[(0, fold)] == pytest.approx(metrics.challenge_score(y, apply_thresholds(p, t)), abs=1e-12)
    # A fold's own labels never enter its thresholds: with them flipped, fold 0 is scored with
    # the very thresholds the other folds gave before.
    t = tune_thresholds(np.concatenate([data[1][0], data[2][0]]), np.concatenate([data[1][1], data[2][1]]))
    np.savez(group.run_dirs[(0, 0)] / "model" / OOF, labels=~data[0][0], probabilities=data[0][1])
    assert crossfit_scores(group)[(0, 0)] == pytest.approx(
        metrics.challenge_score(~data[0][0], apply_thresholds(data[0][1], t)), abs=1e-12)
