"""``scenario-match backup PATH`` and ``restore PATH``, safe while the service runs."""
from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the backup and restore commands to the CLI."""
