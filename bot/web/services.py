"""The library objects one server shares between sessions, built lazily so the page comes up fast."""

from __future__ import annotations

import os
import shutil
import threading
from collections import OrderedDict
from pathlib import Path

from bot.context import Context


class LiveInterviews:
    """Interviews in progress by id, so a reloaded page — or a restarted server — resumes them.

    The browser keeps only the id (a random 128-bit hex, not guessable) and the name: the state itself holds
    the questions and the whole chat (tens of KB), which need not travel on every event, and a browser's copy
    could be edited. The server keeps the newest ``cap`` in memory and every running one in ``saved``
    (``bot.interview.SavedInterviews``), so a restart loses nothing.
    """

    def __init__(self, saved=None, cap: int = 500) -> None:
        self._items: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()
        self.saved = saved
        self.cap = cap

    def _remember(self, iv) -> None:
        with self._lock:
            self._items[iv.id] = iv
            self._items.move_to_end(iv.id)
            while len(self._items) > self.cap:
                self._items.popitem(last=False)

    def put(self, iv) -> None:
        self._remember(iv)
        if self.saved is not None:
            self.saved.save(iv)

    def get(self, iv_id: str | None, user: str):
        """The interview ``iv_id`` if it is still running and belongs to ``user``, else None."""
        from bot.interview import normalize_user

        with self._lock:
            iv = self._items.get(iv_id or "")
        if iv is None and iv_id and self.saved is not None:
            iv = self.saved.load(iv_id)
            if iv is not None:
                self._remember(iv)
        if iv is None or iv.done or iv.config.user != normalize_user(user):
            return None
        return iv


SECRET_NAME = "web.secret"


def browser_secret(store_dir: Path) -> str:
    """The key Gradio encrypts each browser's saved session with. Gradio's default is a new random key per
    launch, which would make every browser forget its running interview on a server restart; this one is
    made once and kept beside the bank (readable by its owner only)."""
    path = Path(store_dir) / SECRET_NAME
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        import secrets

        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another server on this bank made it first
            return path.read_text(encoding="ascii").strip()
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key)
        return key


class Exports:
    """Where downloads are written: one temporary folder per server, each export in its own sub-folder,
    removed once older than ``keep_s`` (Gradio has copied it to its own cache by then) and at shutdown."""

    def __init__(self, keep_s: float = 600.0) -> None:
        self.keep_s = keep_s
        self._root: Path | None = None
        self._lock = threading.Lock()

    def new_dir(self) -> Path:
        import tempfile
        import time

        with self._lock:
            if self._root is None:
                self._root = Path(tempfile.mkdtemp(prefix="mianshi-export-"))
            now = time.time()
            for old in self._root.iterdir():
                if now - old.stat().st_mtime > self.keep_s:
                    shutil.rmtree(old, ignore_errors=True)
            return Path(tempfile.mkdtemp(dir=self._root))

    def close(self) -> None:
        with self._lock:
            if self._root is not None:
                shutil.rmtree(self._root, ignore_errors=True)
                self._root = None


class Services:
    def __init__(self, ctx: Context, users=None) -> None:
        from bot.interview import History, InterviewEngine, SavedInterviews

        self.ctx = ctx
        self.users = users  # a bot.web.auth.UserFile on a shared server (serve --auth), else None
        self.history = History(ctx.store_dir)
        # Reading ctx.llm_roles builds the backend (``local`` starts a model server), so the engine gets a
        # factory: it runs on a warm-up thread at launch, or on first use, never while serving the first page.
        self.llm_on = (ctx.settings.llm or "none").strip().lower() != "none"
        self.engine = InterviewEngine(ctx.store, history=self.history, grader_factory=self._make_grader,
                                      roles_factory=(lambda: ctx.llm_roles) if self.llm_on else None)
        self.live = LiveInterviews(SavedInterviews(ctx.store_dir))
        self.exports = Exports()
        self.write_lock = threading.Lock()  # one ingest or removal at a time: SQLite has one writer
        self._cal = None

    def _make_grader(self):
        from bot.grading import make_grader

        # The bank's other answers are the contrast set: the main model can then tell a right answer
        # to a different question from a right answer to this one.
        s = self.ctx.settings
        return make_grader(self.ctx.embedder, self.ctx.tokenizer, s.grader, contrast=self.ctx.store,
                           chunking=(s.chunk_chars, s.chunk_overlap))

    def ask(self, query: str):
        from bot.lookup.ask import ask, load_calibration

        if self._cal is None:
            self._cal = load_calibration(self.ctx.embedder.name)
        return ask(self.ctx.retriever, query, self._cal)

    def topics(self) -> list[str]:
        from ingest.topics import all_topics

        present = {t for r in self.engine.pool() for t in r.topics}
        return [t for t in all_topics() if t in present]

    def sources(self) -> list[dict]:
        return self.ctx.store.sources()

    def ingest(self, files: dict[Path, str], progress):
        from ingest.pipeline import ingest_paths

        s = self.ctx.settings
        with self.write_lock:
            return ingest_paths(list(files), self.ctx.store, self.ctx.tokenizer, max_bytes=s.max_file_bytes,
                                chunk_chars=s.chunk_chars, chunk_overlap=s.chunk_overlap, progress=progress,
                                sources=files)

    def remove(self, source: str) -> int:
        from ingest.pipeline import Ingestor
        from ingest.schema import IngestSummary

        with self.write_lock:
            ing = Ingestor(self.ctx.store, self.ctx.tokenizer, max_bytes=self.ctx.settings.max_file_bytes)
            n = ing.remove_source(source)
            ing.sync_vectors(IngestSummary())
        return n

    # --- who is asking (serve --auth) ---------------------------------------------------------
    def user_of(self, request, typed: str | None) -> str | None:
        """The user a request acts for: who logged in on a shared server, else the name typed in the header."""
        if self.users is not None:
            return getattr(request, "username", None) or None
        return typed

    def can_edit(self, request) -> bool:
        """Only admins change the bank on a shared server; on a personal machine the user owns it."""
        return self.users is None or self.users.is_admin(getattr(request, "username", None))

    # --- the Library tab ------------------------------------------------------------------------
    def preview(self, paths: list[Path]) -> list[dict]:
        from ingest.dryrun import dry_run

        return [i.model_dump() for i in dry_run(paths, self.ctx.settings)]

    def bank_records(self) -> tuple[list, set[str], set[str]]:
        """Every question record, with the ids of flagged and of edited ones."""
        st = self.ctx.store
        recs = [r for r in st.iter_records() if r.kind != "passage"]
        return recs, st.flagged_ids(), set(st.edits_for([r.id for r in recs]))

    def record(self, record_id: str):
        got = self.ctx.store.get_records([record_id])
        return got[0] if got else None

    def flag_of(self, record_id: str):
        return next((f for f in self.ctx.store.flags() if f.record_id == record_id), None)

    def edit(self, record_id: str, question: str, answer: str, editor: str = ""):
        from ingest.editing import edit_record

        with self.write_lock:
            return edit_record(self.ctx.store, self.ctx.tokenizer, self.ctx.settings, record_id, question, answer,
                               editor)

    def delete(self, record_id: str, by: str = "") -> None:
        from ingest.editing import delete_record

        with self.write_lock:
            delete_record(self.ctx.store, self.ctx.tokenizer, self.ctx.settings, record_id, by)

    def unflag(self, record_id: str) -> bool:
        from ingest.editing import unflag_record

        with self.write_lock:
            return unflag_record(self.ctx.store, record_id)
