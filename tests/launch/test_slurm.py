"""``hydra/launcher=slurm`` on a running SLURM cluster (``bash scripts/slurm-local.sh up``).

The tests marked ``slurm`` skip, naming why, where ``sinfo`` is missing or the cluster does not
answer; with ``ECGTRICKS_REQUIRE_SLURM=1`` (CI, ``.ci/run``) they fail instead. They use the
partition ``local`` that the script defines, one CPU per job.

One run is interrupted three times while the other tests run (it holds one of the two CPUs of
the local cluster; its epochs are paced with a sleep so that each interruption lands mid-run):
SLURM's own pre-timeout signal after its time limit is cut to 45 s from now (c), ``scontrol requeue``
(b), and the pre-timeout signal sent by hand, ``scancel --signal=USR2`` (d); each time the job
is requeued and resumes from ``last.ckpt``, and the run ends with the summary of an uninterrupted
run of the same config.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
PARTITION = "local"
REQUIRE = os.environ.get("ECGTRICKS_REQUIRE_SLURM") == "1"
SMALL = ["debug=smoke", "data.n_records=64", "data.limit=64", "threads=1", "logger=csv"]
LAUNCHER = ["hydra/launcher=slurm", f"hydra.launcher.partition={PARTITION}", "hydra.launcher.gpus_per_node=0",
            "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1", "hydra.launcher.timeout_min=5"]
# The interrupted run: tuned thresholds (so that they are compared), deterministic, paced.
# SLURM checks time limits about every 30 s: the run must outlast that after its limit is cut.
EPOCHS, PACE_S = 20, 2.0
PACED = [*SMALL, "+trick=threshold_tuning", f"trainer.max_epochs={EPOCHS}", "trainer.deterministic=true",
         "+callbacks.pace._target_=pacing.Pace", f"+callbacks.pace.seconds={PACE_S}"]
SIGNAL_DELAY_S = 50  # --signal=USR2@50: with the end 45 s away the signal is due at once
CUT_TO_S = 45  # SLURM checks limits about every 30 s: the signal comes before the end
WAIT_S = 150


def _run(*cmd: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout)


def cluster_problem() -> str | None:
    """Why the SLURM tests cannot run here, or None."""
    hint = "(bash scripts/slurm-local.sh up starts a local cluster)"
    if shutil.which("sinfo") is None or shutil.which("srun") is None:
        return f"no SLURM here: sinfo or srun not found {hint}"
    try:
        ping = _run("scontrol", "ping")
        if "is UP" not in ping.stdout:
            said = next((line for line in (ping.stdout + ping.stderr).splitlines() if line.strip("* ")), "")
            return f"the SLURM controller does not answer ({said.strip()}) {hint}"
        partitions = _run("sinfo", "-h", "-o", "%P").stdout.replace("*", "").split()
        if PARTITION not in partitions:
            return f"SLURM has no partition {PARTITION!r} (has {partitions}) {hint}"
        job = _run("srun", "-N1", "-n1", f"--partition={PARTITION}", "--time=1", "--quiet", "true", timeout=60)
        if job.returncode != 0:
            return f"srun -N1 true failed: {job.stderr.strip()} {hint}"
    except subprocess.TimeoutExpired as exc:
        return f"SLURM did not answer within {exc.timeout:.0f} s: {' '.join(exc.cmd)} {hint}"
    return None


@pytest.fixture(scope="module")
def cluster() -> None:
    problem = cluster_problem()
    if problem is not None:
        if REQUIRE:
            pytest.fail(f"ECGTRICKS_REQUIRE_SLURM=1 but {problem}", pytrace=False)
        pytest.skip(problem)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("slurm")
    yield root
    # A failed test leaves no job behind on the cluster (a requeued job would start again).
    jobs = sorted({p.name.split("_")[0] for p in root.glob("*/.submitit/*") if re.fullmatch(r"\d+(_\d+)?", p.name)})
    if jobs and shutil.which("scancel"):
        _run("scancel", *jobs)


def environment(workdir: Path) -> dict[str, str]:
    """The jobs inherit it (sbatch exports the environment): a cache of their own, no W&B, and
    the pacing callback importable."""
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "WANDB_MODE": "disabled", "PYTHONWARNINGS": "ignore",
            "ECGTRICKS_CACHE": str(workdir / "cache"), "PYTHONPATH": path}


def train(workdir: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ecgtricks.train", *args], cwd=workdir, env=environment(workdir),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def squeue_state(job_id: str) -> str:
    return _run("squeue", "-h", "--states=all", "-o", "%T", "-j", job_id).stdout.strip()


def new_jobs(submitit_dir: Path, before: set[str]) -> list[str]:
    """Job ids (``123`` or ``123_4``) submitted since ``before`` was listed."""
    if not submitit_dir.is_dir():
        return []
    return sorted(p.name for p in submitit_dir.iterdir() if re.fullmatch(r"\d+(_\d+)?", p.name) and p.name not in before)


def wait_for(what: str, condition: Any, timeout: float = WAIT_S, every: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"waited {timeout:.0f} s for {what}")


def comparable(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary without what differs between two runs of one config: times, speeds, the
    overrides (output_root) and the cache's place."""
    drop = {"wall_time_s", "train_records_per_s", "first_step_s", "val_seconds", "overrides", "cache"}
    return {k: v for k, v in summary.items() if k not in drop}


