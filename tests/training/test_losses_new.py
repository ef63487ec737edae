"""The four loss tricks (asymmetric, focal, label smoothing, challenge loss): each equals BCE at
its neutral setting, matches its formula, moves the loss the way its source says, combines with
the paper's weightings, and trains for an epoch through its config (baseline, recipe, 2021)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from ecgtricks.runs import config, rundir
from ecgtricks.runs.recipes import resolve
from ecgtricks.scoring import metrics
from ecgtricks.scoring.editions import edition
from ecgtricks.scoring.labels import weight_matrix
from ecgtricks.training.fit import fit
from ecgtricks.training.losses import build_loss, soft_challenge_score
from ecgtricks.utils.errors import ConfigError
from ecgtricks.utils.paths import config_dir

C = 24
NEW = ["asymmetric_loss", "focal_loss", "label_smoothing", "challenge_loss"]


def _defaults(**overrides: object) -> dict:
    """``configs/loss/bce.yaml`` as the run passes it, with ``overrides``."""
    return {**OmegaConf.to_container(OmegaConf.load(config_dir() / "loss" / "bce.yaml")), **overrides}


def _trick(name: str) -> dict:
    """The loss keys trick ``name`` sets, over the defaults."""
    return _defaults(**OmegaConf.to_container(OmegaConf.load(config_dir() / "trick" / f"{name}.yaml"))["loss"])


def _batch(n: int = 6, seed: int = 0, classes: int = C) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, classes, generator=g) * 3
    y = (torch.rand(n, classes, generator=g) < 0.15).float()
    y[0] = 0  # a record without a scored label
    return logits, y


def _old_loss(logits: torch.Tensor, targets: torch.Tensor, pos_weight: torch.Tensor | None,
              negative_cost: torch.Tensor | None, no_label_weight: float = 0.5) -> torch.Tensor:
    """WeightedBCE.forward before the loss tricks, verbatim."""
    pos = targets * F.softplus(-logits)
    neg = (1 - targets) * F.softplus(logits)
    if pos_weight is not None:
        pos = pos * pos_weight
    if negative_cost is not None:
        mass = targets.sum(dim=1, keepdim=True)
        weight = (targets @ negative_cost) / mass.clamp_min(1e-8)
        neg = neg * torch.where(mass > 0, weight, torch.full_like(weight, no_label_weight))
    return (pos + neg).mean()


def _reference(logits: torch.Tensor, y: torch.Tensor, *, gamma_pos: float = 0, gamma_neg: float = 0,
               clip: float = 0, alpha: float | None = None, eps: float = 0, w_pos: np.ndarray | None = None,
               w_neg: np.ndarray | None = None) -> float:
    """The per-element loss in float64 from probabilities, written from the papers' formulas."""
    p = torch.sigmoid(logits.double()).numpy()
    t = y.double().numpy()
    s = t * (1 - eps) + eps / 2
    pm = np.maximum(p - clip, 0)
    pos = s * (1 - p) ** gamma_pos * -np.log(p)
    neg = (1 - s) * pm**gamma_neg * -np.log(1 - pm)
    if alpha is not None:
        pos, neg = alpha * pos, (1 - alpha) * neg
    pos = pos * (1 if w_pos is None else w_pos)
    neg = neg * (1 if w_neg is None else w_neg)
    return float(np.mean(pos + neg))


def _confusion_weights(y: torch.Tensor) -> np.ndarray:
    t = y.double().numpy()
    mass = t.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = (t @ (1 - weight_matrix())) / mass
    return np.where(mass > 0, w, 0.5)


# --------------------------------------------------------------------------- neutral = BCE


@pytest.mark.parametrize("weights", [{}, {"class_weight": True}, {"confusion_weight": True},
                                     {"class_weight": True, "confusion_weight": True}])
@pytest.mark.parametrize("soft", [False, True])
def test_bce_yaml_defaults_are_bit_identical_to_the_old_loss(weights: dict, soft: bool) -> None:
    logits, y = _batch()
    if soft:  # mixup targets
        y = 0.3 * y + 0.7 * y.flip(0)
    counts = np.arange(1, C + 1) * 7
    loss = build_loss(_defaults(**weights), counts)
    old = _old_loss(logits, y, loss.pos_weight, loss.negative_cost)
    assert (loss.pos_weight is not None) == bool(weights.get("class_weight"))
    assert torch.equal(loss(logits, y), old)


