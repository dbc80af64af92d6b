"""Caches the grader keeps per process: e5 vectors and jieba tokens by text, and an on-disk vector cache for
fitting and evaluation runs (the same texts are embedded again on every run otherwise)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path

import numpy as np


class EmbedCache:
    """LRU of L2-normalised vectors keyed by (kind, text); one batched encode per call for the misses.

    Also caches jieba tokens of texts that recur (references, key points, questions): segmentation of a
    long reference costs more than the arithmetic of a whole grade.
    """

    def __init__(self, embedder, size: int = 8192) -> None:
        self.embedder = embedder
        self.size = size
        self._d: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._tok: OrderedDict[str, tuple[str, ...]] = OrderedDict()

    def get(self, texts: list[str], kind: str = "passage") -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if (kind, t) not in self._d]
        if missing:
            enc = self.embedder.encode_queries if kind == "query" else self.embedder.encode_documents
            for t, v in zip(missing, enc(missing)):
                self._d[(kind, t)] = v
        out = []
        for t in texts:
            self._d.move_to_end((kind, t))
            out.append(self._d[(kind, t)])
        while len(self._d) > self.size:
            self._d.popitem(last=False)
        dim = getattr(self.embedder, "dim", 0)
        return np.stack(out) if out else np.zeros((0, dim), dtype=np.float32)

    def put(self, texts: list[str], vecs: np.ndarray, kind: str = "passage") -> None:
        """Vectors computed elsewhere (the store's Chroma collection) so they are not encoded again."""
        for t, v in zip(texts, vecs):
            self._d[(kind, t)] = np.asarray(v, dtype=np.float32)
        while len(self._d) > self.size:
            self._d.popitem(last=False)

    def tokens(self, tokenizer, text: str) -> tuple[str, ...]:
        hit = self._tok.get(text)
        if hit is None:
            hit = self._tok[text] = tuple(tokenizer.tokens(text))
            if len(self._tok) > self.size:
                self._tok.popitem(last=False)
        return hit



class _NpzCache:
    """Arrays by key in one .npz, read at start and written by ``save`` when something was added."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._d: dict[str, np.ndarray] = {}
        self._dirty = False
        if self.path.exists():
            with np.load(self.path) as z:
                self._d = {k: z[k] for k in z.files}

    def save(self) -> None:
        if self._dirty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(self.path, **self._d)
            self._dirty = False


class DiskCachedEmbedder(_NpzCache):
    """Wraps an embedder: vectors by (kind, text) in one .npz per embedder, saved by ``save``. Dev runs only."""

    def __init__(self, embedder, path: Path) -> None:
        super().__init__(path)
        self.embedder = embedder
        self.name = getattr(embedder, "name", "embedder")
        self.dim = getattr(embedder, "dim", 0)

    @staticmethod
    def _key(kind: str, text: str) -> str:
        return kind[0] + hashlib.sha1(text.encode("utf-8")).hexdigest()

    def _encode(self, texts: list[str], kind: str) -> np.ndarray:
        keys = [self._key(kind, t) for t in texts]
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in self._d))
        if missing:
            enc = self.embedder.encode_queries if kind == "query" else self.embedder.encode_documents
            for t, v in zip(missing, enc(missing)):
                self._d[self._key(kind, t)] = np.asarray(v, np.float32)
            self._dirty = True
        return np.stack([self._d[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), "passage")

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), "query")


class DiskCachedStates(_NpzCache):
    """Wraps the token-state reader: states by text in one .npz (float16, the head's token cap), saved by
    ``save``. Dev runs only: a fit reads the states of ~4,500 texts."""

    def __init__(self, encoder, path: Path, max_tokens: int) -> None:
        super().__init__(path)
        self.encoder, self.max_tokens = encoder, max_tokens

    def states(self, text: str, max_tokens: int | None = None) -> np.ndarray:
        if max_tokens not in (None, self.max_tokens):
            raise ValueError(f"this cache holds states of the first {self.max_tokens} tokens, not {max_tokens}")
        key = f"s{self.max_tokens}" + hashlib.sha1(text.encode("utf-8")).hexdigest()
        hit = self._d.get(key)
        if hit is None:
            hit = self._d[key] = self.encoder.states(text, self.max_tokens).astype(np.float16)
            self._dirty = True
        return hit
