"""Entry-point factory: builds the store, embedder, tokenizer and retriever once and passes them on."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ingest.embed import Embedder, make_embedder
from bot.settings import Settings
from ingest.store import Store


def quiet_third_parties() -> None:
    """Telemetry and analytics off, offline model loading: set before chromadb/gradio are imported."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@dataclass
class Context:
    settings: Settings
    store_dir: Path
    job: str = "query"  # "ingest" for a process that only builds the bank: the encoder may use idle cores

    @cached_property
    def embedder(self) -> Embedder:
        return make_embedder(self.settings, self.job)

    @cached_property
    def tokenizer(self):
        from ingest.tokenize import Tokenizer

        return Tokenizer()

    def open_store(self, *, create: bool = False, path: Path | None = None) -> Store:
        return Store(path or self.store_dir, self.embedder, create=create, chroma_url=self.settings.chroma_url)

    @cached_property
    def store(self) -> Store:
        return self.open_store()

    @cached_property
    def llm(self):
        """The configured LLM backend (``bot.llm.LLM``), or None for the offline default. Built on first use:
        ``local`` starts a loopback model server, which only the features that talk to a model should pay for."""
        from bot.llm.backends import make_llm

        return make_llm(self.settings)

    @cached_property
    def llm_roles(self):
        """Feedback, follow-up, lookup and scoring roles over ``llm``; with no LLM every role returns its
        offline text, so callers need no ``if``."""
        from bot.llm.roles import LLMRoles

        return LLMRoles(self.llm, score_bound=self.settings.llm_score_bound)

    @cached_property
    def retriever(self):
        from bot.lookup.rerank import load_reranker
        from bot.lookup.retrieval import Retriever

        return Retriever(self.store, self.tokenizer, load_reranker(self.embedder.states_model))


def build_context(store: Path | None = None, settings: Settings | None = None, *, job: str = "query") -> Context:
    quiet_third_parties()
    settings = settings or Settings()
    return Context(settings=settings, store_dir=settings.store_dir(store), job=job)
