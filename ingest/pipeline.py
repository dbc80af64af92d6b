"""Ingest orchestration: files → records (one SQLite transaction per file) → vectors → question states → BM25.

Idempotent: a file whose bytes hash the same as last time is skipped.
Resumable: each file commits atomically, chunk vectors are written after the
commit and flagged per chunk, so a killed run leaves either a whole file or
none of it, and the next run embeds whatever is still unflagged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ingest import lexical
from ingest.chunk import chunk_text
from ingest.dedupe import KeyIndex, canonical_key, record_id
from ingest.errors import InputError
from ingest.formats import NavigationFile, load_document, parser_version
from ingest.keypoints import key_points
from ingest.qstates import ensure_question_states
from ingest.read import SUPPORTED_SUFFIXES, _show, read_bytes
from ingest.schema import IngestSummary, ParsedDocument, SkippedFile
from ingest.store import Store
from ingest.tokens import ensure_tokens, token_text
from ingest.topics import tag_topics

# progress(stage, done, total): the CLI and the app draw bars from it; library code never prints.
Progress = Callable[[str, int, int], None]
EMBED_BATCH = 64


def _noop(stage: str, done: int, total: int) -> None:
    pass


def source_name(path: Path) -> str:
    """How a file is named in sources: relative to the working directory when inside it."""
    path = path.resolve()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def discover(paths: list[Path]) -> tuple[list[Path], list[SkippedFile]]:
    """Expand directories; raise for a missing path or when nothing ingestible is found."""
    files: list[Path] = []
    skipped: list[SkippedFile] = []
    for p in paths:
        p = Path(p)
        try:
            # Path.exists() raises (not returns False) for e.g. a name over 255 bytes (ENAMETOOLONG)
            # or a path through a file (ENOTDIR is fine, ELOOP/EACCES are not): report, don't crash.
            exists = p.exists()
        except OSError as err:
            raise InputError(f"无法访问 cannot access {_show(p)} ({err.strerror}) — check the path") from None
        if not exists:
            raise InputError(f"找不到路径 no such file or directory: {_show(p)} — check the path")
        if p.is_dir():
            # Hidden folders (.git, .github) of a cloned repository hold no documents.
            found = sorted(
                f for f in p.rglob("*")
                if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
            if not found:
                raise InputError(
                    f"目录为空 no {'/'.join(SUPPORTED_SUFFIXES)} files in {_show(p)} — add documents or pass file paths"
                )
            files.extend(found)
        elif p.suffix.lower() in SUPPORTED_SUFFIXES:
            files.append(p)
        else:
            skipped.append(SkippedFile(path=str(p), reason=f"unsupported type '{_show(p.suffix)}' "
                                                           f"(use {' '.join(SUPPORTED_SUFFIXES)})"))
    if not files:
        raise InputError("没有可导入的文件 nothing to ingest: " + "; ".join(f"{s.path}: {s.reason}" for s in skipped))
    return list(dict.fromkeys(files)), skipped


def relative_names(paths: list[Path], files: list[Path]) -> dict[Path, str]:
    """Each file's path relative to the folder it was found in (its own name when given directly)."""
    roots = [Path(p) for p in paths if Path(p).is_dir()]
    out: dict[Path, str] = {}
    for f in files:
        name = f.name
        for root in roots:
            try:
                name = f.relative_to(root).as_posix()
                break
            except ValueError:
                continue
        out[f] = name
    return out


