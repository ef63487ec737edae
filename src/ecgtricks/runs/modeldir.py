"""Self-contained model directories and fold ensembles.

A model directory holds everything needed to predict without Hydra's run context:
``model.pt`` (network weights), ``config.yaml`` (the resolved run config: model, preprocessing,
leads), ``model.json`` (classes, thresholds, fold, scores) and ``val_predictions.npz`` (the
validation fold's probabilities and labels, for re-tuning thresholds on pooled out-of-fold
predictions). A folder holding several model directories (at any depth) is an ensemble; its
``ensemble.json``, when present (``python -m ecgtricks.challenge train`` writes one), holds the
ensemble's own thresholds and says how they were chosen.
"""

from __future__ import annotations

import io
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf

from ecgtricks.data.leads import order_leads
from ecgtricks.data.preprocess import Pipeline, build_pipeline
from ecgtricks.data.record import Record
from ecgtricks.models import build_model
from ecgtricks.models.windows import sliding_window_logits, window_samples
from ecgtricks.utils.errors import ECGTricksError, RecordError
from ecgtricks.utils.files import atomic_write_bytes, atomic_write_json

log = logging.getLogger(__name__)

WEIGHTS, CONFIG, META, OOF = "model.pt", "config.yaml", "model.json", "val_predictions.npz"
ENSEMBLE = "ensemble.json"