# ------------------------------------------------------------------ the interrupted run (b, c, d)


class InterruptedRun:
    """Starts the reference run (no SLURM) and the same config as a one-job SLURM sweep, then,
    in a thread, interrupts the job three times, each once it has trained an epoch since it last
    (re)started: ``scontrol update EndTime=<in 45 s>`` (its time limit cut: SLURM then sends the
    pre-timeout signal itself; the limit is put back to 5 minutes once the job is requeued, as each
    start of a real job gets its whole ``timeout_min``), ``scontrol requeue``,
    ``scancel --signal=USR2``."""

    def __init__(self, workdir: Path) -> None:
        self.workdir, self.out, self.ref = workdir, workdir / "interrupted", workdir / "reference"
        self.started = time.monotonic()
        self.reference = train(workdir, *PACED, f"output_root={self.ref}")
        self.sweep = train(workdir, "-m", *LAUNCHER, f"hydra.launcher.signal_delay_s={SIGNAL_DELAY_S}", *PACED,
                           f"output_root={self.out}")
        self.evidence: dict[str, Any] = {"actions": []}
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._drive, daemon=True)
        self.thread.start()

    def _log(self) -> str:
        logs = list(self.out.glob("baseline/*/fold0/train.log"))
        return logs[0].read_text() if logs else ""

    def _trained_since_start(self, resumes: int) -> bool:
        """Whether the job, resumed ``resumes`` times so far, has logged an epoch since (its
        checkpoint is written right after the line, before the next epoch's paced start)."""
        parts = self._log().split("resuming from")
        return len(parts) == resumes + 1 and re.search(r"epoch \d+/\d+:", parts[-1]) is not None

    def _act(self, name: str, *cmd: str) -> None:
        time.sleep(0.5)  # the epoch's checkpoint
        done = _run(*cmd)
        self.evidence["actions"].append({"name": name, "cmd": " ".join(cmd), "rc": done.returncode,
                                         "stderr": done.stderr.strip(), "at_s": round(time.monotonic() - self.started, 1),
                                         "epochs_logged": len(re.findall(r"epoch \d+/\d+:", self._log()))})
        assert done.returncode == 0, f"{' '.join(cmd)}: {done.stderr}"

    def _requeues(self) -> int:
        return len(submitit_lines(self.stdout.read_text(), "Requeued job")) if self.stdout.is_file() else 0

    def _drive(self) -> None:
        try:
            (job,) = wait_for("the job's submission", lambda: new_jobs(self.out / ".submitit", set()))
            self.evidence["job"] = job
            self.stdout = self.out / ".submitit" / job / f"{job}_0_log.out"
            # c: SLURM's time limit, cut to CUT_TO_S from now: the signal is due at once
            wait_for("an epoch of the first start", lambda: self._trained_since_start(0))
            end = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() + 0.5 + CUT_TO_S))
            self._act("time_limit", "scontrol", "update", f"JobId={job}", f"EndTime={end}")
            wait_for("the time limit's requeue", lambda: self._requeues() == 1)
            self.evidence["time_limit_signal_after_s"] = round(
                time.monotonic() - self.started - self.evidence["actions"][-1]["at_s"], 1)
            wait_for("the time limit put back",
                     lambda: _run("scontrol", "update", f"JobId={job}", "TimeLimit=5").returncode == 0)
            self.evidence["limit_restored_in_state"] = squeue_state(job)
            # b: requeued by hand
            wait_for("an epoch after the first resume", lambda: self._trained_since_start(1))
            self._act("requeue", "scontrol", "requeue", job)
            self.evidence["state_after_requeue"] = wait_for(
                "the requeued job pending", lambda: (s := squeue_state(job)) in ("PENDING", "REQUEUED") and s)
            # d: the pre-timeout signal, sent by hand
            wait_for("an epoch after the second resume", lambda: self._trained_since_start(2))
            self._act("usr2", "scancel", "--signal=USR2", job)
            self.evidence["sweep"] = finish(self.sweep, timeout=WAIT_S * 2)
            self.evidence["reference"] = finish(self.reference, timeout=WAIT_S)
            # the sweep returns on the job's result; SLURM has the job end a moment later
            wait_for("the job's end", lambda: squeue_state(job) not in ("RUNNING", "COMPLETING"), timeout=60)
            self.evidence["scontrol"] = _run("scontrol", "show", "job", job).stdout
            self.evidence["submitit_log"] = self.stdout.read_text()
            self.evidence["train_log"] = self._log()
            self.evidence["errors"] = {str(p): p.read_text() for p in self.out.rglob("error.txt")}
            self.evidence["seconds"] = round(time.monotonic() - self.started, 1)
        except BaseException as exc:  # reported by the tests
            self.error = exc
            for proc in (self.sweep, self.reference):
                if proc.poll() is None:
                    proc.kill()

    def result(self) -> dict[str, Any]:
        self.thread.join(timeout=WAIT_S * 4)
        if self.error is not None:
            raise AssertionError(f"the interrupted run did not go as planned: {self.error!r}; "
                                 f"so far: {self.evidence}") from self.error
        assert self.evidence["sweep"][0] == 0, self.evidence["sweep"][2][-3000:]
        assert not self.evidence["errors"], self.evidence["errors"]
        assert self.evidence["reference"][0] == 0, self.evidence["reference"][2][-3000:]
        return self.evidence

    def summaries(self) -> tuple[dict[str, Any], dict[str, Any], Path]:
        (got,) = self.out.rglob("summary.json")
        (want,) = self.ref.rglob("summary.json")
        return json.loads(got.read_text()), json.loads(want.read_text()), got.parent


