"""Datasets over a cache and the LightningDataModule that picks a cross-validation fold.

Training batches come from the memory-mapped cache through a DataLoader (the default), or, with
``data.on_device=true``, from a copy of the training records on the training device, gathered
there (:class:`DeviceCropBatches`); both give identical batches for the same seed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ecgtricks.data.cache import ECGCache, prepare_cache
from ecgtricks.data.folds import load_or_assign_folds, paper_folds, source_folds
from ecgtricks.scoring.labels import encode_labels
from ecgtricks.utils.errors import ConfigError

log = logging.getLogger(__name__)


class EpochBatches(Sampler):
    """Shuffled batches of ``n`` positions, each yielded with its own seed.

    The order and every batch's seed depend only on (seed, epoch, batch): a run resumed at an
    epoch boundary sees exactly the batches and crops of an uninterrupted run, with any number
    of loader workers. Lightning calls ``set_epoch`` before each epoch.
    """

    def __init__(self, n: int, batch_size: int, seed: int, drop_last: bool) -> None:
        self.n, self.batch_size, self.seed, self.drop_last, self.epoch = n, batch_size, seed, drop_last, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @staticmethod
    def _replica() -> tuple[int, int]:
        """(rank, world size) under DDP, else (0, 1)."""
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return torch.distributed.get_rank(), torch.distributed.get_world_size()
        return 0, 1

    def _n_batches(self) -> int:
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)

    def __len__(self) -> int:
        # Under DDP each replica takes every world-th batch of the same permutation; all get
        # the same count (a remainder is dropped), or the replicas' gradient syncs would hang.
        _, world = self._replica()
        return self._n_batches() // world if world > 1 else self._n_batches()

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        rank, world = self._replica()
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
        for b in range(rank, len(self) * world, world):
            rows = order[b * self.batch_size : (b + 1) * self.batch_size]
            yield int(np.random.SeedSequence([self.seed, self.epoch, b]).generate_state(1)[0]), rows


class CropBatches(Dataset):
    """Training batches: a random fixed-length window per record, zero-padded when shorter.

    Indexed by ``(seed, rows)`` from ``EpochBatches`` (with ``batch_size=None``), so a batch is
    one vectorised gather from the cache and its crops are reproducible.
    """

    def __init__(self, cache: ECGCache, indices: np.ndarray, targets: np.ndarray, window: int) -> None:
        self.cache, self.indices, self.targets, self.window = cache, indices, targets, window
        self.starts, self.lengths = cache.offsets[indices], cache.lengths[indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, batch: tuple[int, Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        seed, rows = batch
        rows = np.asarray(rows)
        lengths = self.lengths[rows]
        slack = np.maximum(lengths - self.window, 0) + 1
        shift = np.random.default_rng(seed).integers(0, slack)
        takes = np.minimum(lengths, self.window)
        x = self.cache.windows(self.starts[rows] + shift, takes, self.window)
        return torch.from_numpy(x), torch.from_numpy(self.targets[rows]), torch.from_numpy(takes)


def records_on_device(cache: ECGCache, indices: np.ndarray, device: torch.device | str,
                      chunk_samples: int = 1 << 20) -> tuple[torch.Tensor, np.ndarray]:
    """The signals of records ``indices`` as one (samples x leads) float32 tensor on ``device``,
    one record after another, and each record's first sample in it.

    Runs of consecutive records are contiguous in the cache, so they are copied as whole slices
    of the memory map, at most ``chunk_samples`` samples (48 MiB for 12 leads) at a time: host
    memory stays bounded whatever the size of the set.
    """
    indices = np.asarray(indices, dtype=np.int64)
    lengths = cache.lengths[indices]
    starts = np.zeros(len(indices), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    out = torch.empty((int(lengths.sum()), cache.signals.shape[1]), dtype=torch.float32, device=device)
    breaks = np.flatnonzero(np.diff(indices) != 1) + 1
    for run in np.split(np.arange(len(indices)), breaks):
        if not len(run):
            continue
        source, dest = int(cache.offsets[indices[run[0]]]), int(starts[run[0]])
        n = int(lengths[run].sum())
        for a in range(0, n, chunk_samples):
            b = min(n, a + chunk_samples)
            out[dest + a : dest + b] = torch.from_numpy(np.array(cache.signals[source + a : source + b]))
    return out, starts


class DeviceCropBatches(Dataset):
    """:class:`CropBatches` gathered on the device (``data.on_device``): the training records are
    one tensor there (:func:`records_on_device`), and a batch is one indexed gather of its
    windows, zero-padded past each record's end -- no loader worker, no copy of signals per step.

    The crop offsets are drawn on the host from the batch's seed exactly as :class:`CropBatches`
    draws them (a few integers), so with the same ``(seed, rows)`` the two give identical tensors;
    rows and offsets reach the device in one small non-blocking copy.
    """

    def __init__(self, cache: ECGCache, indices: np.ndarray, targets: np.ndarray, window: int,
                 device: torch.device | str) -> None:
        self.device, self.window = torch.device(device), window
        self.lengths = cache.lengths[indices]
        self.signals, starts = records_on_device(cache, indices, self.device)
        self.starts = torch.from_numpy(starts).to(self.device)
        self.device_lengths = torch.from_numpy(self.lengths).to(self.device)
        self.targets = torch.from_numpy(np.ascontiguousarray(targets)).to(self.device)
        self.steps = torch.arange(window, device=self.device)
        self.last = self.signals.shape[0] - 1

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, batch: tuple[int, Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        seed, rows = batch
        rows = np.asarray(rows, dtype=np.int64)
        slack = np.maximum(self.lengths[rows] - self.window, 0) + 1
        shift = np.random.default_rng(seed).integers(0, slack)  # as CropBatches draws them
        plan = torch.from_numpy(np.stack([rows, shift.astype(np.int64)]))
        if self.device.type == "cuda":
            plan = plan.pin_memory()  # so the copy below does not wait for the device
        rows_d, shift_d = plan.to(self.device, non_blocking=True)
        takes = self.device_lengths[rows_d].clamp(max=self.window)
        positions = ((self.starts[rows_d] + shift_d)[:, None] + self.steps).clamp_(max=self.last)
        inside = (self.steps < takes[:, None])[:, :, None]  # (B, window, 1)
        x = torch.where(inside, self.signals[positions], 0.0)  # (B, window, leads)
        return x.transpose(1, 2).contiguous(), self.targets[rows_d], takes


class WholeRecordBatches(Dataset):
    """Evaluation batches of whole records, zero-padded to the batch's longest (``lengths`` mask it)."""

    def __init__(self, cache: ECGCache, indices: np.ndarray, targets: np.ndarray) -> None:
        self.cache, self.indices, self.targets = cache, indices, targets
        self.starts, self.lengths = cache.offsets[indices], cache.lengths[indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, rows: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rows = np.asarray(rows)
        lengths = self.lengths[rows]
        x = self.cache.windows(self.starts[rows], lengths, int(lengths.max()))
        return torch.from_numpy(x), torch.from_numpy(self.targets[rows]), torch.from_numpy(lengths)


def length_sorted_batches(lengths: np.ndarray, batch_size: int, max_samples: int | None = None) -> list[list[int]]:
    """Batches of similar length, so padding (and wasted compute) stays small. With
    ``max_samples``, a batch also holds at most that many padded samples per lead: long records
    (30-minute INCART) come in smaller batches, down to one, so memory stays bounded."""
    order = np.argsort(lengths, kind="stable")
    sorted_lengths = np.asarray(lengths)[order]
    batches, start, counts = [], 0, np.arange(1, batch_size + 1)
    while start < len(order):
        size = min(batch_size, len(order) - start)
        if max_samples is not None:  # padded to the longest, which is the last (sorted)
            fits = counts[:size] * sorted_lengths[start : start + size] <= max_samples
            size = max(1, int(np.flatnonzero(fits)[-1]) + 1 if fits.any() else 1)
        batches.append(order[start : start + size].tolist())
        start += size
    return batches


class ECGDataModule(pl.LightningDataModule):
    def __init__(
        self,
        data_cfg: Any,
        preprocess_cfg: Any,
        *,
        fold: int = 0,
        batch_size: int = 128,
        eval_batch_size: int | None = None,
        window_s: float = 10.0,
        num_workers: int = 0,
        pin_memory: bool = False,
        seed: int = 0,
        split: str = "kfold",
        split_file: str | None = None,
        on_device: bool = False,
        cache: ECGCache | None = None,
    ) -> None:
        super().__init__()
        self.split, self.held_out = split, None  # split and fold were checked with the config
        self.split_file = split_file
        self.data_cfg, self.preprocess_cfg, self.fold = data_cfg, preprocess_cfg, fold
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size or batch_size
        self.window_s, self.num_workers = window_s, num_workers
        self.train_unlabelled = bool(data_cfg.get("train_unlabelled", False))
        self.seed = seed
        self.pin_memory = pin_memory  # page-locked batches: faster, asynchronous copies to a GPU
        # Training batches gathered on the trainer's device from a copy of the records there.
        self.on_device = on_device
        self._device_batches: DeviceCropBatches | None = None
        self._given_cache = cache  # a cache built elsewhere (benchmarks); else the config's
        self.cache: ECGCache | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.cache is not None:
            return
        cache = self._given_cache or prepare_cache(self.data_cfg, self.preprocess_cfg)
        if cache.fs is None:
            raise ConfigError("records have different sampling rates: set preprocess.resample.fs")
        # The edition's classes (2020: 24, 2021: 26), as its scorer encodes them.
        targets = encode_labels(cache.labels, edition=int(self.data_cfg.get("edition", 2020)))
        if self.split == "leave_one_source_out":
            folds, self.sources = source_folds(cache.sources)
            if not 0 <= self.fold < len(self.sources):
                raise ConfigError(
                    f"fold={self.fold} is outside 0..{len(self.sources) - 1}: split=leave_one_source_out "
                    f"has one fold per source {self.sources}"
                )
            self.held_out = self.sources[self.fold]
        elif self.split == "dsail2020":
            folds = paper_folds(self.split_file, cache.names)
            unnamed = [n for n, f in zip(cache.names, folds, strict=True) if f < 0]
            if unnamed:
                log.warning("%d records are not in the paper's split %s and are left out: %s%s", len(unnamed),
                            self.split_file, ", ".join(unnamed[:5]), " ..." if len(unnamed) > 5 else "")
        else:
            folds = load_or_assign_folds(
                cache.directory.parent / "folds", cache.names, targets,
                int(self.data_cfg.n_folds), int(self.data_cfg.fold_seed),
            )
        val = np.flatnonzero(folds == self.fold)
        train = np.flatnonzero((folds != self.fold) & (folds >= 0))
        if not self.train_unlabelled:
            # Records with no scored label carry no positive target; the baseline leaves them out.
            train = train[targets[train].any(axis=1)]
        self.cache, self.targets = cache, targets.astype(np.float32)
        self.train_idx, self.val_idx = train, val
        self.window = int(round(self.window_s * cache.fs))
        log.info(
            "cache %s: %d records (%d skipped), fold %d: %d train, %d val",
            cache.directory, len(cache), cache.manifest["n_skipped"], self.fold, len(train), len(val),
        )

    def train_dataloader(self) -> DataLoader:
        batches = EpochBatches(len(self.train_idx), self.batch_size, self.seed,
                               drop_last=len(self.train_idx) > self.batch_size)
        if self.on_device:
            return self._device_loader(batches)
        ds = CropBatches(self.cache, self.train_idx, self.targets[self.train_idx], self.window)
        return self._loader(ds, batches)

    def training_device(self) -> torch.device:
        """The device training runs on: the trainer's (each replica's own under DDP), else the CPU."""
        trainer = getattr(self, "trainer", None)
        return trainer.strategy.root_device if trainer is not None else torch.device("cpu")

    def _device_loader(self, batches: EpochBatches) -> DataLoader:
        device = self.training_device()
        if self._device_batches is None or self._device_batches.device != device:
            self._device_batches = None  # free the previous copy first
            self._device_batches = DeviceCropBatches(
                self.cache, self.train_idx, self.targets[self.train_idx], self.window, device)
            log.info("training records on %s: %.2f GiB", device,
                     self._device_batches.signals.numel() * 4 / 2**30)
        # The main process gathers on the device: workers would only add copies.
        return DataLoader(self._device_batches, sampler=batches, batch_size=None, num_workers=0)

    def val_dataloader(self) -> DataLoader:
        ds = WholeRecordBatches(self.cache, self.val_idx, self.targets[self.val_idx])
        # As much memory as a batch of one-minute records, whatever the lengths.
        budget = self.eval_batch_size * int(60 * self.cache.fs)
        return self._loader(ds, length_sorted_batches(self.cache.lengths[self.val_idx], self.eval_batch_size, budget))

    def _loader(self, ds: Dataset, batches: Any) -> DataLoader:
        # batch_size=None: the sampler yields whole batches and the dataset gathers each at once.
        return DataLoader(
            ds, sampler=batches, batch_size=None, num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0, pin_memory=self.pin_memory,
        )
