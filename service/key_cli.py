"""``scenario-match keys``: create, list and revoke API keys."""
from __future__ import annotations

import typer

keys_app = typer.Typer(help="API keys for integrators and organisers (shown once, stored hashed).",
                       no_args_is_help=True)