def save_model_dir(
    directory: str | Path,
    net: torch.nn.Module,
    config: dict[str, Any],
    classes: list[str] | tuple[str, ...],
    thresholds: np.ndarray,
    meta: dict[str, Any] | None = None,
    oof: dict[str, np.ndarray] | None = None,
) -> Path:
    """Write a model directory; every file goes through temp file + rename."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if oof is not None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **oof)
        atomic_write_bytes(directory / OOF, buffer.getvalue())
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    atomic_write_bytes(directory / WEIGHTS, buffer.getvalue())
    atomic_write_bytes(directory / CONFIG, OmegaConf.to_yaml(OmegaConf.create(config)).encode())
    # model.json last: its presence marks the directory complete.
    atomic_write_json(
        directory / META,
        {"classes": list(classes), "thresholds": np.asarray(thresholds, float).tolist(), **(meta or {})},
    )
    return directory


@dataclass
class FoldModel:
    directory: Path
    net: torch.nn.Module
    pipeline: Pipeline
    leads: tuple[str, ...]
    classes: tuple[str, ...]
    thresholds: np.ndarray
    meta: dict[str, Any]
    tta: dict[str, Any] | None = None  # the run's test-time windows (postprocess.tta*), seconds; None: whole records

    @property
    def edition(self) -> int:
        """The challenge edition its classes come from (directories before editions: 2020)."""
        return int(self.meta.get("edition", 2020))

    def oof(self) -> dict[str, np.ndarray] | None:
        path = self.directory / OOF
        return dict(np.load(path)) if path.is_file() else None


def load_model_dir(directory: str | Path, device: str = "cpu") -> FoldModel:
    directory = Path(directory)
    if not (directory / META).is_file():
        raise ECGTricksError(f"{directory}: not a model directory (no {META})")
    meta = json.loads((directory / META).read_text())
    config = OmegaConf.to_container(OmegaConf.load(directory / CONFIG), resolve=True)
    model_cfg = dict(config["model"])
    # Model directories written before the schema carry radix and expansion for every block.
    for key, block in (("radix", "resnest"), ("expansion", "bottleneck")):
        if key in model_cfg and model_cfg.get("block") != block:
            model_cfg[key] = None
    classes = tuple(meta["classes"])
    leads = tuple(config["data"]["leads"])
    net = build_model(model_cfg, len(leads), len(classes))
    net.load_state_dict(torch.load(directory / WEIGHTS, map_location=device, weights_only=True))
    net.to(device).eval()
    post = config.get("postprocess") or {}
    tta = {k: post[k] for k in ("tta", "tta_window_s", "tta_stride_s")} if post.get("tta", "none") != "none" else None
    return FoldModel(
        directory, net, build_pipeline(config["preprocess"]), leads, classes,
        np.asarray(meta["thresholds"], dtype=np.float64), meta, tta,
    )


class Ensemble:
    """Fold models whose probabilities are averaged; thresholds averaged or re-tuned on the
    pooled out-of-fold predictions (``saved``: given, e.g. from ``ensemble.json``)."""

    def __init__(self, models: list[FoldModel], thresholds: str | np.ndarray = "mean") -> None:
        if not models:
            raise ECGTricksError("an ensemble needs at least one model directory")
        classes = {(m.edition, m.classes) for m in models}
        if len(classes) != 1:
            raise ECGTricksError("model directories disagree on their edition or classes")
        self.models, self.classes, self.edition = models, models[0].classes, models[0].edition
        if isinstance(thresholds, str):
            self.thresholds = self._combine_thresholds(thresholds)
        else:
            self.thresholds = np.asarray(thresholds, dtype=np.float64)

    def _combine_thresholds(self, method: str) -> np.ndarray:
        from ecgtricks.scoring.postprocess import combine_thresholds

        per_model = np.stack([m.thresholds for m in self.models])
        if method == "mean" or len(self.models) == 1:
            return combine_thresholds(per_model, method="mean", edition=self.edition)
        if method != "retune":
            raise ECGTricksError(f"ensemble thresholds must be 'auto', 'mean' or 'retune', got {method!r}")
        oofs = [m.oof() for m in self.models]
        if any(o is None for o in oofs):
            raise ECGTricksError("re-tuning thresholds needs val_predictions.npz in every model directory")
        return combine_thresholds(
            per_model, method="retune",
            oof_labels=np.concatenate([o["labels"] for o in oofs]),
            oof_probabilities=np.concatenate([o["probabilities"] for o in oofs]), edition=self.edition,
        )

    @torch.no_grad()
    def predict_record(self, record: Record, window_s: float = 120.0) -> np.ndarray:
        """Mean probability over the fold models for one record of any length."""
        probs, prepared = [], {}
        for model in self.models:
            key = json.dumps(model.pipeline.spec()) + "|" + ",".join(model.leads)
            if key not in prepared:
                x, fs = model.pipeline(order_leads(record, model.leads), record.fs)
                prepared[key] = (torch.from_numpy(x)[None], fs)
            x, fs = prepared[key]
            net = model.net
            x = x.to(next(net.parameters()).device)
            if model.tta is not None:  # the windows the run validated with (sliding_window_tta)
                spec = window_samples(model.tta, fs)
                lengths = torch.tensor([x.shape[-1]], device=x.device)
                logits = sliding_window_logits(net, x, lengths, spec["window"], spec["stride"], spec["how"])
            else:
                logits = net.head(net.features_windowed(x, int(window_s * fs)))
            probs.append(torch.sigmoid(logits).squeeze(0).cpu().numpy())
        return np.mean(probs, axis=0)


def save_ensemble_thresholds(directory: str | Path, ensemble: Ensemble, how: str) -> Path:
    """Write ``ensemble.json`` into a folder of model directories: its thresholds and ``how``
    they were chosen, used by :func:`load_ensemble` with ``thresholds="auto"``."""
    path = Path(directory) / ENSEMBLE
    atomic_write_json(path, {
        "classes": list(ensemble.classes), "thresholds": ensemble.thresholds.tolist(),
        "thresholds_from": how, "models": [str(m.directory.relative_to(directory)) for m in ensemble.models],
    })
    return path


def load_ensemble(
    path: str | Path, thresholds: str = "auto", device: str = "cpu", fold_ensemble: bool | None = None
) -> Ensemble:
    """One model directory, or the model directories below ``path``.

    ``fold_ensemble`` (default: the models' own ``postprocess.fold_ensemble`` setting) uses all
    of them; otherwise only the first (by path, i.e. the lowest fold). ``thresholds``: ``auto``
    takes those of ``path/ensemble.json`` for a fold ensemble that has one, else the mean of
    the models'; ``mean``; or ``retune`` on the pooled out-of-fold predictions.
    """
    path = Path(path)
    if not path.exists():
        raise ECGTricksError(f"{path}: model directory does not exist")
    dirs = [path] if (path / META).is_file() else sorted(p.parent for p in path.rglob(META))
    if not dirs:
        raise ECGTricksError(f"{path}: no model directories (no {META} found)")
    models = [load_model_dir(d, device) for d in dirs]
    if fold_ensemble is None:
        fold_ensemble = all(m.meta.get("fold_ensemble", True) for m in models)
    if not fold_ensemble:
        models = models[:1]
    log.info("%d model(s) from %s", len(models), path)
    saved = path / ENSEMBLE
    if thresholds == "auto" and fold_ensemble and saved.is_file():
        meta = json.loads(saved.read_text())
        log.info("thresholds from %s: %s", saved, meta.get("thresholds_from", "?"))
        return Ensemble(models, np.asarray(meta["thresholds"], dtype=np.float64))
    return Ensemble(models, "mean" if thresholds == "auto" else thresholds)


def predict_directory(
    model_dir: str | Path, input_dir: str | Path, output_dir: str | Path, *,
    thresholds: str = "auto", window_s: float = 120.0, on_error: str = "skip", progress: bool = True,
    fold_ensemble: bool | None = None,
) -> dict[str, object]:
    """Write ``OUTPUT_DIR/NAME.csv`` for every record below ``input_dir``; returns counts."""
    from tqdm.auto import tqdm

    from ecgtricks.data.record import duplicate_names, find_records, read_record
    from ecgtricks.scoring.editions import edition
    from ecgtricks.scoring.outputs import write_output
    from ecgtricks.scoring.postprocess import apply_thresholds

    ensemble = load_ensemble(model_dir, thresholds=thresholds, fold_ensemble=fold_ensemble)
    # Each class as its edition's scorer names it (2021: equivalent codes joined, ``a|b``).
    scored = edition(ensemble.edition)
    header = [scored.classes[scored.column[c]] if ensemble.edition != 2020 else c for c in ensemble.classes]
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    records = find_records(input_dir)
    written, skipped = 0, []
    started = time.perf_counter()
    dups = duplicate_names(records)
    for path in tqdm(records, desc="predict", unit="rec", disable=not progress):
        try:
            if path in dups:  # its output file would overwrite the first one's
                raise RecordError(path.with_suffix(".hea"), f"duplicate record name {path.name!r}: also {dups[path]}")
            record = read_record(path)
            probs = ensemble.predict_record(record, window_s=window_s)
        except RecordError as exc:
            if on_error == "raise":
                raise
            log.warning("skipped %s", exc)
            skipped.append(str(exc))
            continue
        binary = apply_thresholds(probs[None], ensemble.thresholds)[0]
        write_output(output_dir / f"{record.name}.csv", record.name, header, binary, probs,
                     edition=ensemble.edition)
        written += 1
    return {"written": written, "skipped": skipped, "seconds": time.perf_counter() - started,
            "models": len(ensemble.models)}
