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