@pytest.fixture(scope="module")
def interrupted(cluster: None, workdir: Path) -> Iterator[InterruptedRun]:
    run = InterruptedRun(workdir)
    yield run
    run.thread.join(timeout=WAIT_S * 4)


def submitit_lines(log: str, text: str) -> list[str]:
    """submitit's own lines holding ``text`` (the job's logging repeats each in Hydra's format)."""
    return [line for line in log.splitlines() if line.startswith("submitit ") and text in line]


def legs(submitit_log: str) -> list[str]:
    """The submitit log of each start of the job (it is appended to on every requeue)."""
    return submitit_log.split("Starting with JobEnvironment")[1:]


def assert_same_result(run: InterruptedRun) -> None:
    got, want, run_dir = run.summaries()
    assert got["config_hash"] == want["config_hash"]  # the same config, trained uninterrupted
    for key in ("challenge_score", "challenge_score_tuned", "auroc", "f_measure", "epochs"):
        assert got[key] == want[key], key
    assert comparable(got) == comparable(want)
    from ecgtricks.runs.modeldir import META

    thresholds = [json.loads((r / "model" / META).read_text())["thresholds"]
                  for r in (run_dir, next(run.ref.rglob("summary.json")).parent)]
    assert thresholds[0] == thresholds[1] and len(set(thresholds[0])) > 1  # tuned, and equal


# ------------------------------------------------------------------ a: a sweep, then again


@pytest.mark.slurm
@pytest.mark.slow
def test_sweep_of_tricks_by_folds_then_again_trains_nothing(interrupted: InterruptedRun, workdir: Path) -> None:
    # `interrupted` (b, c, d) starts first and runs alongside, on the cluster's other CPU.
    out = workdir / "sweep"
    args = ["-m", *LAUNCHER, "+trick=squeeze_excite,dropout", "fold=0,1", *SMALL, f"output_root={out}"]
    code, stdout, stderr = finish(train(workdir, *args))
    assert code == 0, stderr[-3000:]
    summaries = sorted(out.rglob("summary.json"))
    assert len(summaries) == 4
    assert sorted((p.parent.parent.name.split(",")[0], p.parent.name) for p in summaries) == [
        ("+trick=dropout", "fold0"), ("+trick=dropout", "fold1"),
        ("+trick=squeeze_excite", "fold0"), ("+trick=squeeze_excite", "fold1")]
    # Accounting is off on this cluster: said once, not at every poll (nor sacct's own error).
    about = [line for line in (stdout + stderr).splitlines() if "sacct" in line or "accounting" in line.lower()]
    assert len(about) <= 1, about
    assert all("job states come from squeue" in line for line in about)
    mtimes = [p.stat().st_mtime_ns for p in summaries]
    logs = sorted(out.rglob("train.log"))
    epochs_before = sum(p.read_text().count("epoch 1/1:") for p in logs)

    code, stdout, stderr = finish(train(workdir, *args))
    assert code == 0, stderr[-3000:]
    assert sum(p.read_text().count("skipping") for p in logs) == 4
    assert sum(p.read_text().count("epoch 1/1:") for p in logs) == epochs_before == 4  # trained nothing
    assert [p.stat().st_mtime_ns for p in summaries] == mtimes
    assert len([line for line in (stdout + stderr).splitlines() if "accounting" in line.lower()]) <= 1


