"""``hydra/launcher=slurm``: hydra-submitit-launcher's SLURM launcher, with job states that do
not need SLURM's accounting and a sweep that outlives a job ended from outside.

* **Job states**: submitit asks ``sacct``. Where SLURM keeps no accounting database (a small or
  local cluster: ``scripts/slurm-local.sh``) sacct fails at every poll, each job's state stays
  unknown, and a job that ends without a result -- cancelled, killed at its time limit -- is
  waited for forever. :class:`._squeue.SqueueWatcher` says so once and reads the states from
  ``squeue`` (SLURM lists an ended job for ``MinJobAge`` seconds; one it no longer lists has ended).
* **A job ended from outside** (``scancel``, the time limit after its requeues, a node failure)
  is named on stderr with its overrides and state, and the sweep waits for the others, as for a
  job that fails (``ecgtricks.train`` writes its ``error.txt`` and returns NaN); the report
  names the runs a variant lacks.

Preemption and the time limit are submitit's: ``--signal=USR2@signal_delay_s`` asks SLURM for
USR2 before the limit, submitit's handler requeues the job (at most ``max_num_timeout`` times
for time-outs; preemptions do not count) and the requeued job resumes from its ``last.ckpt``
(``ecgtricks.runs.rundir``). Lightning's own SLURM auto-requeue is off
(``ecgtricks.training.fit``), so exactly one mechanism acts on the signal; the ``scontrol
requeue`` it runs is kept from being killed by the requeue itself (:mod:`._requeue`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import (
    SlurmLauncher as _SubmititSlurmLauncher,
)
from omegaconf import OmegaConf

log = logging.getLogger("ecgtricks.launch")


class SlurmLauncher(_SubmititSlurmLauncher):
    """hydra-submitit-launcher's ``SlurmLauncher`` reading job states from squeue when sacct
    fails, and going on when a job ends without a result."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        import submitit
        from submitit.core.utils import FailedJobError, UncompletedJobError
        from submitit.slurm.slurm import SlurmJob

        from ._squeue import GONE, SqueueWatcher

        assert self.config is not None and job_overrides
        if not isinstance(SlurmJob.watcher, SqueueWatcher):
            SlurmJob.watcher = SqueueWatcher()
        # As the plugin's launch(): the executor's own keys, then the queue's parameters.
        executor = submitit.AutoExecutor(cluster=self._EXECUTOR, folder=self.params["submitit_folder"],
                                         slurm_max_num_timeout=self.params["max_num_timeout"])
        base = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(**{
            key if key in base else f"{self._EXECUTOR}_{key}": value
            for key, value in self.params.items() if key not in ("submitit_folder", "max_num_timeout")
        })
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        log.info("submitting %d jobs to SLURM; sweep output dir %s", len(job_overrides), sweep_dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        if "mode" in self.config.hydra.sweep:
            sweep_dir.chmod(int(str(self.config.hydra.sweep.mode), 8))
        jobs_args = []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            log.info("\t#%d : %s", idx, " ".join(filter_overrides(overrides)))
            jobs_args.append((list(overrides), "hydra.sweep.dir", idx, f"job_id_for_{idx}", Singleton.get_state()))
        jobs = executor.map_array(self, *zip(*jobs_args, strict=True))
        returns = []
        for job, overrides in zip(jobs, job_overrides, strict=True):
            try:
                returns.append(job.results()[0])
                continue
            except FailedJobError:  # raised outside the run (a run writes its own error.txt)
                state, what, log_file = "FAILED", "raised an exception", job.paths.stderr
            except UncompletedJobError:
                state, what, log_file = job.state, "ended without a result", job.paths.stdout
                if state == GONE:
                    state = f"{GONE} (gone from squeue, cancelled before it started or ended long ago)"
            print(f"{state}: SLURM job {job.job_id} ({' '.join(filter_overrides(overrides))}) {what}; "
                  f"the others go on (its log: {log_file})", file=sys.stderr)
            returns.append(JobReturn(overrides=list(overrides), status=JobStatus.COMPLETED,
                                     _return_value=float("nan")))  # as a failed run's
        return returns

    def __call__(self, *args: Any, **kwargs: Any) -> JobReturn:
        """One job, on the cluster: submitit's requeue made safe from its own SIGTERM first."""
        from ._requeue import harden_requeue

        harden_requeue()
        return super().__call__(*args, **kwargs)

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        """What submitit requeues on the pre-timeout or preemption signal: this job again,
        which resumes from its run directory's ``last.ckpt``."""
        log.info("requeueing this job: it resumes from its last checkpoint")
        return super().checkpoint(*args, **kwargs)