class Ingestor:
    """Holds the store, embedder and tokenizer for one ingest run (or many, in the app)."""

    def __init__(self, store: Store, tokenizer, *, max_bytes: int, chunk_chars: int = 240, chunk_overlap: int = 60):
        self.store = store
        self.tokenizer = tokenizer
        self.max_bytes = max_bytes
        self.chunk_chars = chunk_chars
        self.chunk_overlap = chunk_overlap
        self.index = KeyIndex(list(store.db.execute("SELECT id, qkey FROM records WHERE kind != 'passage'")))
        self.parser = parser_version()

    # --- one file -----------------------------------------------------------------------
    def ingest_file(self, path: Path, summary: IngestSummary, source: str | None = None,
                    rel_path: str | None = None) -> bool:
        """Returns True when the store changed. Raises InputError for a file to skip."""
        source = source or source_name(path)
        shown = _show(path)
        data = read_bytes(path, self.max_bytes)  # read once: hashed here, decoded below only if changed
        sha = hashlib.sha256(self.parser.encode() + data).hexdigest()  # of the bytes as this parser reads them
        row = self.store.db.execute("SELECT sha256 FROM files WHERE path=?", (source,)).fetchone()
        if row and row[0] == sha:
            summary.unchanged += 1
            return False
        try:
            doc = load_document(path, data, self.max_bytes)
        except (InputError, MemoryError, KeyboardInterrupt):
            raise
        except Exception as exc:
            # A bug in reading/cleaning/parsing one document must not abort a run over many files
            # (and leave the files already committed without vectors or BM25): skip it, loudly. Store
            # errors are not caught here: they come from _write, below.
            raise InputError(
                f"{shown} could not be parsed ({type(exc).__name__}: {_show(exc)}) — "
                f"please report this file as a mianshi bug; it was skipped"
            ) from exc
        summary.found += len(doc.questions)
        summary.found_unanswered += sum(1 for q in doc.questions if not q.answer)
        summary.skipped_non_questions += len(doc.skipped)
        self._write(source, sha, len(data), doc, summary, rel_path or path.name)
        return True

    def _write(self, source: str, sha: str, size: int, doc: ParsedDocument, summary: IngestSummary,
               rel_path: str) -> None:
        db = self.store.db
        with self.store.transaction():
            touched = {r[0] for r in db.execute("SELECT record_id FROM occurrences WHERE path=?", (source,))}
            db.execute("DELETE FROM occurrences WHERE path=?", (source,))
            db.execute(
                "INSERT OR REPLACE INTO files(path, sha256, size, questions, plain, ingested_at, title, rel_path)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (source, sha, size, len(doc.questions), int(not doc.questions),
                 datetime.now(timezone.utc).isoformat(timespec="seconds"), doc.title, rel_path),
            )
            if doc.questions:
                for q in doc.questions:
                    key = canonical_key(q.question)
                    rid = self.index.find(key)
                    if rid is None:
                        rid = record_id(q.question)
                        db.execute(
                            "INSERT OR IGNORE INTO records(id, qkey, question, kind) VALUES (?,?,?,?)",
                            (rid, key, q.question, q.kind),
                        )
                        self.index.add(rid, key)
                        summary.added += 1
                    elif db.execute("SELECT 1 FROM occurrences WHERE record_id=? LIMIT 1", (rid,)).fetchone():
                        summary.duplicates_merged += 1
                    db.execute(
                        "INSERT INTO occurrences(path, position, record_id, question, answer, kind, options, correct,"
                        " display, section) VALUES (?,?,?,?,?,?,?,?,?,?)",
                        (source, q.position, rid, q.question, q.answer, q.kind,
                         json.dumps(q.options, ensure_ascii=False), q.correct, q.display,
                         json.dumps(q.section, ensure_ascii=False)),
                    )
                    touched.add(rid)
            else:
                summary.plain_docs.append(source)
                rid = "p" + hashlib.sha1(source.encode()).hexdigest()[:15]
                title = (doc.title or next((ln.strip() for ln in doc.plain_text.splitlines() if ln.strip()), source))[:80]
                db.execute(
                    "INSERT OR IGNORE INTO records(id, qkey, question, kind) VALUES (?,?,?, 'passage')",
                    (rid, rid, title),
                )
                db.execute(
                    "INSERT INTO occurrences(path, position, record_id, question, answer, kind, options, correct)"
                    " VALUES (?,?,?,?,?, 'passage', '{}', NULL)",
                    (source, 1, rid, title, doc.plain_text),
                )
                touched.add(rid)
            for rid in sorted(touched):
                self.refresh_record(rid)
            self.store.bump_generation()

    def refresh_record(self, rid: str) -> None:
        """Recompute a record's derived fields and chunks from its occurrences, then a user's edit or deletion
        of it (these outlive re-ingest). Call inside a transaction."""
        db = self.store.db
        occ = db.execute(
            "SELECT question, answer, kind, options, correct FROM occurrences WHERE record_id=? ORDER BY path, position",
            (rid,),
        ).fetchall()
        old_chunks = {r[0] for r in db.execute("SELECT id FROM chunks WHERE record_id=?", (rid,))}
        if not occ or self.store.is_deleted(rid):
            db.execute("DELETE FROM records WHERE id=?", (rid,))
            self._drop_chunks(old_chunks)
            self.index.remove(rid)
            return
        first = occ[0]
        choice = next((o for o in occ if o["kind"] == "choice"), None)
        kind = first["kind"] if choice is None else "choice"
        options = json.loads(choice["options"]) if choice else {}
        correct = choice["correct"] if choice else None
        answers = list(dict.fromkeys(o["answer"].strip() for o in occ if o["answer"] and o["answer"].strip()))
        question = first["question"]
        edit = self.store.edit_for(rid)
        if edit is not None:
            question, answers = edit.question, [edit.answer] if edit.answer.strip() else []
        option_text = " ".join(f"{k}. {v}" for k, v in options.items())
        points = [] if kind == "passage" else [p for a in answers for p in key_points(a)][:16]
        tokens = self.tokenizer.tokens(token_text(question, options, answers))
        db.execute(
            "UPDATE records SET question=?, kind=?, options=?, correct=?, topics=?, key_points=?, tokens=? WHERE id=?",
            (question, kind, json.dumps(options, ensure_ascii=False), correct,
             json.dumps(tag_topics(question, answers), ensure_ascii=False),
             json.dumps(points, ensure_ascii=False), json.dumps(tokens, ensure_ascii=False), rid),
        )
        wanted: dict[str, tuple[str, str]] = {}
        if kind != "passage":
            qtext = f"{question} {option_text}".strip()
            wanted[_chunk_id(rid, "question", qtext)] = (qtext, "question")
        role = "passage" if kind == "passage" else "answer"
        for a in answers:
            for piece in chunk_text(a, self.chunk_chars, self.chunk_overlap):
                wanted[_chunk_id(rid, role, piece)] = (piece, role)
        new = [(cid, rid, text, role) for cid, (text, role) in wanted.items() if cid not in old_chunks]
        db.executemany("INSERT INTO chunks(id, record_id, text, role) VALUES (?,?,?,?)", new)
        db.executemany("DELETE FROM pending_delete WHERE id=?", [(n[0],) for n in new])
        self._drop_chunks(old_chunks - wanted.keys())

    def _drop_chunks(self, ids: set[str]) -> None:
        db = self.store.db
        for cid in ids:
            # Only chunks that reached Chroma need deleting there.
            row = db.execute("SELECT embedded FROM chunks WHERE id=?", (cid,)).fetchone()
            db.execute("DELETE FROM chunks WHERE id=?", (cid,))
            if row and row[0]:
                db.execute("INSERT OR IGNORE INTO pending_delete(id) VALUES (?)", (cid,))

    # --- vectors ------------------------------------------------------------------------
    def sync_vectors(self, summary: IngestSummary, progress: Progress = _noop) -> None:
        """Embed every pending chunk and drop queued deletions (the resumable part of ingest)."""
        sync = VectorSync(self.store, summary, progress)
        sync.feed()
        sync.finish()
        ensure_question_states(self.store, self.store.embedder, progress)

    def remove_source(self, source: str) -> int:
        """Delete one source's questions; records shared with other sources keep their other answers."""
        db = self.store.db
        if not db.execute("SELECT 1 FROM files WHERE path=?", (source,)).fetchone():
            raise InputError(f"没有这个来源 no source '{source}' in the store — run `mianshi sources` to list them")
        with self.store.transaction():
            touched = {r[0] for r in db.execute("SELECT record_id FROM occurrences WHERE path=?", (source,))}
            db.execute("DELETE FROM occurrences WHERE path=?", (source,))
            db.execute("DELETE FROM files WHERE path=?", (source,))
            for rid in sorted(touched):
                self.refresh_record(rid)
            self.store.bump_generation()
        return len(touched)


