"""The store's curation tables: a user's edits of a record, single-record deletions and "report a problem"
flags. They sit beside the ingested data, keyed by record id, so re-ingesting a file never undoes them: an
edit or a deletion is re-applied whenever the record is rebuilt from its documents."""

from __future__ import annotations

from datetime import datetime, timezone

from pydantic import Field

from ingest.schema import Strict

SCHEMA = """
CREATE TABLE IF NOT EXISTS edits (
    record_id TEXT PRIMARY KEY, question TEXT NOT NULL, answer TEXT NOT NULL,
    original_question TEXT NOT NULL, original_answer TEXT NOT NULL, editor TEXT NOT NULL DEFAULT '',
    edited_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deletions (
    record_id TEXT PRIMARY KEY, question TEXT NOT NULL, deleted_by TEXT NOT NULL DEFAULT '', deleted_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS flags (
    record_id TEXT PRIMARY KEY, reason TEXT NOT NULL DEFAULT '', flagged_by TEXT NOT NULL DEFAULT '',
    flagged_at TEXT NOT NULL
);
"""


class Edit(Strict):
    record_id: str
    question: str
    answer: str
    original_question: str
    original_answer: str
    editor: str = ""
    edited_at: str


class Flag(Strict):
    record_id: str
    question: str = Field("", description="the record's current question, for listing")
    reason: str = ""
    flagged_by: str = ""
    flagged_at: str


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class CurationTables:
    """Mixed into ``ingest.store.Store``: the SQL for edits, deletions and flags (``self.db`` is the store's)."""

    def edit_for(self, record_id: str) -> Edit | None:
        row = self.db.execute("SELECT * FROM edits WHERE record_id=?", (record_id,)).fetchone()
        return Edit(**dict(row)) if row else None

    def edits_for(self, ids: list[str]) -> dict[str, Edit]:
        out: dict[str, Edit] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            for row in self.db.execute(f"SELECT * FROM edits WHERE record_id IN ({','.join('?' * len(part))})", part):
                out[row["record_id"]] = Edit(**dict(row))
        return out

    def save_edit(self, record_id: str, question: str, answer: str, original_question: str,
                  original_answer: str, editor: str = "") -> None:
        """Insert or replace; the first edit's originals are kept, so "original" always means as ingested."""
        old = self.edit_for(record_id)
        if old is not None:
            original_question, original_answer = old.original_question, old.original_answer
        self.db.execute(
            "INSERT OR REPLACE INTO edits(record_id, question, answer, original_question, original_answer, editor, "
            "edited_at) VALUES (?,?,?,?,?,?,?)",
            (record_id, question, answer, original_question, original_answer, editor, _now()))

    def is_deleted(self, record_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM deletions WHERE record_id=?", (record_id,)).fetchone() is not None

    def save_deletion(self, record_id: str, question: str, deleted_by: str = "") -> None:
        self.db.execute("INSERT OR REPLACE INTO deletions(record_id, question, deleted_by, deleted_at) VALUES (?,?,?,?)",
                        (record_id, question, deleted_by, _now()))

    def set_flag(self, record_id: str, reason: str = "", user: str = "") -> None:
        """Flag a record; flagging it again without a reason keeps the reason given before."""
        self.db.execute(
            "INSERT INTO flags(record_id, reason, flagged_by, flagged_at) VALUES (?,?,?,?) "
            "ON CONFLICT(record_id) DO UPDATE SET reason = CASE WHEN excluded.reason != '' THEN excluded.reason "
            "ELSE flags.reason END, flagged_by = excluded.flagged_by, flagged_at = excluded.flagged_at",
            (record_id, reason, user, _now()))

    def clear_flag(self, record_id: str) -> bool:
        return self.db.execute("DELETE FROM flags WHERE record_id=?", (record_id,)).rowcount > 0

    def flags(self) -> list[Flag]:
        rows = self.db.execute(
            "SELECT f.record_id, COALESCE(r.question, '') AS question, f.reason, f.flagged_by, f.flagged_at "
            "FROM flags f LEFT JOIN records r ON r.id = f.record_id ORDER BY f.flagged_at, f.record_id")
        return [Flag(**dict(r)) for r in rows]

    def flagged_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT record_id FROM flags")}
