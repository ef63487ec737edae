"""Fold assignment: multilabel-stratified K-fold (deterministic, shared by all runs of a dataset),
leave one source out, and the paper's own ten folds read from its split file."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from filelock import FileLock
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold


def assign_folds(labels: np.ndarray, n_folds: int = 10, seed: int = 0) -> np.ndarray:
    """Fold id (0..n_folds-1) of each record, stratified over all label columns at once.

    Iterative stratification (Sechidis et al., 2011) keeps rare classes spread over folds,
    which a per-class or random split does not.
    """
    labels = np.asarray(labels, dtype=np.int8)
    if len(labels) < n_folds:
        raise ValueError(f"{len(labels)} records cannot be split into {n_folds} folds")
    folds = np.empty(len(labels), dtype=np.int64)
    splitter = MultilabelStratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for fold, (_, val_idx) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        folds[val_idx] = fold
    return folds


def load_or_assign_folds(
    directory: str | Path, names: Sequence[str], labels: np.ndarray, n_folds: int = 10, seed: int = 0
) -> np.ndarray:
    """Folds saved in ``directory`` under a key of the record names and labels.

    Preprocessing does not change the key, so every cache of a dataset shares one split.
    """
    labels = np.asarray(labels, dtype=bool)
    digest = hashlib.sha256(
        json.dumps([list(names), np.packbits(labels).tolist(), labels.shape]).encode()
    ).hexdigest()[:16]
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"folds-{digest}-k{n_folds}-s{seed}.npy"
    with FileLock(str(path) + ".lock"):
        if path.is_file():
            return np.load(path)
        folds = assign_folds(labels, n_folds, seed)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npy")
        np.save(tmp, folds)
        os.replace(tmp, path)
    return folds


def source_folds(sources: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Leave-one-source-out: fold id of each record = index of its source in sorted order."""
    names = sorted(set(sources))
    index = {name: i for i, name in enumerate(names)}
    return np.array([index[s] for s in sources], dtype=np.int64), names


PAPER_FOLDS = 10


def paper_folds(split_file: str | Path, names: Sequence[str]) -> np.ndarray:
    """Fold (0..9) of each record in the paper's ``split.json``; -1 for a name it does not list.

    The file holds, per source, ``fold0`` ... ``fold9``: the names validated in that fold.
    """
    from ecgtricks.utils.errors import ConfigError

    path = Path(split_file)
    if not path.is_file():
        raise ConfigError(
            f"split=dsail2020 needs the paper's split file, not found at {path}: fetch it with "
            "`python -m ecgtricks.download DATA_PATH --split-only` or set split.file=PATH")
    try:
        sources = json.loads(path.read_text())
        fold_of = {name: k for source in sources.values() for k in range(PAPER_FOLDS)
                   for name in source[f"fold{k}"]}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: not the paper's split file ({type(exc).__name__}: {exc})") from None
    return np.array([fold_of.get(name, -1) for name in names], dtype=np.int64)