class VectorSync:
    """Encodes pending chunks on one worker thread while the caller keeps parsing files.

    The encoder releases the GIL (a C engine behind ctypes), so parsing, SQLite writes and Chroma
    upserts on the calling thread overlap with encoding on the second core. All store access stays
    on the calling thread; the worker only turns texts into vectors.
    """

    def __init__(self, store: Store, summary: IngestSummary, progress: Progress = _noop) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.store = store
        self.summary = summary
        self.progress = progress
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        self.inflight: dict[str, object] = {}
        self.queue: list = []
        self.done = 0

    def feed(self) -> None:
        dead = self.store.pending_deletes()
        if dead:
            self.store.delete_vectors(dead)
            self.store.clear_pending_deletes(dead)
            self.summary.chunks_removed += len(dead)
        fresh = [c for c in self.store.pending_chunks(1_000_000) if c.id not in self.inflight]
        for i in range(0, len(fresh), EMBED_BATCH):
            batch = fresh[i : i + EMBED_BATCH]
            fut = self.pool.submit(self.store.embedder.encode_documents, [c.text for c in batch])
            self.queue.append((batch, fut))
            self.inflight.update((c.id, fut) for c in batch)
        self._drain(block=False)

    def _drain(self, block: bool) -> None:
        while self.queue and (block or self.queue[0][1].done()):
            batch, fut = self.queue.pop(0)
            vectors = fut.result()
            ids = [c.id for c in batch]
            self.store.add_vectors(ids, vectors, [c.record_id for c in batch])
            self.store.mark_embedded(ids)
            for cid in ids:
                self.inflight.pop(cid, None)
            self.done += len(batch)
            self.summary.chunks_embedded += len(batch)
            self.progress("embed", self.done, self.done + sum(len(b) for b, _ in self.queue))

    def finish(self) -> None:
        try:
            self.progress("embed", self.done, self.done + sum(len(b) for b, _ in self.queue))
            self._drain(block=True)
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _chunk_id(rid: str, role: str, text: str) -> str:
    return hashlib.sha1(f"{rid}|{role}|{text}".encode()).hexdigest()[:20]


