"""The store: SQLite is the source of truth for records; Chroma holds chunk vectors.

Layout of a store directory::

    records.sqlite   files, occurrences (one per question found in a file), records, chunks,
                     question token states (``ingest.qstates``)
    chroma/          persistent Chroma collection "chunks" (or a Chroma server, see MIANSHI_CHROMA_URL)
    bm25/            lexical index over records, rebuilt when ``generation`` changes

Why SQLite for records: joins (record ↔ occurrences ↔ files) and atomic
per-file transactions make ingest resumable; Chroma metadata cannot express
that. Its limit is one writer at a time (WAL lets readers go on).

Chunk ids are content hashes and each chunk row carries an ``embedded`` flag,
so a killed ingest resumes by embedding only what is missing, and unchanged
text is never embedded twice. Chunks to drop from Chroma are queued in
``pending_delete`` inside the same transaction that removed them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from ingest.errors import ChromaUnavailableError, NoStoreError, StoreMismatchError, StoreVersionError
from ingest.curation import SCHEMA as CURATION_SCHEMA, CurationTables
from ingest.schema import Answer, Chunk, Record
from ingest.qstates import SCHEMA as STATES_SCHEMA, StateTables
from ingest.tokens import TokenTables

SCHEMA_VERSION = 4
DB_NAME = "records.sqlite"
COLLECTION = "chunks"

# The current schema, for a new store; existing stores are brought up to it by ``MIGRATIONS``.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
    questions INTEGER NOT NULL, plain INTEGER NOT NULL DEFAULT 0, ingested_at TEXT NOT NULL,
    title TEXT, rel_path TEXT
);
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY, qkey TEXT NOT NULL, question TEXT NOT NULL, kind TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}', correct TEXT, topics TEXT NOT NULL DEFAULT '[]',
    key_points TEXT NOT NULL DEFAULT '[]', tokens TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS records_qkey ON records(qkey);
CREATE TABLE IF NOT EXISTS occurrences (
    path TEXT NOT NULL REFERENCES files(path) ON DELETE CASCADE, position INTEGER NOT NULL,
    record_id TEXT NOT NULL, question TEXT NOT NULL, answer TEXT,
    kind TEXT NOT NULL DEFAULT 'open', options TEXT NOT NULL DEFAULT '{}', correct TEXT,
    display TEXT, section TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (path, position)
);
CREATE INDEX IF NOT EXISTS occurrences_record ON occurrences(record_id);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, record_id TEXT NOT NULL, text TEXT NOT NULL, role TEXT NOT NULL,
    embedded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS chunks_record ON chunks(record_id);
CREATE INDEX IF NOT EXISTS chunks_pending ON chunks(embedded) WHERE embedded = 0;
CREATE TABLE IF NOT EXISTS pending_delete (id TEXT PRIMARY KEY);
""" + CURATION_SCHEMA + STATES_SCHEMA

# Migrations from version N to N+1; a store older than the oldest entry is refused.
MIGRATIONS: dict[int, str] = {
    # v2: display form of answers (Markdown + LaTeX), section paths, document titles and relative
    # paths. Emptying the stored hashes makes the next ingest re-read every file so old records
    # gain them; chunk ids are content hashes, so unchanged text is not embedded again.
    1: "ALTER TABLE occurrences ADD COLUMN display TEXT; "
       "ALTER TABLE occurrences ADD COLUMN section TEXT NOT NULL DEFAULT '[]'; "
       "ALTER TABLE files ADD COLUMN title TEXT; "
       "ALTER TABLE files ADD COLUMN rel_path TEXT; "
       "UPDATE files SET sha256 = ''",
    # v3: curation — a user's edits, single-record deletions and problem flags (``ingest.curation``).
    2: CURATION_SCHEMA,
    # v4: token states of questions for lookup's reranker (``ingest.qstates``); the next ingest fills them.
    3: STATES_SCHEMA,
}


