"""The library objects one server shares between sessions, built lazily so the page comes up fast."""

from __future__ import annotations

import threading
from pathlib import Path

from bot.context import Context


class Services:
    def __init__(self, ctx: Context) -> None:
        from bot.interview import History, InterviewEngine

        self.ctx = ctx
        self.history = History(ctx.store_dir)
        # Reading ctx.llm_roles builds the backend (``local`` starts a model server), so the engine gets a
        # factory: it runs on a warm-up thread at launch, or on first use, never while serving the first page.
        self.llm_on = (ctx.settings.llm or "none").strip().lower() != "none"
        self.engine = InterviewEngine(ctx.store, history=self.history, grader_factory=self._make_grader,
                                      roles_factory=(lambda: ctx.llm_roles) if self.llm_on else None)
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
