"""Settings, read once at the edges (CLI and API) from ``MATCHER_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from matcher.retrieval.embed import MODELS
from matcher.retrieval.index import KINDS

DEFAULT_MODEL = "minilm-int8+use-m3"


class Settings(BaseSettings):
    """Where data lives and which model ranks. Library code never reads these itself."""

    model_config = SettingsConfigDict(env_prefix="MATCHER_", extra="ignore")

    home: Path = Path("var")
    database_url: str = ""  # default: SQLite file under ``home``
    model: str = DEFAULT_MODEL
    index_kind: str = "auto"
    ranker: str = "auto"  # auto (the shipped ranker if it won on the development split), off, or a folder
    host: str = "127.0.0.1"
    port: int = 8000
    public_search: bool = False  # anonymous, read-only search over public profiles
    max_body_bytes: int = 1_000_000  # request bodies; uploads to the import endpoint may be 20 MB
    # stopping (SIGTERM, SIGINT): /ready answers 503 for ``drain_delay`` s while requests are still served,
    # then no new connections; requests in flight get at most ``drain_timeout`` s more
    drain_delay: float = Field(0.0, ge=0, le=300)
    drain_timeout: float = Field(20.0, gt=0, le=600)
    # ``serve --workers N``: a dead worker is replaced, unless more than ``restart_limit`` workers died
    # within ``restart_window`` s (a crash loop): then the service stops with exit status 1
    restart_limit: int = Field(5, ge=0, le=1000)
    restart_window: float = Field(60.0, gt=0, le=86_400)
    # shared bulk embedding (PostgreSQL): seconds a claimed batch stays with its worker unless renewed (a live
    # worker renews it after each of the encoder's internal batches); a dead worker's batch is taken again after it
    embed_lease: float = Field(60.0, gt=0, le=86_400)
    # a served host syncs as soon as PostgreSQL announces a change (LISTEN/NOTIFY); where changes are not
    # announced (SQLite, a lost connection) it reads the change number every ``follow_poll`` s
    follow_poll: float = Field(5.0, ge=0.1, le=3600)
    # seconds a query waits for a catch-up before it is answered from the previous snapshot; unset: it waits
    # until the catch-up ends (a write is always found by the next query). For large catalogues (a catch-up
    # after text changes took 7 minutes at a million organisations), see docs/DEPLOY.md
    sync_wait: float | None = Field(None, ge=0, le=86_400)

    @field_validator("model")
    @classmethod
    def _known_model(cls, v: str) -> str:
        if v not in MODELS:
            raise ValueError(f"unknown model {v!r}; expected one of: {', '.join(MODELS)}")
        return v

    @field_validator("index_kind")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        if v not in KINDS:
            raise ValueError(f"index_kind must be one of {', '.join(KINDS)}")
        return v

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'matcher.db').resolve()}"

    @property
    def index_dir(self) -> Path:
        """One index folder per model, so switching models back and forth never mixes vectors."""
        return self.home / "index" / self.model.replace("+", "_")


@lru_cache
def get_settings() -> Settings:
    return Settings()
