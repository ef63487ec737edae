from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SAMPLES = SHARED / "data" / "challenge-samples"
REFERENCE = SHARED / "reference"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"shared challenge samples not found at {SAMPLES} (they live beside the checkout)")
    return SAMPLES


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not REFERENCE.is_dir():
        pytest.skip(f"shared reference tables not found at {REFERENCE}")
    return REFERENCE


@pytest.fixture(scope="session")
def compose() -> Callable[..., Any]:
    """``compose(*overrides)``: the composed ``train`` config, as ``python -m ecgtricks.train``
    composes it (Hydra stays initialised for the session, so ``without=`` can re-compose)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ecgtricks.runs import config  # noqa: F401 (registers the schema)
    from ecgtricks.utils.paths import config_dir

    GlobalHydra.instance().clear()
    context = initialize_config_dir(config_dir=str(config_dir()), version_base="1.3")
    context.__enter__()

    def composed(*overrides: str, hydra: bool = False) -> Any:
        return hydra_compose("train", overrides=list(overrides), return_hydra_config=hydra)

    yield composed
    context.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # Never touch the user's ~/.cache from tests; one cache root for the whole session.
    root = tmp_path_factory.getbasetemp() / "ecgtricks-cache"
    monkeypatch.setenv("ECGTRICKS_CACHE", str(root))
    # No W&B unless a test asks for it (offline): runs stay fast and nothing leaves the machine.
    monkeypatch.setenv("WANDB_MODE", "disabled")


@pytest.fixture(scope="session")
def paper_split(reference_dir: Path) -> Path:
    """The paper's own split.json (DSAIL_SNU, 10 folds), from the shared reference folder."""
    return reference_dir / "dsail2020-split" / "split.json"