@pytest.mark.parametrize("neutral", [
    {"asl_gamma_neg": 0.0, "asl_gamma_pos": 0.0, "asl_clip": 0.0},
    {"focal_gamma": 0.0, "focal_alpha": None},
    {"label_smoothing": 0.0},
    {"challenge_weight": 0.0},
])
def test_each_trick_at_its_neutral_setting_is_bce(neutral: dict) -> None:
    logits, y = _batch()
    bce = F.binary_cross_entropy_with_logits(logits, y)
    torch.testing.assert_close(build_loss(_defaults(**neutral), [1] * C)(logits, y), bce, atol=1e-6, rtol=0)


# --------------------------------------------------------------------------- formulas


@pytest.mark.parametrize("name,params", [
    ("asymmetric_loss", {"gamma_pos": 1, "gamma_neg": 4, "clip": 0.05}),
    ("focal_loss", {"gamma_pos": 2, "gamma_neg": 2, "alpha": 0.25}),
    ("label_smoothing", {"eps": 0.1}),
])
def test_each_reshaping_matches_its_formula_with_and_without_the_weightings(name: str, params: dict) -> None:
    logits, y = _batch(8, seed=3)
    counts = np.arange(1, C + 1) * 5
    w_pos = np.sqrt(counts.max() / counts)
    assert build_loss(_trick(name), counts)(logits, y).item() == pytest.approx(_reference(logits, y, **params), rel=1e-5)
    # class_weight multiplies the positive terms, confusion_weight the negative ones, as in BCE
    both = _trick(name) | {"class_weight": True, "confusion_weight": True}
    expected = _reference(logits, y, **params, w_pos=w_pos, w_neg=_confusion_weights(y))
    assert build_loss(both, counts)(logits, y).item() == pytest.approx(expected, rel=1e-5)


def test_asymmetric_clip_and_focal_without_alpha_match_their_formulas() -> None:
    logits, y = _batch(8, seed=4)
    clip_only = _defaults(asl_clip=0.2)
    assert build_loss(clip_only, [1] * C)(logits, y).item() == pytest.approx(_reference(logits, y, clip=0.2), rel=1e-5)
    focal = _defaults(focal_gamma=0.5)  # gamma < 1: pow of a saturated sigmoid would have an infinite slope
    assert build_loss(focal, [1] * C)(logits, y).item() == pytest.approx(
        _reference(logits, y, gamma_pos=0.5, gamma_neg=0.5), rel=1e-5)


@pytest.mark.parametrize("name", NEW)
def test_each_trick_is_finite_with_gradients_at_saturated_logits_and_soft_targets(name: str) -> None:
    logits = torch.tensor([[-100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0] * 4])[:, :C].repeat(3, 1)
    y = torch.zeros(3, C)
    y[1, [0, 6, 9]] = 1
    y[2] = 0.4 * y[1]  # mixup with a record without label
    logits.requires_grad_(True)
    loss = build_loss(_trick(name) | {"confusion_weight": True}, [1] * C)(logits, y)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


# --------------------------------------------------------------------------- effects


