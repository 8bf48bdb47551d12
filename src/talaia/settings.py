"""Deployment settings, read from the environment (``TALAIA_*``) with pydantic-settings.

The defaults give a laptop installation: everything lives in one data folder, the store is an
SQLite file in WAL mode and the warehouse a DuckDB file beside it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Talaia's settings.

    Attributes
    ----------
    data_dir
        Folder holding the SQLite store, the DuckDB warehouse, uploads and generated files.
    database_url
        SQLAlchemy URL of the store. Empty means ``sqlite:///<data_dir>/talaia.sqlite``.
        ``postgresql+psycopg://user:pass@host/db`` selects PostgreSQL.
    warehouse_path
        DuckDB file of the analytics warehouse. Empty means ``<data_dir>/warehouse.duckdb``.
    secret_key
        Deployment secret. Keys the pseudonymization of personal identifiers (HMAC-SHA256) and
        signs session cookies. Generated into ``<data_dir>/secret.key`` on first use when unset.
    """

    model_config = SettingsConfigDict(env_prefix="TALAIA_", extra="ignore")

    data_dir: Path = Field(default=Path("talaia-data"))
    database_url: str = ""
    warehouse_path: str = ""
    secret_key: str = ""
    language: str = "en"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'talaia.sqlite').resolve()}"

    def resolved_warehouse_path(self) -> Path:
        if self.warehouse_path:
            return Path(self.warehouse_path)
        return self.data_dir / "warehouse.duckdb"

    def resolved_secret_key(self) -> bytes:
        """The deployment secret; created (0600) in the data folder when not configured."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            import secrets

            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()


@lru_cache
def get_settings() -> Settings:
    return Settings()