class Store(CurationTables, TokenTables, StateTables):
    """Open a store directory. ``create=False`` refuses a missing store with a helpful error."""

    def __init__(self, path: Path, embedder=None, *, create: bool = False, chroma_url: str | None = None):
        self.path = Path(path)
        self.db_path = self.path / DB_NAME
        if not self.db_path.exists() and not create:
            raise NoStoreError(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.db_path, timeout=30, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()
        self.embedder = embedder
        self.chroma_url = chroma_url
        self._collection = None
        self._count_cache: tuple | None = None
        if embedder is not None:
            self._check_embedder(embedder)

    # --- schema -------------------------------------------------------------------------
    def _migrate(self) -> None:
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" not in tables or self.meta("schema_version") is None:
            # executescript commits on its own; the script is idempotent (IF NOT EXISTS), so a
            # crash half-way is repaired by the next open.
            self.db.executescript(_SCHEMA)
            with self.transaction():
                self._set_meta("schema_version", str(SCHEMA_VERSION))
                self._set_meta("generation", "0")
                # Names this store's collection, so several stores can share one Chroma server.
                self._set_meta("store_id", uuid.uuid4().hex)
            return
        version = int(self.meta("schema_version", "0"))
        if version > SCHEMA_VERSION or (version < SCHEMA_VERSION and version not in MIGRATIONS):
            raise StoreVersionError(self.path, version, SCHEMA_VERSION)
        while version < SCHEMA_VERSION:
            # Each migration script runs in its own transaction together with the version bump.
            self.db.executescript(
                f"BEGIN; {MIGRATIONS[version]}; "
                f"UPDATE meta SET value='{version + 1}' WHERE key='schema_version'; COMMIT;"
            )
            version += 1

    def _check_embedder(self, embedder) -> None:
        stored = self.meta("embedder")
        if stored is None:
            with self.transaction():
                self._set_meta("embedder", embedder.name)
                self._set_meta("dim", str(embedder.dim))
        elif stored != embedder.name:
            raise StoreMismatchError(
                f"题库向量模型不一致 store at {self.path} was built with embedder '{stored}', "
                f"but '{embedder.name}' is configured — set MIANSHI_EMBEDDER={stored} "
                f"or run `mianshi ingest --rebuild`"
            )

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @property
    def generation(self) -> int:
        return int(self.meta("generation", "0"))

    def bump_generation(self) -> None:
        self._set_meta("generation", str(self.generation + 1))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    # --- Chroma -------------------------------------------------------------------------
    @property
    def collection(self):
        if self._collection is None:
            if self.embedder is None:
                raise RuntimeError("this Store was opened without an embedder")
            store_id = self.meta("store_id")
            # Stores made before store ids existed keep their original collection name.
            name = f"{COLLECTION}-{store_id[:16]}" if store_id else COLLECTION
            self._collection = open_collection(self.path, self.embedder, self.chroma_url, name)
        return self._collection

    def add_vectors(self, ids: list[str], vectors: np.ndarray, record_ids: list[str]) -> None:
        self.collection.upsert(ids=ids, embeddings=vectors, metadatas=[{"record_id": r} for r in record_ids])

    def delete_vectors(self, ids: list[str]) -> None:
        if ids:
            self.collection.delete(ids=ids)

    def vector_count(self) -> int:
        """Vectors in the collection, cached per store generation (a Chroma count costs ~10 ms)."""
        gen = (self.generation, self.count_pending())
        if self._count_cache is None or self._count_cache[0] != gen:
            self._count_cache = (gen, self.collection.count())
        return self._count_cache[1]

    def query_vectors(self, vector: np.ndarray, n: int) -> list[tuple[str, str, float]]:
        """(chunk id, record id, cosine similarity), best first."""
        count = self.vector_count()
        if count == 0:
            return []
        res = self.collection.query(
            query_embeddings=vector.reshape(1, -1), n_results=min(n, count), include=["metadatas", "distances"]
        )
        return [
            (cid, meta["record_id"], 1.0 - float(dist))
            for cid, meta, dist in zip(res["ids"][0], res["metadatas"][0], res["distances"][0])
        ]

    # --- reads --------------------------------------------------------------------------
    def count_records(self, include_passages: bool = True) -> int:
        sql = "SELECT COUNT(*) FROM records" + ("" if include_passages else " WHERE kind != 'passage'")
        return self.db.execute(sql).fetchone()[0]

    def record_ids(self, include_passages: bool = False) -> list[str]:
        sql = "SELECT id FROM records" + ("" if include_passages else " WHERE kind != 'passage'") + " ORDER BY id"
        return [r[0] for r in self.db.execute(sql)]

    def get_records(self, ids: list[str]) -> list[Record]:
        """Records in the order of ``ids`` (missing ids are dropped)."""
        if not ids:
            return []
        out: dict[str, Record] = {}
        for chunk_start in range(0, len(ids), 500):
            part = ids[chunk_start : chunk_start + 500]
            marks = ",".join("?" * len(part))
            rows = self.db.execute(f"SELECT * FROM records WHERE id IN ({marks})", part).fetchall()
            answers = self._answers_for([r["id"] for r in rows])
            for r in rows:
                out[r["id"]] = Record(
                    id=r["id"],
                    question=r["question"],
                    answers=answers.get(r["id"], []),
                    kind=r["kind"],
                    options=json.loads(r["options"]),
                    correct=r["correct"],
                    topics=json.loads(r["topics"]),
                    key_points=json.loads(r["key_points"]),
                )
        return [out[i] for i in ids if i in out]

    def _answers_for(self, ids: list[str]) -> dict[str, list[Answer]]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT o.record_id, o.path, o.position, o.answer, o.display, o.section, f.title, f.rel_path "
            f"FROM occurrences o LEFT JOIN files f ON f.path = o.path WHERE o.record_id IN ({marks}) "
            f"AND o.answer IS NOT NULL AND o.answer != '' ORDER BY o.record_id, o.path, o.position",
            ids,
        )
        out: dict[str, list[Answer]] = {}
        seen: set[tuple[str, str]] = set()
        edits = self.edits_for(ids)
        for rid, path, pos, text, display, section, title, rel_path in rows:
            if rid in edits:
                # An edited record has one answer, the user's, cited to where the record came from.
                if rid in out:
                    continue
                text = display = edits[rid].answer
            if (rid, text) in seen:
                continue
            seen.add((rid, text))
            out.setdefault(rid, []).append(Answer(
                text=text, source=f"{path}#{pos}", display=display, section=json.loads(section or "[]"),
                title=title, rel_path=rel_path,
            ))
        for rid, e in edits.items():  # edited records that had no answer in their documents
            if rid not in out and e.answer.strip():
                out[rid] = [Answer(text=e.answer, display=e.answer, source=self.record_source(rid))]
        return out

    def iter_records(self, batch: int = 500, include_passages: bool = False) -> Iterator[Record]:
        ids = self.record_ids(include_passages=include_passages)
        for i in range(0, len(ids), batch):
            yield from self.get_records(ids[i : i + batch])

    def sources(self) -> list[dict]:
        rows = self.db.execute(
            "SELECT f.path, f.questions, f.plain, f.ingested_at, f.title, f.rel_path, "
            "COUNT(DISTINCT o.record_id) AS records "
            "FROM files f LEFT JOIN occurrences o ON o.path = f.path GROUP BY f.path ORDER BY f.path"
        )
        return [dict(r) for r in rows]

    def pending_chunks(self, limit: int) -> list[Chunk]:
        rows = self.db.execute(
            "SELECT id, record_id, text, role FROM chunks WHERE embedded = 0 LIMIT ?", (limit,)
        ).fetchall()
        return [Chunk(id=r[0], record_id=r[1], text=r[2], role=r[3]) for r in rows]

    def count_pending(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM chunks WHERE embedded = 0").fetchone()[0]

    def mark_embedded(self, ids: list[str]) -> None:
        with self.transaction():
            self.db.executemany("UPDATE chunks SET embedded = 1 WHERE id = ?", [(i,) for i in ids])

    def pending_deletes(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM pending_delete")]

    def clear_pending_deletes(self, ids: list[str]) -> None:
        with self.transaction():
            self.db.executemany("DELETE FROM pending_delete WHERE id = ?", [(i,) for i in ids])

    # --- queries the app layer needs (it never writes SQL against these tables) ----------
    def records_by(self, kinds: Iterable[str] = ("open", "choice"), topics: Iterable[str] = (), *,
                   include_flagged: bool = False) -> list[Record]:
        """Records of the given kinds, tagged with at least one of ``topics`` (any topic when empty). Records
        someone flagged as broken are left out unless ``include_flagged``: an interview should not ask them."""
        kinds, topics = list(kinds), list(topics)
        if not kinds:
            return []
        sql = f"SELECT id FROM records r WHERE kind IN ({','.join('?' * len(kinds))})"
        args: list[str] = [*kinds]
        if topics:
            sql += f" AND EXISTS (SELECT 1 FROM json_each(r.topics) t WHERE t.value IN ({','.join('?' * len(topics))}))"
            args += topics
        if not include_flagged:
            sql += " AND NOT EXISTS (SELECT 1 FROM flags f WHERE f.record_id = r.id)"
        return self.get_records([row[0] for row in self.db.execute(sql + " ORDER BY id", args)])

    def chunk_roles(self, chunk_ids: list[str]) -> dict[str, str]:
        """Chunk id → its role (question, answer, passage)."""
        return self._chunk_column(chunk_ids, "role")

    def chunk_texts(self, chunk_ids: list[str]) -> dict[str, str]:
        """Chunk id → its text (Chroma keeps only the vectors)."""
        return self._chunk_column(chunk_ids, "text")

    def _chunk_column(self, chunk_ids: list[str], column: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for i in range(0, len(chunk_ids), 500):
            part = chunk_ids[i : i + 500]
            out.update(self.db.execute(f"SELECT id, {column} FROM chunks WHERE id IN ({','.join('?' * len(part))})",
                                       part).fetchall())
        return out

    def answer_chunk_vectors(self) -> tuple[list[tuple[str, str, str]], np.ndarray]:
        """Every embedded answer chunk of an open question, as (record id, chunk text, question), with the
        vectors ingest stored for them (L2-normalised; nothing is re-encoded)."""
        rows = self.db.execute(
            "SELECT c.id, c.record_id, c.text, r.question FROM chunks c JOIN records r ON r.id = c.record_id "
            "WHERE c.role = 'answer' AND c.embedded = 1 AND r.kind = 'open' ORDER BY c.id").fetchall()
        got: dict[str, np.ndarray] = {}
        ids = [r[0] for r in rows]
        for i in range(0, len(ids), 1000):
            res = self.collection.get(ids=ids[i : i + 1000], include=["embeddings"])
            for cid, v in zip(res["ids"], res["embeddings"]):
                got[cid] = np.asarray(v, dtype=np.float32)
        rows = [r for r in rows if r[0] in got]
        dim = getattr(self.embedder, "dim", 0) if self.embedder is not None else 0
        vecs = np.stack([got[r[0]] for r in rows]) if rows else np.zeros((0, dim), np.float32)
        vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)
        return [(r[1], r[2], r[3]) for r in rows], vecs

    def record_source(self, record_id: str) -> str:
        """Where a record was first found, as ``path#position`` ("" when unknown): also for a choice question
        that has no answer text."""
        row = self.db.execute(
            "SELECT path, position FROM occurrences WHERE record_id=? ORDER BY path, position LIMIT 1", (record_id,)
        ).fetchone()
        return f"{row[0]}#{row[1]}" if row else ""


def open_collection(path: Path, embedder, chroma_url: str | None = None, name: str = COLLECTION):
    """Open the chunk collection, always passing our embedding function (Chroma's default downloads)."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    ef = embedder.chroma()
    if not chroma_url:
        client = chromadb.PersistentClient(path=str(Path(path) / "chroma"), settings=chroma_settings)
        return client.get_or_create_collection(name, embedding_function=ef, configuration={"hnsw": {"space": "cosine"}})
    from urllib.parse import urlparse

    u = urlparse(chroma_url)
    try:
        client = chromadb.HttpClient(
            host=u.hostname or "127.0.0.1", port=u.port or 8000, ssl=u.scheme == "https", settings=chroma_settings
        )
        return client.get_or_create_collection(name, embedding_function=ef, configuration={"hnsw": {"space": "cosine"}})
    except Exception as exc:  # connection refused, DNS, TLS: all mean the same to the user
        raise ChromaUnavailableError(chroma_url, exc) from None


def store_exists(path: Path) -> bool:
    return (Path(path) / DB_NAME).exists()