def _confident(correct_positive: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Confident correct predictions: negatives at p ~ 0.05 (and, optionally, a positive at 0.95)."""
    logits = torch.full((4, C), -3.0)
    y = torch.zeros(4, C)
    if correct_positive:
        logits[:, 2], y[:, 2] = 3.0, 1.0
    return logits, y


@pytest.mark.parametrize("name", ["asymmetric_loss", "focal_loss"])
def test_asymmetric_and_focal_down_weight_easy_negatives(name: str) -> None:
    logits, y = _confident()
    bce = build_loss(_defaults(), [1] * C)(logits, y)
    reshaped = build_loss(_trick(name), [1] * C)(logits, y)
    assert reshaped < 0.1 * bce
    if name == "asymmetric_loss":  # p = 0.047 is under the 0.05 margin: the negatives cost nothing
        assert reshaped == 0
        # ... while a hard positive keeps most of its BCE (gamma_pos = 1 < gamma_neg = 4)
        hard_logits, hard_y = torch.full((1, C), -3.0), torch.zeros(1, C)
        hard_y[0, 0] = 1
        pos_only = build_loss(_trick(name), [1] * C)(hard_logits, hard_y) * C
        assert pos_only > 0.9 * F.softplus(torch.tensor(3.0))


def test_label_smoothing_raises_the_loss_of_confident_correct_predictions() -> None:
    logits, y = _confident(correct_positive=True)
    bce = build_loss(_defaults(), [1] * C)(logits, y)
    assert build_loss(_trick("label_smoothing"), [1] * C)(logits, y) > bce
    # and its optimum is no longer at the extremes: p = 1 - eps/2 for a positive
    z = torch.linspace(-8, 8, 1601)
    loss = build_loss(_defaults(label_smoothing=0.1), [1])
    best = z[torch.stack([loss(v.view(1, 1), torch.ones(1, 1)) for v in z]).argmin()]
    assert torch.sigmoid(best).item() == pytest.approx(0.95, abs=2e-3)


def test_challenge_loss_pushes_the_probabilities_of_true_classes_up() -> None:
    logits, y = _batch(8, seed=5)
    y[1, 3] = 1  # a label that is not the normal class, so correct != inactive
    logits.requires_grad_(True)
    build_loss(_trick("challenge_loss"), [1] * C)(logits, y).backward()
    with_score = logits.grad.clone()
    logits.grad = None
    build_loss(_defaults(), [1] * C)(logits, y).backward()
    extra = with_score - logits.grad  # the gradient of -score
    assert (extra[y == 1] < 0).all()
    # a perfect classifier scores 1: the loss is its BCE minus 1
    perfect = torch.where(y > 0, 30.0, -30.0)
    loss = build_loss(_trick("challenge_loss"), [1] * C)(perfect, y)
    assert loss.item() == pytest.approx(F.binary_cross_entropy_with_logits(perfect, y).item() - 1, abs=1e-5)


# --------------------------------------------------------------------------- the soft score


@pytest.mark.parametrize("year", [2020, 2021])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_soft_challenge_score_on_hard_outputs_is_the_official_score(year: int, seed: int) -> None:
    ed = edition(year)
    n, k = 10, list(ed.codes).index(ed.normal_class)
    rng = np.random.default_rng(seed)
    labels = rng.random((n, ed.n_classes)) < 0.12
    labels[0] = False  # no scored label
    labels[1] = False
    labels[1, k] = True  # normal only
    labels[2, [k, 5]] = True  # normal and an abnormality
    outputs = rng.random((n, ed.n_classes)) < 0.15
    outputs[3] = False  # nothing predicted
    outputs[4] = labels[4]  # exactly right
    outputs[5] = True  # everything predicted
    logits = torch.where(torch.from_numpy(outputs), 30.0, -30.0)
    w = torch.tensor(np.nan_to_num(ed.weight_matrix()), dtype=torch.float32)
    soft = soft_challenge_score(torch.sigmoid(logits), torch.from_numpy(labels).float(), w, k)
    official = metrics.challenge_score(labels, outputs, edition=year)
    assert soft.item() == pytest.approx(official, abs=1e-5)
    # the loss holds the same score, with this edition's weights
    loss = build_loss(_trick("challenge_loss"), [1] * ed.n_classes, edition=year)
    assert torch.equal(loss.challenge_weights, w)
    bce = F.binary_cross_entropy_with_logits(logits, torch.from_numpy(labels).float())
    assert loss(logits, torch.from_numpy(labels).float()).item() == pytest.approx(bce.item() - official, abs=1e-5)


def test_soft_challenge_score_is_zero_where_correct_equals_inactive() -> None:
    y = torch.zeros(3, C)
    k = list(edition(2020).codes).index(edition(2020).normal_class)
    y[:, k] = 1  # every record normal: always-normal is the perfect classifier
    probs = torch.rand(3, C, requires_grad=True)
    score = soft_challenge_score(probs, y, torch.tensor(weight_matrix(), dtype=torch.float32), k)
    score.backward()
    assert score.item() == 0 and torch.equal(probs.grad, torch.zeros_like(probs))


def test_challenge_loss_keeps_the_weightings_of_its_bce_part() -> None:
    logits, y = _batch(8, seed=6)
    counts = np.arange(1, C + 1)
    weighted = {"class_weight": True, "confusion_weight": True}
    score = soft_challenge_score(torch.sigmoid(logits), y, torch.tensor(weight_matrix(), dtype=torch.float32),
                                 list(edition(2020).codes).index(edition(2020).normal_class))
    expected = build_loss(_defaults(**weighted), counts)(logits, y) - 2.0 * score
    got = build_loss(_defaults(**weighted, challenge_weight=2.0), counts)(logits, y)
    torch.testing.assert_close(got, expected)


# --------------------------------------------------------------------------- config errors


def test_focal_and_asymmetric_together_are_refused_with_one_line(compose) -> None:
    with pytest.raises(ConfigError, match="asymmetric_loss and focal_loss cannot both be on"):
        build_loss(_trick("focal_loss") | {"asl_gamma_neg": 4.0}, [1] * C)
    cfg = compose("+trick=[focal_loss,asymmetric_loss]")
    with pytest.raises(ConfigError, match="both reshape the same") as err:
        config.check(cfg)
    assert "\n" not in str(err.value)
    for name in ("label_smoothing", "challenge_loss"):  # these stack with either
        config.check(compose(f"+trick=[focal_loss,{name}]"))
        config.check(compose(f"+trick=[asymmetric_loss,{name}]"))


@pytest.mark.parametrize("override,message", [
    ("loss.label_smoothing=1.0", "loss.label_smoothing=1.0 must be in"),
    ("loss.asl_clip=-0.1", "loss.asl_clip=-0.1 must be in"),
    ("loss.focal_gamma=-1", "loss.focal_gamma=-1.0 must be >= 0"),
    ("loss.focal_alpha=1.5", "loss.focal_alpha=1.5 must be in"),
    ("loss.challenge_weight=-1", "loss.challenge_weight=-1.0 must be >= 0"),
])
def test_out_of_range_values_fail_the_config_check(override: str, message: str, compose) -> None:
    with pytest.raises(ConfigError, match=message):
        config.check(compose(override))


# --------------------------------------------------------------------------- one epoch each


def _one_epoch(cfg, overrides: list[str], run_dir: Path) -> dict:
    summary = fit(rundir.bind(resolve(cfg, overrides), run_dir), overrides)
    assert summary["epochs"] == 1 and summary["n_val"] > 0
    assert -1.0 <= summary["challenge_score"] <= 1.0
    assert (run_dir / "model" / "model.json").is_file()
    return summary


@pytest.mark.slow
@pytest.mark.parametrize("experiment", ["baseline", "dsail2020"])
@pytest.mark.parametrize("name", NEW)
def test_one_epoch_with_each_loss_trick(name: str, experiment: str, tmp_path: Path, compose) -> None:
    overrides = [f"experiment={experiment}", f"+trick={name}"]
    cfg = compose(*overrides, "debug=smoke", "data.n_records=64", "data.limit=64", "seed=1")
    assert name in cfg.tricks and ("confusion_weight" in cfg.tricks) == (experiment == "dsail2020")
    _one_epoch(cfg, overrides, tmp_path / "fold0")


@pytest.fixture(scope="module")
def twin2021(tmp_path_factory: pytest.TempPathFactory) -> Path:
    twin = tmp_path_factory.mktemp("twin2021")
    proc = subprocess.run([sys.executable, "-m", "ecgtricks.synthesize", str(twin), "--edition", "2021",
                           "--scale", "0.004", "--sources", "chapman_shaoxing", "ningbo"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return twin


@pytest.mark.slow
@pytest.mark.parametrize("experiment", ["baseline", "dsail2020"])
def test_one_epoch_with_challenge_loss_on_2021_data(experiment: str, twin2021: Path, tmp_path: Path, compose) -> None:
    overrides = [f"experiment={experiment}", "+trick=challenge_loss"]
    cfg = compose(*overrides, "debug=smoke", "data=challenge2021", f"data.path={twin2021}",
                  "data.sources=[chapman_shaoxing,ningbo]", "data.limit=null", "logger=csv")
    assert cfg.data.edition == 2021
    summary = _one_epoch(cfg, overrides, tmp_path / "fold0")
    assert summary["edition"] == 2021