def ingest_paths(
    paths: list[Path],
    store: Store,
    tokenizer,
    *,
    max_bytes: int,
    chunk_chars: int = 240,
    chunk_overlap: int = 60,
    progress: Progress = _noop,
    sources: dict[Path, str] | None = None,
) -> IngestSummary:
    """Ingest files into an open store. Files that cannot be read are skipped with a reason."""
    files, skipped = discover(paths)
    rel = relative_names(paths, files)
    ensure_tokens(store, tokenizer)  # records kept from earlier runs share the glossary of the new ones
    summary = IngestSummary(skipped=skipped)
    ing = Ingestor(store, tokenizer, max_bytes=max_bytes, chunk_chars=chunk_chars, chunk_overlap=chunk_overlap)
    changed = False
    vectors = VectorSync(store, summary, progress)
    progress("read", 0, len(files))
    try:
        for i, f in enumerate(files, 1):
            try:
                changed |= ing.ingest_file(f, summary, (sources or {}).get(f), rel[f])
                summary.files += 1
            except NavigationFile:
                summary.navigation_skipped.append(rel[f])
            except InputError as exc:
                summary.skipped.append(SkippedFile(path=str(f), reason=str(exc)))
            progress("read", i, len(files))
            vectors.feed()
    finally:
        vectors.finish()
    ensure_question_states(store, store.embedder, progress)
    if changed or not (store.path / lexical.INDEX_DIR).exists():
        lexical.build(store)
    _count(store, summary)
    return summary


def _count(store: Store, summary: IngestSummary) -> None:
    db = store.db
    summary.records = db.execute("SELECT COUNT(*) FROM records WHERE kind != 'passage'").fetchone()[0]
    summary.choice = db.execute("SELECT COUNT(*) FROM records WHERE kind = 'choice'").fetchone()[0]
    summary.unanswered = db.execute(
        "SELECT COUNT(*) FROM records r WHERE kind = 'open' AND NOT EXISTS "
        "(SELECT 1 FROM occurrences o WHERE o.record_id = r.id AND o.answer IS NOT NULL AND o.answer != '')"
    ).fetchone()[0]


def rebuild_dir(path: Path) -> Path:
    """A fresh sibling directory to build into; ``swap_in`` replaces the old store only on success."""
    tmp = path.with_name(path.name + ".rebuild")
    shutil.rmtree(tmp, ignore_errors=True)
    return tmp


def swap_in(tmp: Path, path: Path) -> None:
    """Replace the store at ``path`` with the one built in ``tmp``. What the build did not make — the users'
    history, interviews in progress, accounts, uploads — moves over: a rebuild renews the bank, not the users."""
    old = path.with_name(path.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        for entry in path.iterdir():
            if not (tmp / entry.name).exists():
                os.replace(entry, tmp / entry.name)
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