# ------------------------------------------------------------------ e: a cancelled array task


@pytest.mark.slurm
@pytest.mark.slow
def test_cancelled_array_task_leaves_the_others_and_the_report_names_the_missing_fold(
        interrupted: InterruptedRun, workdir: Path) -> None:
    # The reference runs of test a's sweep, fold 0's task cancelled as soon as it is submitted.
    out = workdir / "sweep"
    before = set(new_jobs(out / ".submitit", set()))
    proc = train(workdir, "-m", *LAUNCHER, "fold=0,1", *SMALL, f"output_root={out}")
    (cancelled,) = wait_for("the array's submission",
                            lambda: [t for t in new_jobs(out / ".submitit", before) if t.endswith("_0")])
    assert _run("scancel", cancelled).returncode == 0
    code, stdout, stderr = finish(proc)
    assert code == 0, stderr[-3000:]
    # CANCELLED when it was running; a pending array task cancelled leaves squeue at once.
    assert re.search(rf"(CANCELLED|ENDED[^:]*): SLURM job {cancelled} \(fold=0 [^)]*\) ended without a result; "
                     "the others go on", stderr), stderr[-3000:]
    baseline = {p.parent.name for p in out.glob("baseline/data.limit=64,data.n_records=64,debug=smoke/fold*/summary.json")}
    assert baseline == {"fold1"}  # the other task finished

    report = subprocess.run([sys.executable, "-m", "ecgtricks.report", str(out), "--out", str(workdir / "report")],
                            capture_output=True, text=True, timeout=300, env=environment(workdir))
    assert report.returncode == 0, report.stderr[-3000:]
    line = "baseline/default: missing fold 0 (seed 0)"
    assert line in report.stderr  # the warning
    assert f"- {line}" in (workdir / "report" / "ablation.md").read_text()
    assert "+trick=dropout: missing" not in report.stderr + report.stdout


# ------------------------------------------------------------------ b, c, d: the interrupted run


def assert_resumed(evidence: dict[str, Any], leg: int) -> None:
    """The start after interruption ``leg`` (1-3) resumed from last.ckpt."""
    resumes = evidence["train_log"].split("resuming from")
    assert len(resumes) == 4, "three resumes"
    assert resumes[leg].lstrip().split()[0].endswith("checkpoints/last.ckpt")


@pytest.mark.slurm
@pytest.mark.slow
def test_job_requeued_mid_training_resumes_and_ends_as_an_uninterrupted_run(interrupted: InterruptedRun) -> None:
    evidence = interrupted.result()
    requeue = evidence["actions"][1]
    assert requeue["name"] == "requeue" and 1 <= requeue["epochs_logged"] < EPOCHS
    assert evidence["state_after_requeue"] in ("PENDING", "REQUEUED")
    second = legs(evidence["submitit_log"])[1]
    # SLURM's SIGTERM (the requeue), no signal handled by submitit, nothing counted as a time-out
    assert "Bypassing signal SIGTERM" in second and "Caught signal" not in second
    assert not submitit_lines(second, "Requeued job")
    assert_resumed(evidence, 2)
    assert re.search(r"Restarts=3\b", evidence["scontrol"]) and "JobState=COMPLETED" in evidence["scontrol"]
    assert_same_result(interrupted)


@pytest.mark.slurm
@pytest.mark.slow
def test_time_limit_signal_requeues_and_the_job_resumes(interrupted: InterruptedRun) -> None:
    evidence = interrupted.result()
    limit = evidence["actions"][0]
    assert limit["name"] == "time_limit" and 1 <= limit["epochs_logged"] < EPOCHS
    first = legs(evidence["submitit_log"])[0]
    # Nobody sent this start a signal: SLURM did, at most SIGNAL_DELAY_S before the cut time limit.
    assert "Caught signal SIGUSR2" in first and "this job is timed-out" in first
    job = evidence["job"]
    (requeued,) = submitit_lines(first, "Requeued job")
    assert requeued.endswith(f"Requeued job {job} (2 remaining timeouts)")
    assert evidence["time_limit_signal_after_s"] < CUT_TO_S  # requeued before the cut limit's end
    assert "TIMEOUT" not in evidence["scontrol"]
    assert "TimeLimit=00:05:00" in evidence["scontrol"] and "JobState=COMPLETED" in evidence["scontrol"]
    assert_resumed(evidence, 1)
    assert_same_result(interrupted)


