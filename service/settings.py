"""All configuration, from environment variables prefixed ``SCENARIO_MATCH_``."""
from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from matching.encoders import DEFAULT_MODEL

# keys copied from examples; a production deployment must set a key of its own
KNOWN_KEYS = {"change-me", "changeme", "secret", "dev", "development", "default", "please-change-me"}
MIN_PRODUCTION_KEY = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCENARIO_MATCH_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Holds the SQLite database and index files.")
    database_url: str | None = Field(
        None, description="Any SQLAlchemy URL; default: SQLite file scenario-match.db in data_dir."
    )
    model: str = Field(
        DEFAULT_MODEL,
        description="Encoder: the bundled multilingual-e5-small, or a sentence-transformers "
        "model name or local path.",
    )
    device: str | None = Field(None, description="Torch device for sentence-transformers models.")
    max_import_mb: float = Field(20.0, gt=0, description="Largest list file accepted for import.")
    secret_key: str | None = Field(
        None, description="Signs session cookies; default: a random key kept in data_dir/secret_key."
    )
    host: str = Field("127.0.0.1", description="Address `serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `serve` listens on.")
    environment: Literal["development", "production"] = Field(
        "development", description="`production` refuses to start without a secret key of its own."
    )
    max_body_kb: int = Field(1024, gt=0, description="Largest request body other than a list file.")
    search_per_minute: int = Field(60, ge=1, description="Public searches per client address per minute.")
    submit_per_hour: int = Field(20, ge=1, description="Firm submissions per client address per hour.")
    sync_seconds: float = Field(
        2.0, gt=0, description="How often a service process reads the change log of other processes."
    )

    @model_validator(mode="after")
    def _production_needs_a_key(self) -> "Settings":
        if self.environment == "production":
            key = (self.secret_key or "").strip()
            if not key or key.lower() in KNOWN_KEYS or len(key) < MIN_PRODUCTION_KEY:
                raise ValueError(
                    "SCENARIO_MATCH_ENVIRONMENT=production needs SCENARIO_MATCH_SECRET_KEY set to a "
                    f"random value of at least {MIN_PRODUCTION_KEY} characters "
                    "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
        return self

    @cached_property
    def url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'scenario-match.db'}"

    def session_secret(self) -> str:
        """The configured key, or one made once per data dir and kept there (mode 600)."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip()

    @property
    def max_import_bytes(self) -> int:
        return int(self.max_import_mb * 1024 * 1024)

    @property
    def max_body_bytes(self) -> int:
        return self.max_body_kb * 1024
