"""Run directories: what names them, and that no run deletes, overwrites or races another."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ecgtricks.runs import rundir

SMOKE = ["debug=smoke", "data.n_records=64", "data.limit=64", "fold=0"]


def train(args: list[str], cwd: Path, *, multirun: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "-m", "ecgtricks.train", *(["-m"] if multirun else []), *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file's size and mtime, but the lock's (bookkeeping: who holds the directory)."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != rundir.LOCK}


# --------------------------------------------------------------------------- names and hashes


def _leaves(node: object, prefix: str = "") -> list[tuple[str, object]]:
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in _leaves(v, f"{prefix}{k}.")]
    return [(prefix[:-1], node)]


def _others(value: object) -> list[str]:
    """Other values for a key, to try in turn until one fits the schema."""
    if isinstance(value, bool):
        return [str(not value).lower()]
    if isinstance(value, int | float):
        return [str(value * 2 + 1), str(value // 2)]  # leads=12: 25 is no lead set, 6 is
    if isinstance(value, list):
        return ["[" + ",".join(map(str, value[:-1] or [1])) + "]"]
    if value is None:
        return ["7", "[x]", "{type: scale, method: robust}"]
    from ecgtricks.runs import config

    choices = [c.value for enum in config.Choice.__subclasses__() for c in enum if c.value != value]
    return [f"{value}x", *choices]


def test_one_list_names_directories_and_hashes(compose) -> None:
    """Every config key, changed on the command line: it leaves the variant and the hash alone
    exactly when it is a non-result key (``fold`` names its own level of the path; ``data.path``
    appears as its dataset label). The directory name and the config hash cannot drift apart."""
    base = compose()
    base_hash = rundir.config_hash(base)
    assert rundir.variant_name([], None) == "default"
    leaves = [(k, v) for k, v in _leaves(OmegaConf.to_container(base, resolve=True, enum_to_str=True)) if v != {}]
    assert len(leaves) > 60
    for key, value in leaves:
        for other in _others(value):
            override = f"{key}={other}"
            try:
                cfg = compose(override)
                rundir.config_hash(cfg)  # resolves every interpolation (leads -> data.leads)
                break
            except Exception:  # not a value of this key's type, choices or resolvers: try the next
                continue
        else:
            raise AssertionError(f"no other value composes for {key}")
        variant = rundir.variant_name([override], OmegaConf.select(cfg, "data.path"))
        non_result = not rundir.is_result_key(key)
        assert (rundir.config_hash(cfg) == base_hash) == non_result, key
        assert (variant == "default") == (non_result or key == "fold"), (key, variant)
    assert not rundir.is_result_key("logger.project") and rundir.is_result_key("loggers")


def test_dataset_label_is_readable_and_tells_folders_apart(tmp_path: Path) -> None:
    a, b = tmp_path / "one" / "data", tmp_path / "two" / "data"
    assert rundir.dataset_label(a).startswith("data-") and rundir.dataset_label(a) != rundir.dataset_label(b)
    assert rundir.variant_name(["data=folder", f"data.path={a}", "+trick=wide"], str(a)) == (
        f"+trick=wide,data.path={rundir.dataset_label(a)},data=folder"
    )
    os.chdir(tmp_path / ".")
    (tmp_path / "one").mkdir()
    assert rundir.dataset_label("one/data") == rundir.dataset_label(a)  # relative = absolute


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def datasets(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("datasets")
    a, b = root / "A", root / "B"
    for folder, prefixes in ((a, ("A", "E", "HR")), (b, ("Q", "S", "JS"))):
        folder.mkdir()
        for path in samples_dir.iterdir():
            if path.name.startswith(prefixes) and not path.name.startswith("HR0600"):
                os.symlink(path, folder / path.name)
    return a, b


@pytest.mark.slow
def test_two_datasets_leave_two_results(tmp_path: Path, datasets: tuple[Path, Path]) -> None:
    for folder in datasets:
        proc = train(["data=folder", f"data.path={folder}", "debug=smoke", "fold=0"], tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
    summaries = sorted((tmp_path / "outputs").rglob("summary.json"))
    assert len(summaries) == 2
    assert {p.parent.parent.name for p in summaries} == {
        f"data.path={rundir.dataset_label(f)},data=folder,debug=smoke" for f in datasets
    }


@pytest.mark.slow
def test_a_finished_run_of_another_config_is_refused_not_deleted(tmp_path: Path) -> None:
    args = [*SMOKE, f"output_root={tmp_path / 'out'}"]
    assert train(args, tmp_path).returncode == 0
    (summary_path,) = (tmp_path / "out").rglob("summary.json")
    run_dir = summary_path.parent
    summary = json.loads(summary_path.read_text())
    summary["config_hash"] = "0123456789abcdef"  # as if written by another config
    summary_path.write_text(json.dumps(summary))
    before = snapshot(run_dir)

    refused = train(args, tmp_path)
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert str(run_dir) in line and "0123456789abcdef" in line and "force=true" in line
    assert snapshot(run_dir) == before

    sweep = train(args, tmp_path, multirun=True)  # a sweep goes on, writes nothing there
    assert sweep.returncode == 0 and "REFUSED" in sweep.stderr
    assert snapshot(run_dir) == before

    assert train([*args, "force=true"], tmp_path).returncode == 0
    assert json.loads(summary_path.read_text())["config_hash"] != "0123456789abcdef"


@pytest.mark.slow
def test_an_interrupted_run_of_another_config_is_set_aside(tmp_path: Path) -> None:
    args = [*SMOKE, f"output_root={tmp_path / 'out'}"]
    run_dir = tmp_path / "out" / "baseline" / "data.limit=64,data.n_records=64,debug=smoke" / "fold0"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "last.ckpt").write_bytes(b"an older config's checkpoint")
    (run_dir / "config_hash.txt").write_text("feedfacefeedface\n")
    proc = train(args, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (run_dir / "summary.json").is_file()
    aside = run_dir / "stale-feedfacefeedface" / "checkpoints" / "last.ckpt"
    assert aside.read_bytes() == b"an older config's checkpoint"


@pytest.mark.slow
def test_a_second_process_stops_without_touching_the_run(tmp_path: Path) -> None:
    args = [*SMOKE, f"output_root={tmp_path / 'out'}"]
    run_dir = tmp_path / "out" / "baseline" / "data.limit=64,data.n_records=64,debug=smoke" / "fold0"
    with rundir.claim(run_dir):  # this test process is "the first run"
        before = snapshot(run_dir)
        second = train(args, tmp_path)
        assert second.returncode == 2
        (line,) = second.stderr.strip().splitlines()
        assert f"process {os.getpid()}" in line and str(run_dir) in line
        sweep = train(args, tmp_path, multirun=True)
        assert sweep.returncode == 0 and "IN PROGRESS" in sweep.stderr
        assert snapshot(run_dir) == before and not (run_dir / "error.txt").exists()
        assert f"process {os.getpid()}" in (run_dir / rundir.LOCK).read_text()
    # The holder is gone (its lock released, its note left behind): the next run takes over.
    assert "process" in (run_dir / rundir.LOCK).read_text()
    proc = train(args, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (run_dir / "summary.json").is_file()


def test_a_variant_name_too_long_for_a_file_system_is_shortened_and_keeps_its_seed() -> None:
    """Names past NAME_MAX (255 bytes) cannot be directories: the start of the name, ``~`` and a
    digest of the whole; the seed stays visible, so repetitions still pool in the report."""
    from ecgtricks.reporting.runs import without_seed
    from ecgtricks.runs.rundir import MAX_NAME, variant_name

    long = [f"model.option_{i}={i}" for i in range(30)]
    names = {seed: variant_name([*long, f"seed={seed}"], None) for seed in (0, 1)}
    assert all(len(n.encode()) <= MAX_NAME for n in names.values())
    assert names[0].endswith(",seed=0") and "~" in names[0]
    assert without_seed(names[0]) == without_seed(names[1])
    assert variant_name([*long[:-1], "model.option_29=x", "seed=0"], None) != names[0]  # the digest tells them apart
    assert variant_name(["+trick=squeeze_excite", "seed=1"], None) == "+trick=squeeze_excite,seed=1"  # short: as before


def test_a_name_that_fits_name_max_keeps_its_old_name() -> None:
    """A finished run's directory is found by its name: every name a file system accepts (up to
    255 bytes) must stay exactly as it was before shortening existed; only 256 bytes and more change."""
    from ecgtricks.runs.rundir import MAX_NAME, variant_name

    assert MAX_NAME == 255
    fits = "model.x=" + "a" * (255 - len("model.x=") - len(",seed=0"))
    assert variant_name([fits, "seed=0"], None) == f"{fits},seed=0"
    assert len(f"{fits},seed=0".encode()) == 255
    too_long = variant_name([fits + "a", "seed=0"], None)
    assert "~" in too_long and len(too_long.encode()) <= 255
