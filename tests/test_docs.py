"""The README documents every setting and the commands it promises."""
from __future__ import annotations

from service.settings import Settings
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert f"SCENARIO_MATCH_{name.upper()}" in README, name


def test_ci_runs_the_readme_test_command() -> None:
    assert "scripts/test" in README and "scripts/run" in README
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
