"""The config schema: one dataclass per config group, registered in Hydra's ConfigStore.

``configs/train.yaml`` extends :class:`TrainConfig` (``train_schema`` in its defaults list), so
every YAML file and command-line override is checked against it while Hydra composes: an
unknown key, a value of the wrong type or a choice outside its enum fails then, in one line that
names the key and the allowed values. Ranges and cross-field rules that a type cannot express
are checked by :func:`check` before any data is touched.

The schema holds types and choices; the values, with their comments, live in the YAML files
(every field is ``MISSING`` here), so a default is written in one place.

Enums are ``str`` subclasses whose members are named after their values, so code compares them
with plain strings, and :func:`as_dict` (the one way sections leave OmegaConf) turns them into
those strings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import Any  # noqa: UP035 (OmegaConf reads these annotations at runtime)

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from ecgtricks.data.cache import ON_ERROR
from ecgtricks.utils.conf import as_dict
from ecgtricks.utils.errors import ConfigError


class Choice(str, Enum):
    """A config choice: prints and serialises as its value."""

    def __str__(self) -> str:
        return self.value


class InputMode(Choice):
    crop = "crop"  # one random window per record
    chunk = "chunk"  # chunks of the window, features max-pooled per record


class Mixup(Choice):
    none = "none"
    input = "input"
    manifold = "manifold"
    cutmix = "cutmix"  # a partner's span pasted into the signal (Yun et al. 2019)


class Scheduler(Choice):
    plateau = "plateau"
    warmup_cosine = "warmup_cosine"
    one_cycle = "one_cycle"
    none = "none"


class Optimizer(Choice):
    adam = "adam"
    adamw = "adamw"


class SplitName(Choice):
    kfold = "kfold"
    leave_one_source_out = "leave_one_source_out"
    dsail2020 = "dsail2020"


# "raise" is a keyword, so this one is built by name.
OnError = Choice("OnError", {v: v for v in ON_ERROR})


class Candidates(Choice):
    grid = "grid"
    distinct = "distinct"


class WindowTTA(Choice):
    none = "none"  # whole records
    max = "max"  # overlapping windows, the maximum over them (the PTB-XL benchmark)
    mean = "mean"  # overlapping windows, the mean probability


@dataclass
class DataConfig:
    path: str | None = MISSING  # null: the built-in synthetic dataset
    sources: list[str] | None = MISSING  # source folders below path (a download tree)
    n_records: int = MISSING
    seed: int = MISSING
    cache_dir: str | None = MISSING
    limit: int | None = MISSING
    on_error: OnError = MISSING  # type: ignore[valid-type]
    workers: int | None = MISSING
    on_device: bool = MISSING  # training records as one tensor on the device (a speed setting)
    n_folds: int = MISSING
    train_unlabelled: bool = MISSING
    fold_seed: int = MISSING
    leads: list[str] = MISSING
    edition: int = MISSING  # the challenge edition of the labels: its classes, weights and scorer


@dataclass
class SplitConfig:
    name: SplitName = MISSING
    file: str | None = None  # split=dsail2020: the paper's split.json


@dataclass
class PreprocessConfig:
    """Ordered slots; each is null (off) or a step: ``{type: resample|notch|filter|scale, ...}``,
    checked by :func:`ecgtricks.data.preprocess.build_pipeline` (typed ``Any``: OmegaConf cannot
    assign a mapping from the command line to a null ``Optional[Dict]``)."""

    resample: Any = MISSING
    notch: Any = MISSING
    filter: Any = MISSING
    scale: Any = MISSING


@dataclass
class InputConfig:
    mode: InputMode = MISSING
    window_s: float = MISSING
    chunk_length: int = MISSING
    chunk_stride: int = MISSING


@dataclass
class LossConfig:
    class_weight: bool = MISSING
    confusion_weight: bool = MISSING
    no_label_weight: float = MISSING
    asl_gamma_neg: float = MISSING
    asl_gamma_pos: float = MISSING
    asl_clip: float = MISSING
    focal_gamma: float = MISSING
    focal_alpha: float | None = MISSING  # null: no alpha-balancing
    label_smoothing: float = MISSING
    challenge_weight: float = MISSING


@dataclass
class AugmentConfig:
    mixup: Mixup = MISSING
    alpha: float = MISSING
    p: float = 0.5  # each signal augmentation: the share of records it changes
    baseline_wander: float = 0.0  # 0: off (training/augment.py says what each strength means)
    noise: float = 0.0
    amplitude_scale: float = 0.0
    time_stretch: float = 0.0
    time_mask: float = 0.0


@dataclass
class OptimConfig:
    optimizer: Optimizer = MISSING
    lr: float = MISSING
    weight_decay: float = MISSING
    no_bias_decay: bool = MISSING
    scheduler: Scheduler = MISSING
    plateau_factor: float = MISSING
    plateau_patience: int = MISSING
    warmup_fraction: float = MISSING
    one_cycle_pct_start: float = MISSING


@dataclass
class PostprocessConfig:
    threshold: float = MISSING  # decision threshold when thresholds are not tuned
    tune_thresholds: bool = MISSING
    candidates: Candidates = MISSING
    fold_ensemble: bool = MISSING
    tta: WindowTTA = WindowTTA.none  # evaluation and prediction over windows (sliding_window_tta)
    tta_window_s: float = 2.5
    tta_stride_s: float = 1.25


@dataclass
class PathsConfig:
    """Set by the run itself (never on the command line): where it writes."""

    run_dir: str | None = None
    variant: str | None = None


@dataclass
class TrainConfig:
    name: str = MISSING
    fold: int = MISSING
    seed: int = MISSING
    leads: int = MISSING  # the lead set: 12, 6, 4, 3 or 2 (data.leads follows it)
    threads: int | None = MISSING
    output_root: str = MISSING
    batch_size: int = MISSING
    eval_batch_size: int = MISSING
    num_workers: int = MISSING
    tricks: dict[str, bool] = field(default_factory=dict)
    without: Any = None  # a trick name or a list of them
    force: bool = MISSING
    data: DataConfig = field(default_factory=DataConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    # Each network's options are its own schema (ecgtricks.models.registry.check_options).
    model: dict[str, Any] = field(default_factory=dict)
    input: InputConfig = field(default_factory=InputConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    # pytorch_lightning.Trainer arguments, and the project's compile: bool (checked by check()).
    trainer: dict[str, Any] = field(default_factory=dict)
    postprocess: PostprocessConfig = field(default_factory=PostprocessConfig)
    callbacks: dict[str, Any] = field(default_factory=dict)  # name -> {_target_: ..., ...}
    logger: dict[str, Any] = field(default_factory=dict)  # name -> {_target_: ..., ...}
    paths: PathsConfig = field(default_factory=PathsConfig)


def register() -> None:
    """Store the schema under ``train_schema`` and add the resolvers the configs use; idempotent,
    and needed before Hydra composes (it runs on import of this module)."""
    ConfigStore.instance().store(name="train_schema", node=TrainConfig)
    if not OmegaConf.has_resolver("lead_set"):
        from ecgtricks.data.leads import lead_set

        OmegaConf.register_new_resolver("lead_set", lead_set)
    if not OmegaConf.has_resolver("ecg_variant"):
        from ecgtricks.runs.rundir import variant_name

        OmegaConf.register_new_resolver("ecg_variant", variant_name)


register()


def instantiate_named(section: DictConfig | None, where: str) -> list[Any]:
    """Instantiate each named ``_target_`` entry of a section (``callbacks``, ``logger``), in
    order; entries that build to None are dropped. A failure is one line naming the entry."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    built = []
    for name, spec in (section or {}).items():
        try:
            obj = instantiate(spec)
        except InstantiationException as exc:
            cause = exc.__cause__ or exc
            raise ConfigError(f"{where}.{name}: {type(cause).__name__}: {str(cause).splitlines()[0]}") from None
        if obj is not None:
            built.append(obj)
    return built


