"""Job states from ``squeue`` where ``sacct`` fails (imported when a SLURM sweep starts; the
leading underscore keeps Hydra's plugin scan, at every command's start, from importing submitit)."""

from __future__ import annotations

import logging
import subprocess
import time

from submitit.slurm.slurm import SlurmInfoWatcher

log = logging.getLogger("ecgtricks.launch")

NO_ACCOUNTING = "SLURM accounting (sacct) is unavailable"
# squeue states of a job that is still alive but that submitit's list (written for sacct's
# states) would take for ended.
_ALIVE = {"CONFIGURING": "RUNNING", "SIGNALING": "RUNNING", "STAGE_OUT": "RUNNING",
          "RESIZING": "RUNNING", "SUSPENDED": "RUNNING", "STOPPED": "RUNNING",
          "REQUEUE_HOLD": "REQUEUED", "REQUEUE_FED": "REQUEUED", "SPECIAL_EXIT": "REQUEUED",
          "RESV_DEL_HOLD": "PENDING"}
GONE = "ENDED"  # the state of a job squeue no longer lists: it ended MinJobAge seconds ago or more


class SqueueWatcher(SlurmInfoWatcher):
    """submitit's job-state watcher (``sacct``), reading ``squeue`` when sacct fails: said once,
    on the first failure, and sacct's own error message kept off the console."""

    def __init__(self, delay_s: int = 60) -> None:
        super().__init__(delay_s=delay_s)
        self.accounting: bool | None = None  # unknown until sacct answers or fails

    def update(self) -> None:
        command = self._make_command()
        if command is None:
            return
        self._num_calls += 1
        info = None
        if self.accounting is not False:
            try:
                done = subprocess.run(command, capture_output=True, check=True, timeout=60)
                info, self.accounting = self.read_info(done.stdout), True
            except (OSError, subprocess.SubprocessError) as exc:
                if self.accounting is None:  # never answered: say so once, then ask squeue
                    stderr = getattr(exc, "stderr", None)
                    reason = (stderr.decode(errors="replace").strip() if stderr else "") or str(exc)
                    log.warning("%s (%s); job states come from squeue", NO_ACCOUNTING, reason)
                    self.accounting = False
        if info is None:
            info = self.squeue()
        self._info_dict.update(info)
        self._last_status_check = time.time()
        for job_id in self._registered - self._finished:
            if self.is_done(job_id, mode="cache"):
                self._finished.add(job_id)

    def squeue(self) -> dict[str, dict[str, str]]:
        """The states of the watched jobs, read as :meth:`read_info` reads sacct's; a job squeue
        no longer lists is :data:`GONE`. Empty when squeue itself fails."""
        waiting = self._registered - self._finished
        ids = sorted({job_id.split("_")[0] for job_id in waiting})
        command = ["squeue", "--noheader", "--states=all", "--format=%i|%T|%N", f"--jobs={','.join(ids)}"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return {}
        if done.returncode != 0 and "Invalid job id" not in done.stderr:
            return {}  # the controller did not answer: nothing learnt
        info = self.read_info("JobID|State|NodeList\n" + (done.stdout if done.returncode == 0 else ""))
        for stats in info.values():
            stats["State"] = _ALIVE.get(stats["State"], stats["State"])
        for job_id in waiting:
            info.setdefault(job_id, {"JobID": job_id, "State": GONE, "NodeList": ""})
        return info
