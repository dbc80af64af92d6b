"""Interviews in progress, saved beside the bank (``live.sqlite``) so a server restart resumes them.

The whole state is one JSON document per interview (questions snapshotted, chat, turns), written after every
step and dropped when the interview ends. A row that no longer validates — saved by an older version whose
state had other fields — is dropped instead of failing the page: its answers are in history already.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from pydantic import ValidationError

from bot.interview.db import connect
from bot.interview.state import Interview

DB_NAME = "live.sqlite"
MAX_AGE_DAYS = 14  # an interview untouched this long is not coming back

_SCHEMA = """
CREATE TABLE IF NOT EXISTS live (
    id TEXT PRIMARY KEY, user TEXT NOT NULL, state TEXT NOT NULL, updated REAL NOT NULL
);
"""


class SavedInterviews:
    """Thread-safe: one connection shared by the server's worker threads, behind a lock."""

    def __init__(self, store_dir: Path) -> None:
        self.path = Path(store_dir) / DB_NAME
        self._lock = threading.Lock()
        self.db = connect(self.path, _SCHEMA)
        self.prune()

    def save(self, iv: Interview) -> None:
        """Keep a running interview; forget a finished one."""
        with self._lock:
            if iv.done:
                self.db.execute("DELETE FROM live WHERE id=?", (iv.id,))
            else:
                self.db.execute("INSERT OR REPLACE INTO live(id, user, state, updated) VALUES (?, ?, ?, ?)",
                                (iv.id, iv.config.user, iv.model_dump_json(), time.time()))

    def load(self, iv_id: str) -> Interview | None:
        with self._lock:
            row = self.db.execute("SELECT state FROM live WHERE id=?", (iv_id,)).fetchone()
        if row is None:
            return None
        try:
            return Interview.model_validate_json(row[0])
        except ValidationError:
            with self._lock:
                self.db.execute("DELETE FROM live WHERE id=?", (iv_id,))
            return None

    def prune(self, max_age_days: float = MAX_AGE_DAYS) -> int:
        with self._lock:
            cur = self.db.execute("DELETE FROM live WHERE updated < ?", (time.time() - max_age_days * 86400,))
        return cur.rowcount

    def close(self) -> None:
        with self._lock:
            self.db.close()
