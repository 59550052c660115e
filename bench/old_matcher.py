"""The matcher as it was at a given commit, for before/after runs in one process: its
``matching/engine.py`` and ``matching/index.py`` are read from git into a temporary package
``before`` (nothing is copied into the repo)."""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMIT = "2b43c8f"  # the last commit before issue #6's matcher changes


def install(commit: str = COMMIT) -> None:
    """Make ``import before.engine`` give the engine of ``commit``."""
    package = Path(tempfile.mkdtemp(prefix="before-")) / "before"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("engine", "index"):
        source = subprocess.run(["git", "show", f"{commit}:matching/{name}.py"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout
        (package / f"{name}.py").write_text(source.replace("from matching.index import", "from before.index import"))
    sys.path.insert(0, str(package.parent))
