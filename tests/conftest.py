from __future__ import annotations

from pathlib import Path

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


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # Never touch the user's ~/.cache from tests; one cache root for the whole session.
    root = tmp_path_factory.getbasetemp() / "ecgtricks-cache"
    monkeypatch.setenv("ECGTRICKS_CACHE", str(root))
    # No W&B unless a test asks for it (offline): runs stay fast and nothing leaves the machine.
    monkeypatch.setenv("WANDB_MODE", "disabled")
