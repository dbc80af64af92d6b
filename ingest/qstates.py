"""Stored token states of record questions: the SQL behind them (mixed into ``ingest.store.Store``) and their upkeep.

Lookup reranks its candidates by aligning the query's tokens with each candidate question's (see
``bot.lookup.rerank``). Encoding twenty questions per query would cost more than the search, so ingest reads
every question once and stores its unit token states as int8 (a question of 20 tokens takes 7.5 KB). Each row
carries a hash of the question text and of the states model, so an edited question or a new model is read
again and unchanged ones never are.
"""

from __future__ import annotations

import hashlib
from typing import Callable

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS question_states (
    record_id TEXT PRIMARY KEY, qhash TEXT NOT NULL, rows INTEGER NOT NULL, states BLOB NOT NULL
);
"""
BATCH = 64


def question_hash(question: str, model: str) -> str:
    return hashlib.sha1(f"{model}\n{question}".encode("utf-8")).hexdigest()[:16]


def pack(states: np.ndarray) -> bytes:
    return np.clip(np.rint(states * 127.0), -127, 127).astype(np.int8).tobytes()


def unpack(blob: bytes, rows: int) -> np.ndarray:
    q = np.frombuffer(blob, dtype=np.int8)
    return (q.reshape(rows, -1).astype(np.float32) / 127.0) if rows else np.zeros((0, 0), np.float32)


class StateTables:
    """The ``question_states`` table (``self.db`` is the store's)."""

    def question_states(self, ids: list[str], model: str) -> dict[str, np.ndarray]:
        """Stored states of these records whose question is unchanged since they were read (others are absent)."""
        return {rid: unpack(blob, n) for rid, (blob, n) in self.packed_question_states(ids, model).items()}

    def packed_question_states(self, ids: list[str], model: str) -> dict[str, tuple[bytes, int]]:
        """The same as stored: (int8 blob, rows) for ``unpack`` — a quarter of the memory for who keeps them."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT s.record_id, s.qhash, s.rows, s.states, r.question FROM question_states s "
            f"JOIN records r ON r.id = s.record_id WHERE s.record_id IN ({marks})", ids).fetchall()
        return {rid: (blob, n) for rid, h, n, blob, q in rows if h == question_hash(q, model)}

    def questions_without_states(self, model: str) -> list[tuple[str, str]]:
        """(record id, question) of every record with no current states."""
        have = dict(self.db.execute("SELECT record_id, qhash FROM question_states").fetchall())
        return [(rid, q) for rid, q in self.db.execute("SELECT id, question FROM records ORDER BY id")
                if have.get(rid) != question_hash(q, model)]

    def put_question_states(self, items: list[tuple[str, str, np.ndarray]], model: str) -> None:
        """Store (record id, question, unit states) rows and drop rows of records that are gone."""
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO question_states(record_id, qhash, rows, states) VALUES (?,?,?,?)",
                           [(rid, question_hash(q, model), len(s), pack(s)) for rid, q, s in items])
            db.execute("DELETE FROM question_states WHERE record_id NOT IN (SELECT id FROM records)")


def ensure_question_states(store, embedder, progress: Callable[[str, int, int], None] | None = None) -> int:
    """Read the questions that have no current states (none for a backend without token states); how many.
    Resumable like the vectors: each batch commits, and a rerun reads only what is still missing."""
    model = embedder.states_model
    if model is None:
        return 0
    todo = store.questions_without_states(model)
    for start in range(0, len(todo), BATCH):
        part = todo[start : start + BATCH]
        store.put_question_states([(rid, q, embedder.question_states(q)) for rid, q in part], model)
        if progress:
            progress("states", min(start + BATCH, len(todo)), len(todo))
    return len(todo)