def _undeclared(node: DictConfig, schema: type, prefix: str = "") -> list[tuple[str, type]]:
    """Keys of ``node`` that its dataclass ``schema`` does not declare (``+key=`` lets them in)."""
    declared = {f.name: f.type for f in dataclasses.fields(schema)}
    found = []
    for key in node:
        if key not in declared:
            found.append((prefix + str(key), schema))
            continue
        child_type = declared[key]
        child_type = child_type if isinstance(child_type, type) else globals().get(str(child_type))
        if dataclasses.is_dataclass(child_type) and isinstance(node[key], DictConfig):
            found += _undeclared(node[key], child_type, f"{prefix}{key}.")
    return found


def check(cfg: DictConfig) -> None:
    """What types cannot say, checked in milliseconds before any data is touched: sizes and
    ranges, the fold against the split, and every option of the network and preprocessing
    (both are built, the network on the meta device)."""
    for key, schema in _undeclared(cfg, TrainConfig):  # added with `+` past the schema
        raise ConfigError(f"Key '{key.rpartition('.')[2]}' not in '{schema.__name__}' ({key}); its keys: "
                          f"{[f.name for f in dataclasses.fields(schema)]}")
    if cfg.split.name == SplitName.kfold and not 0 <= cfg.fold < cfg.data.n_folds:
        raise ConfigError(f"fold={cfg.fold} is outside 0..{cfg.data.n_folds - 1} (data.n_folds={cfg.data.n_folds})")
    if cfg.split.name == SplitName.dsail2020 and not 0 <= cfg.fold < 10:
        raise ConfigError(f"fold={cfg.fold} is outside 0..9: split=dsail2020 has the paper's ten folds")
    for key in ("batch_size", "eval_batch_size", "data.n_folds"):
        if OmegaConf.select(cfg, key) < 1:
            raise ConfigError(f"{key}={OmegaConf.select(cfg, key)} must be >= 1")
    if cfg.trainer.get("max_epochs", 1) < 1:
        raise ConfigError(f"trainer.max_epochs={cfg.trainer.max_epochs} must be >= 1")
    if not isinstance(cfg.trainer.get("compile", False), bool):
        raise ConfigError(f"trainer.compile={cfg.trainer.compile!r} must be true or false")
    if cfg.input.window_s <= 0:
        raise ConfigError(f"input.window_s must be positive, got {cfg.input.window_s}")
    if not 1 <= cfg.input.chunk_stride <= cfg.input.chunk_length:
        raise ConfigError(
            f"input.chunk_stride={cfg.input.chunk_stride} must be in 1..input.chunk_length={cfg.input.chunk_length}"
        )
    from ecgtricks.models.registry import check_options
    from ecgtricks.runs.recipes import check_applicable

    check_applicable(cfg)  # before the options: a trick that cannot apply says so, not its key
    check_options(cfg.model)
    if not 0 <= cfg.model.get("dropout", 0) < 1:
        raise ConfigError(f"model.dropout={cfg.model.dropout} must be in [0, 1)")
    from ecgtricks.training.losses import check_loss

    check_loss(as_dict(cfg.loss))  # ranges, and tricks that reshape the same terms
    from ecgtricks.training.augment import SETTINGS

    for name in SETTINGS:
        limit = 1.0 if name in ("amplitude_scale", "time_stretch", "time_mask") else float("inf")
        if not 0 <= cfg.augment[name] < limit:
            raise ConfigError(f"augment.{name}={cfg.augment[name]} must be in [0, {limit})")
    mixing = [t for t in ("input_mixup", "manifold_mixup", "cutmix") if t in (cfg.get("tricks") or {})]
    if len(mixing) > 1:
        raise ConfigError(f"tricks {' and '.join(mixing)} each set augment.mixup (one mixing per batch): keep one, "
                          f"e.g. without={mixing[0]}")
    if not 0 <= cfg.augment.p <= 1:
        raise ConfigError(f"augment.p={cfg.augment.p} must be in [0, 1]")
    if not 0 < cfg.postprocess.tta_stride_s <= cfg.postprocess.tta_window_s:
        raise ConfigError(f"postprocess.tta_stride_s={cfg.postprocess.tta_stride_s} must be in "
                          f"(0, postprocess.tta_window_s={cfg.postprocess.tta_window_s}]")
    from ecgtricks.training.averaging import check_averaging

    check_averaging(as_dict(cfg.callbacks))  # ema and swa both swap their average in
    import torch

    from ecgtricks.data.preprocess import build_pipeline
    from ecgtricks.models import build_model
    from ecgtricks.scoring.editions import edition

    with torch.device("meta"):  # shapes and options only: no memory, no initialisation cost
        build_model(cfg.model, len(cfg.data.leads), edition(cfg.data.edition).n_classes)
    build_pipeline(as_dict(cfg.preprocess))
