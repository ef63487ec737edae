"""A Lightning callback that sleeps at the start of each training epoch, for the SLURM tests: a
smoke run's epoch lasts a fraction of a second, too short to interrupt a job "in epoch k of N" on
purpose. It sleeps once the previous epoch's checkpoint is written (so an interrupted job resumes
from it), changes no result (no generator is drawn) and costs no CPU. The tests' jobs import it
through PYTHONPATH (sbatch passes the environment on)."""

from __future__ import annotations

import time

import pytorch_lightning as pl


class Pace(pl.Callback):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        time.sleep(self.seconds)
