"""submitit's requeue, made safe from its own SIGTERM (in the job, before the run starts).

On the pre-timeout or preemption signal submitit's handler runs ``scontrol requeue JOB`` and
waits for it. SLURM answers the requeue by terminating the job step, every process in it: when
scontrol has not exited yet (a busy controller) it is killed too, ``check_call`` raises, and the
exception surfaces inside the training loop -- where a sweep job turns it into a failed run that
returns at once while SLURM restarts the job behind the launcher's back. scontrol here ignores
SIGTERM (an ignored signal stays ignored across exec); SIGKILL still ends it after KillWait.
"""

from __future__ import annotations

import signal
import subprocess

from submitit.core import logger
from submitit.slurm.slurm import SlurmJobEnvironment


def _requeue(self: SlurmJobEnvironment, countdown: int) -> None:
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)  # inherited by scontrol
    try:
        subprocess.check_call(["scontrol", "requeue", self.job_id], timeout=60)
    finally:
        signal.signal(signal.SIGTERM, previous)
    logger.get_logger().info(f"Requeued job {self.job_id} ({countdown} remaining timeouts)")


def harden_requeue() -> None:
    SlurmJobEnvironment._requeue = _requeue  # type: ignore[method-assign]
