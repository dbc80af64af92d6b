"""BM25 index over records (question + answers + options), persisted beside the store.

The index is rebuilt from the per-record token lists kept in SQLite, so a
rebuild never re-runs segmentation; it is tagged with the store generation and
rebuilt lazily when the store has changed since.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

INDEX_DIR = "bm25"


class LexicalIndex:
    def __init__(self, retriever, ids: list[str]) -> None:
        self.retriever = retriever
        self.ids = ids
        self.vocab = retriever.vocab_dict if retriever is not None else {}
        self._idf: dict[str, float] | None = None

    def idf(self, token: str) -> float:
        """Inverse document frequency; a token the bank never uses gets the highest value."""
        if self._idf is None:
            n = len(self.ids)
            df = np.zeros(len(self.vocab), dtype=np.int64)
            if self.retriever is not None:
                # Column j of the CSC score matrix lists the documents that contain token j.
                df = np.diff(np.asarray(self.retriever.scores["indptr"]))
            self._idf = {t: float(np.log((n + 1) / (df[j] + 0.5))) for t, j in self.vocab.items() if j < len(df)}
        return self._idf.get(token, self.idf_max)

    @property
    def idf_max(self) -> float:
        """The IDF of a token no record holds: it grows with the bank (5.3 at 100 records, 8.9 at 4,000), so
        scores compared across banks are divided by it."""
        return float(np.log((len(self.ids) + 1) / 0.5))

    def scores(self, tokens: list[str]) -> np.ndarray:
        known = [t for t in tokens if t in self.vocab]
        if self.retriever is None or not known:
            return np.zeros(len(self.ids), dtype=np.float32)
        return self.retriever.get_scores(known)

    def top(self, tokens: list[str], k: int) -> list[tuple[str, float]]:
        s = self.scores(tokens)
        if not len(s):
            return []
        k = min(k, len(s))
        idx = np.argpartition(-s, k - 1)[:k]
        idx = idx[np.argsort(-s[idx])]
        return [(self.ids[i], float(s[i])) for i in idx if s[i] > 0]


def build(store) -> LexicalIndex:
    import bm25s

    ids, tokens = store.all_tokens()
    target = store.path / INDEX_DIR
    tmp = store.path / (INDEX_DIR + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    retriever = None
    if ids:
        retriever = bm25s.BM25()
        retriever.index([t or [""] for t in tokens], show_progress=False)
        retriever.save(str(tmp), show_progress=False)
    (tmp / "ids.json").write_text(json.dumps({"generation": store.generation, "ids": ids}))
    # Swap in the finished index so a reader never sees a half-written one.
    old = store.path / (INDEX_DIR + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return LexicalIndex(retriever, ids)


def load(store) -> LexicalIndex:
    """Load the saved index, rebuilding it first if it is missing or older than the store."""
    import bm25s

    target = Path(store.path) / INDEX_DIR
    try:
        meta = json.loads((target / "ids.json").read_text())
    except (OSError, ValueError):
        return build(store)
    if meta.get("generation") != store.generation:
        return build(store)
    if not meta["ids"]:
        return LexicalIndex(None, [])
    retriever = bm25s.BM25.load(str(target), mmap=False, show_progress=False)
    return LexicalIndex(retriever, meta["ids"])
