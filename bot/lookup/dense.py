"""Exact dense search in memory for banks of up to ``MAX_VECTORS`` chunks.

A Chroma query costs ~4 ms on a 200-chunk bank, most of it client and HNSW overhead, which on the query
path is a quarter of the query encode itself. One matrix product over a few tens of thousands of
384-dim vectors costs about a millisecond and is exact. The matrix is read from the store once per store
state (generation + pending chunks) and kept; larger banks keep using Chroma's index, where a full scan
would cost more than the index (and the memory would not be worth it).
"""

from __future__ import annotations

import numpy as np

from bot.lang import language_of
from ingest.store import Store

MAX_VECTORS = 60_000  # 92 MB of float32 at 384 dims


class DenseIndex:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._key: tuple | None = None
        self._ids: list[str] = []
        self._owners: list[str] = []
        self._langs: dict[str, np.ndarray] = {}
        self._roles: dict[str, str] = {}
        self._vecs: np.ndarray | None = None

    def _load(self) -> bool:
        """True when the in-memory matrix is current and the bank is small enough to use it."""
        key = (self.store.generation, self.store.count_pending())
        if key != self._key:
            self._key = key
            self._vecs = None
            self._roles = {}
            if self.store.vector_count() <= MAX_VECTORS:
                self._ids, self._owners, self._vecs, langs = self._read_all()
                self._langs = {lang: np.flatnonzero(langs == lang) for lang in ("zh", "en")}
                self._roles = self.store.chunk_roles(self._ids) if self._ids else {}
        return self._vecs is not None

    def _read_all(self, batch: int = 5000) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
        """Every vector in the chunk collection with its record id (kept in each vector's metadata) and the
        language of its text."""
        coll = self.store.collection
        ids: list[str] = []
        owners: list[str] = []
        langs: list[str] = []
        parts: list[np.ndarray] = []
        for offset in range(0, self.store.vector_count(), batch):
            res = coll.get(include=["embeddings", "metadatas"], limit=batch, offset=offset)
            ids += res["ids"]
            owners += [m["record_id"] for m in res["metadatas"]]
            texts = self.store.chunk_texts(res["ids"])
            langs += [language_of(texts.get(c, "")) for c in res["ids"]]
            parts.append(np.asarray(res["embeddings"], dtype=np.float32).reshape(len(res["ids"]), -1))
        dim = getattr(self.store.embedder, "dim", 0)
        return (ids, owners, (np.concatenate(parts) if parts else np.zeros((0, dim), np.float32)),
                np.asarray(langs, dtype=object))

    def roles(self, chunk_ids: list[str]) -> dict[str, str]:
        """Roles (question, answer, passage) of these chunks: held with the matrix, else read from the store."""
        if self._vecs is not None:
            return {c: self._roles[c] for c in chunk_ids if c in self._roles}
        return self.store.chunk_roles(chunk_ids)

    def query(self, vector: np.ndarray, n: int, *, lang: str | None = None) -> tuple[list, list]:
        """(chunk id, record id, cosine similarity) of the best ``n`` chunks, best first — as
        ``Store.query_vectors`` — and, with ``lang``, of the best ``n`` chunks written in that language (from
        the same product; a bank too large for memory answers [] for those)."""
        if not self._load():
            return self.store.query_vectors(vector, n), []
        if not len(self._ids):
            return [], []
        # einsum, not BLAS: OpenBLAS wakes its threads for a matrix-vector product, and on the query path
        # (right after the encoder's threads) that cost ~3 ms on a 13k-chunk bank against 0.8 ms here.
        sims = np.einsum("ij,j->i", self._vecs, np.asarray(vector, dtype=np.float32))
        rows = self._langs.get(lang) if lang else None
        return self._best(sims, None, n), ([] if rows is None else self._best(sims[rows], rows, n))

    def _best(self, sims: np.ndarray, rows: np.ndarray | None, n: int) -> list[tuple[str, str, float]]:
        """The best ``n`` of ``sims``; ``rows`` maps its positions to chunk positions when it is a subset."""
        n = min(n, len(sims))
        if not n:
            return []
        idx = np.argpartition(-sims, n - 1)[:n]
        idx = idx[np.argsort(-sims[idx])]
        at = idx if rows is None else rows[idx]
        return [(self._ids[j], self._owners[j], float(sims[i])) for i, j in zip(idx, at)]