@pytest.mark.slurm
@pytest.mark.slow
def test_pre_timeout_signal_is_handled_once_by_submitit_not_by_lightning(interrupted: InterruptedRun) -> None:
    evidence = interrupted.result()
    usr2 = evidence["actions"][2]
    assert usr2["name"] == "usr2" and usr2["epochs_logged"] < EPOCHS
    third = legs(evidence["submitit_log"])[2]
    job = evidence["job"]
    for line in ("Caught signal SIGUSR2", "Calling checkpoint method.", f"Requeued job {job} (1 remaining timeouts)",
                 "Exiting gracefully after preemption/timeout."):
        assert line in third, line
    assert len(submitit_lines(third, "Requeued job")) == 1 and "Job completed" not in third
    # Lightning's SLURM auto-requeue is off: it neither registered its handler nor saved an hpc checkpoint.
    everything = evidence["submitit_log"] + evidence["train_log"]
    assert "auto-requeue" not in everything
    _, _, run_dir = interrupted.summaries()
    assert not list(run_dir.rglob("hpc_ckpt_*.ckpt"))
    assert_resumed(evidence, 3)
    last = legs(evidence["submitit_log"])[3]
    assert len(submitit_lines(last, "Job completed successfully")) == 1 and "Caught signal" not in last
    assert_same_result(interrupted)


# ------------------------------------------------------------------ units (no cluster)


def test_sacct_warning_is_shown_once_and_reworded(caplog: pytest.LogCaptureFixture) -> None:
    from ecgtricks.utils.console import SacctOnce, install_sacct_filter

    logger = logging.getLogger("test.submitit")
    logger.addFilter(SacctOnce())
    message = ("Call #{} - Bypassing sacct error Command '['sacct', '-j', '4']' returned non-zero exit status 1., "
               "status may be inaccurate.")
    with caplog.at_level(logging.INFO):
        for call in range(1, 6):
            logger.warning(message.format(call))
        logger.warning("Bypassing signal SIGTERM")  # other warnings pass
    got = [r.getMessage() for r in caplog.records]
    assert got == ["SLURM accounting (sacct) is unavailable: submitit cannot read job states "
                   "(Command '['sacct', '-j', '4']' returned non-zero exit status 1.)", "Bypassing signal SIGTERM"]
    install_sacct_filter()
    install_sacct_filter()
    assert sum(isinstance(f, SacctOnce) for f in logging.getLogger("submitit").filters) == 1


def test_squeue_states_when_sacct_fails(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("submitit")
    from hydra_plugins.ecgtricks_launcher import _squeue

    calls = []

    def fake_run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
        calls.append(cmd[0])
        if cmd[0] == "sacct":
            raise subprocess.CalledProcessError(1, cmd, b"", b"Slurm accounting storage is disabled\n")
        return subprocess.CompletedProcess(cmd, 0, "7_0|RUNNING|vm\n7_1|CANCELLED|vm\n7_[2-3]|PENDING|\n"
                                                    "8|CONFIGURING|vm\n", "")

    monkeypatch.setattr(_squeue.subprocess, "run", fake_run)
    watcher = _squeue.SqueueWatcher()
    for job_id in ("7_0", "7_1", "7_2", "7_3", "8", "9"):
        watcher.register_job(job_id)
    with caplog.at_level(logging.WARNING):
        watcher.update()
        watcher.update()
    assert calls == ["sacct", "squeue", "squeue"]  # sacct asked once
    states = {j: watcher.get_state(j, mode="cache") for j in ("7_0", "7_1", "7_2", "7_3", "8", "9")}
    assert states == {"7_0": "RUNNING", "7_1": "CANCELLED", "7_2": "PENDING", "7_3": "PENDING",
                      "8": "RUNNING", "9": _squeue.GONE}  # 9: squeue no longer lists it
    assert {j for j in states if watcher.is_done(j, mode="cache")} == {"7_1", "9"}
    assert [r.getMessage() for r in caplog.records] == [
        "SLURM accounting (sacct) is unavailable (Slurm accounting storage is disabled); job states come from squeue"]
