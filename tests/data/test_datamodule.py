"""Vectorised batch gathering from the cache equals reading each record alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ecgtricks.data.cache import build_cache
from ecgtricks.data.datamodule import CropBatches, EpochBatches, WholeRecordBatches
from ecgtricks.data.preprocess import build_pipeline
from ecgtricks.data.record import find_records
from ecgtricks.synth.builtin import generate_dataset


def small_cache(tmp_path: Path):
    generate_dataset(tmp_path / "data", n_records=12, seed=3)
    return build_cache(find_records(tmp_path / "data"), build_pipeline({"resample": {"fs": 250}}),
                       tmp_path / "cache", progress=False, workers=1)


def test_windows_equal_per_record_slices_including_the_end_of_the_array(tmp_path: Path) -> None:
    cache = small_cache(tmp_path)
    lengths = cache.lengths
    width = int(lengths.max()) + 7  # longer than every record: all rows are zero-padded
    idx = np.arange(len(cache))
    for w in (width, int(lengths.min()) - 5):
        takes = np.minimum(lengths, w)
        got = cache.windows(cache.offsets[idx], takes, w)
        for i in idx:  # the reference: one record at a time
            want = np.zeros((cache.signals.shape[1], w), np.float32)
            want[:, : takes[i]] = cache.signal(i)[:, : takes[i]]
            np.testing.assert_array_equal(got[i], want)


def test_crop_batches_are_windows_of_their_records(tmp_path: Path) -> None:
    cache = small_cache(tmp_path)
    targets = np.eye(len(cache), 24, dtype=np.float32)
    window = int(np.median(cache.lengths))
    ds = CropBatches(cache, np.arange(len(cache)), targets, window)
    x, y, takes = ds[(7, list(range(len(cache))))]
    assert x.shape == (len(cache), 12, window) and torch.equal(y, torch.from_numpy(targets))
    for i in range(len(cache)):
        record = cache.signal(i)
        n = int(takes[i])
        assert n == min(window, cache.lengths[i])
        # the crop is a contiguous piece of the record at some shift, zeros after it
        hits = [s for s in range(cache.lengths[i] - n + 1) if np.array_equal(record[:, s : s + n], x[i, :, :n].numpy())]
        assert hits and not x[i, :, n:].any()


def test_whole_record_batches_pad_to_the_longest(tmp_path: Path) -> None:
    cache = small_cache(tmp_path)
    ds = WholeRecordBatches(cache, np.array([3, 0, 5]), np.zeros((3, 24), np.float32))
    x, _, lengths = ds[[0, 1, 2]]
    assert x.shape[-1] == int(lengths.max())
    for row, i in enumerate([3, 0, 5]):
        np.testing.assert_array_equal(x[row, :, : lengths[row]].numpy(), cache.signal(i))
        assert not x[row, :, lengths[row] :].any()


def test_epoch_batches_depend_only_on_seed_and_epoch() -> None:
    sampler = EpochBatches(10, 4, seed=3, drop_last=False)
    sampler.set_epoch(2)
    first = [(s, r.tolist()) for s, r in sampler]
    assert len(first) == len(sampler) == 3
    assert sorted(sum((r for _, r in first), [])) == list(range(10))
    again = EpochBatches(10, 4, seed=3, drop_last=False)
    again.set_epoch(2)
    assert [(s, r.tolist()) for s, r in again] == first  # a resumed run sees the same batches
    again.set_epoch(3)
    assert [(s, r.tolist()) for s, r in again] != first
    assert len(EpochBatches(10, 4, seed=3, drop_last=True)) == 2


def test_epoch_batches_shard_evenly_under_ddp(monkeypatch) -> None:
    full = EpochBatches(23, 4, seed=1, drop_last=False)
    full.set_epoch(5)
    everything = [r.tolist() for _, r in full]
    shards = []
    for rank in range(2):
        monkeypatch.setattr(EpochBatches, "_replica", staticmethod(lambda rank=rank: (rank, 2)))
        sampler = EpochBatches(23, 4, seed=1, drop_last=False)
        sampler.set_epoch(5)
        shards.append([r.tolist() for _, r in sampler])
        assert len(shards[-1]) == len(sampler) == 3  # 6 batches over 2 replicas
    assert shards[0] + shards[1] != everything and sorted(shards[0] + shards[1]) == sorted(everything[:6])


def test_evaluation_batches_hold_a_bounded_number_of_samples() -> None:
    from ecgtricks.data.datamodule import length_sorted_batches

    rng = np.random.default_rng(0)
    lengths = np.concatenate([rng.integers(2_500, 30_000, 300), [900_000] * 3, [462_600]])  # + INCART
    batches = length_sorted_batches(lengths, 32, max_samples=32 * 30_000)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 32 and (len(batch) == 1 or len(batch) * lengths[batch].max() <= 32 * 30_000)
    assert [len(b) for b in batches[-4:]] == [1, 1, 1, 1]  # each long record alone
    assert max(len(b) for b in batches) == 32


def _device_and_loader_batches(cache, indices: np.ndarray, window: int, epochs: int):
    from ecgtricks.data.datamodule import DeviceCropBatches

    targets = np.random.default_rng(0).random((len(indices), 24)).astype(np.float32)
    host = CropBatches(cache, indices, targets, window)
    device = DeviceCropBatches(cache, indices, targets, window, "cpu")
    sampler = EpochBatches(len(indices), 4, seed=11, drop_last=False)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for seed, rows in sampler:
            yield host[(seed, rows)], device[(seed, rows)]


def test_device_batches_equal_the_memory_map_batches(tmp_path: Path) -> None:
    """data.on_device: the same (seed, rows) give identical tensors -- crops, zero padding past a
    record's end, windows that run past the end of the cache, targets and lengths."""
    cache = small_cache(tmp_path)
    lengths = cache.lengths
    everything, some = np.arange(len(cache)), np.array([0, 1, 2, 5, 6, 9, 11])  # runs and gaps
    for indices in (everything, some):
        for window in (int(lengths.min()) - 5, int(np.median(lengths)), int(lengths.max()) + 7):
            n = 0
            for (hx, hy, ht), (dx, dy, dt) in _device_and_loader_batches(cache, indices, window, epochs=2):
                assert dx.shape == hx.shape == (len(ht), 12, window) and dx.is_contiguous()
                assert torch.equal(dx, hx) and torch.equal(dy, hy) and torch.equal(dt, ht) and dt.dtype == ht.dtype
                n += 1
            assert n == 2 * -(-len(indices) // 4)


def test_records_on_device_are_the_records_one_after_another(tmp_path: Path) -> None:
    from ecgtricks.data.datamodule import records_on_device

    cache = small_cache(tmp_path)
    indices = np.array([7, 2, 3, 4, 10])
    signals, starts = records_on_device(cache, indices, "cpu", chunk_samples=1000)  # several chunks a run
    assert signals.shape == (int(cache.lengths[indices].sum()), 12)
    for start, i in zip(starts, indices, strict=True):
        np.testing.assert_array_equal(signals[start : start + cache.lengths[i]].numpy(), cache.signal(i).T)


def test_datamodule_on_device_gives_the_default_loaders_batches(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    from ecgtricks.data.datamodule import ECGDataModule

    cache = small_cache(tmp_path)
    data_cfg = OmegaConf.create({"n_folds": 3, "fold_seed": 0, "train_unlabelled": True})
    loaders = []
    for on_device in (False, True):
        dm = ECGDataModule(data_cfg, None, fold=1, batch_size=3, window_s=4.0, seed=5, on_device=on_device,
                           cache=cache)
        dm.setup()
        loaders.append(dm.train_dataloader())
    assert loaders[1].num_workers == 0 and len(loaders[0]) == len(loaders[1]) > 1
    for epoch in range(3):
        for loader in loaders:
            loader.sampler.set_epoch(epoch)
        for a, b in zip(*loaders, strict=True):
            assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
