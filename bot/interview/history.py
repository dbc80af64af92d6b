"""Answer history, spaced repetition and exports, in ``<store>/history.sqlite``.

History lives next to the question bank but in its own file: re-ingesting or
rebuilding the bank must never wipe what people have practised. Every answer
carries an id chosen by the interview, and is inserted with ``INSERT OR
IGNORE`` so a retried save (a double click, a reconnecting browser) never
counts twice and never reschedules a card twice.

Reviews are scheduled with FSRS (the maintained ``fsrs`` package), one card
per (user, question), rated from the 0–5 score of the main answer.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import threading
import unicodedata
from datetime import datetime, timezone
from pathlib import Path

from pydantic import Field

from bot.grading.schema import WEAK_SCORE, is_weak
from bot.interview.db import connect
from ingest.errors import InputError
from ingest.schema import Strict

DB_NAME = "history.sqlite"
MAX_NAME = 40
# Fixed ids: Anki merges re-imported decks and note types by id, so they must never change.
ANKI_MODEL_ID = 1_607_392_319
ANKI_DECK_BASE = 2_059_400_110

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), started_at TEXT NOT NULL,
    ended_at TEXT, config TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id), user_id INTEGER NOT NULL,
    question_id TEXT NOT NULL, question TEXT NOT NULL, kind TEXT NOT NULL, topics TEXT NOT NULL DEFAULT '[]',
    follow_up INTEGER NOT NULL DEFAULT 0, answer TEXT NOT NULL, score REAL NOT NULL, level INTEGER NOT NULL,
    feedback TEXT NOT NULL, hint_used INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0,
    reference TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_user ON answers(user_id, created_at);
CREATE INDEX IF NOT EXISTS answers_question ON answers(user_id, question_id);
CREATE TABLE IF NOT EXISTS cards (
    user_id INTEGER NOT NULL, question_id TEXT NOT NULL, card TEXT NOT NULL, due TEXT NOT NULL,
    PRIMARY KEY (user_id, question_id)
);
"""

CSV_COLUMNS = ("time", "session", "question_id", "question", "kind", "topics", "follow_up", "answer", "score",
               "level", "feedback", "hint_used", "skipped", "reference", "source")


class GradedAnswer(Strict):
    """One graded answer: what the interview keeps as a turn and history saves as a row."""

    id: str = Field(description="stable per interview step, so a repeated save is idempotent")
    question_id: str
    question: str
    kind: str = "open"
    topics: list[str] = Field(default_factory=list)
    follow_up: bool = False
    answer: str
    score: float = Field(ge=0, le=5)
    level: int = Field(ge=0, le=5)
    feedback: str = ""
    hint_used: bool = False
    skipped: bool = False
    reference: str = ""
    source: str = ""
    created_at: str = Field(default_factory=lambda: _now().isoformat(timespec="milliseconds"))


class AnswerRecord(GradedAnswer):
    """A graded answer as saved: whose, and in which session."""

    session_id: str
    user: str

    @classmethod
    def of(cls, answer: GradedAnswer, *, session_id: str, user: str) -> "AnswerRecord":
        return cls(**answer.model_dump(include=set(GradedAnswer.model_fields)), session_id=session_id, user=user)


class QuestionStat(Strict):
    question_id: str
    question: str
    attempts: int
    avg_score: float
    last_score: float
    due: str | None = None
    reference: str = ""
    source: str = ""


class TrendPoint(Strict):
    session_id: str
    time: str
    avg_score: float
    answers: int


class TopicStat(Strict):
    topic: str
    avg_score: float
    answers: int


def _now() -> datetime:
    return datetime.now(timezone.utc)


def normalize_user(name: str | None) -> str:
    """The name people type is their identity: trim, unify width, refuse empty or overlong names."""
    name = unicodedata.normalize("NFKC", name or "").strip()
    name = " ".join(name.split())
    if not name:
        raise InputError("请输入用户名 enter a user name — it keeps your history apart from other people's")
    if len(name) > MAX_NAME:
        raise InputError(f"用户名太长 user name is over {MAX_NAME} characters — use a shorter one")
    return name


def rating_for(score: float):
    """0–1 Again, 2 Hard, 3–4 Good, 5 Easy (scores are rounded first: 1.4 is a 1, 4.6 a 5)."""
    from fsrs import Rating

    s = round(score)
    if s <= 1:
        return Rating.Again
    if s == 2:
        return Rating.Hard
    if s <= 4:
        return Rating.Good
    return Rating.Easy


class History:
    """One connection per process, shared by Gradio's worker threads behind a lock."""

    def __init__(self, store_dir: Path) -> None:
        self.path = Path(store_dir) / DB_NAME
        self._lock = threading.RLock()
        self.db = connect(self.path, _SCHEMA)
        self._scheduler = None

    def close(self) -> None:
        with self._lock:
            self.db.close()

    @property
    def scheduler(self):
        if self._scheduler is None:
            from fsrs import Scheduler

            # No fuzzing: the same history must give the same review order (tests and users alike).
            self._scheduler = Scheduler(enable_fuzzing=False)
        return self._scheduler

    # --- writes -------------------------------------------------------------------------
    def user_id(self, name: str, *, create: bool = True) -> int | None:
        name = normalize_user(name)
        with self._lock:
            row = self.db.execute("SELECT id FROM users WHERE name=?", (name,)).fetchone()
            if row or not create:
                return row[0] if row else None
            cur = self.db.execute("INSERT INTO users(name, created_at) VALUES (?, ?)",
                                  (name, _now().isoformat(timespec="seconds")))
            return int(cur.lastrowid)

    def start_session(self, session_id: str, user: str, config: dict | None = None) -> None:
        uid = self.user_id(user)
        with self._lock:
            self.db.execute(
                "INSERT OR IGNORE INTO sessions(id, user_id, started_at, config) VALUES (?,?,?,?)",
                (session_id, uid, _now().isoformat(timespec="seconds"), json.dumps(config or {}, ensure_ascii=False)),
            )

    def end_session(self, session_id: str) -> None:
        with self._lock:
            self.db.execute("UPDATE sessions SET ended_at=? WHERE id=? AND ended_at IS NULL",
                            (_now().isoformat(timespec="seconds"), session_id))

    def save_answer(self, rec: AnswerRecord, *, now: datetime | None = None) -> bool:
        """Save once; returns False when this answer id was already saved. Main answers reschedule the card."""
        uid = self.user_id(rec.user)
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute(
                    "INSERT OR IGNORE INTO sessions(id, user_id, started_at) VALUES (?,?,?)",
                    (rec.session_id, uid, rec.created_at),
                )
                cur = self.db.execute(
                    "INSERT OR IGNORE INTO answers(id, session_id, user_id, question_id, question, kind, topics, "
                    "follow_up, answer, score, level, feedback, hint_used, skipped, reference, source, created_at) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (rec.id, rec.session_id, uid, rec.question_id, rec.question, rec.kind,
                     json.dumps(rec.topics, ensure_ascii=False), int(rec.follow_up), rec.answer, float(rec.score),
                     rec.level, rec.feedback, int(rec.hint_used), int(rec.skipped), rec.reference, rec.source,
                     rec.created_at),
                )
                inserted = cur.rowcount == 1
                # A follow-up probes one key point; the card tracks the question as a whole.
                if inserted and not rec.follow_up:
                    self._review(uid, rec.question_id, rec.score, now or _now())
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        return inserted

    def _review(self, uid: int, question_id: str, score: float, now: datetime) -> None:
        from fsrs import Card

        row = self.db.execute("SELECT card FROM cards WHERE user_id=? AND question_id=?", (uid, question_id)).fetchone()
        card = Card.from_dict(json.loads(row[0])) if row else Card(due=now)
        card, _ = self.scheduler.review_card(card, rating_for(score), review_datetime=now)
        self.db.execute(
            "INSERT OR REPLACE INTO cards(user_id, question_id, card, due) VALUES (?,?,?,?)",
            (uid, question_id, json.dumps(card.to_dict()), card.due.astimezone(timezone.utc).isoformat()),
        )

    # --- reads --------------------------------------------------------------------------
    def answers(self, user: str, *, session_id: str | None = None) -> list[AnswerRecord]:
        uid = self.user_id(user, create=False)
        if uid is None:
            return []
        sql = "SELECT a.*, ? AS user FROM answers a WHERE user_id=?"
        args: list = [normalize_user(user), uid]
        if session_id:
            sql += " AND session_id=?"
            args.append(session_id)
        with self._lock:
            rows = self.db.execute(sql + " ORDER BY created_at, rowid", args).fetchall()
        return [_answer(r) for r in rows]

    def due(self, user: str, *, now: datetime | None = None, limit: int = 50) -> list[QuestionStat]:
        """Cards whose review time has come, most overdue first."""
        uid = self.user_id(user, create=False)
        if uid is None:
            return []
        now_s = (now or _now()).astimezone(timezone.utc).isoformat()
        with self._lock:
            rows = self.db.execute(
                _STATS + " AND c.due <= ? GROUP BY a.question_id ORDER BY c.due LIMIT ?", (uid, now_s, limit)
            ).fetchall()
        return [_stat(r) for r in rows]

    def weakest(self, user: str, *, limit: int = 10, max_score: float | None = None) -> list[QuestionStat]:
        """Questions by their average main-answer score, lowest first (ties: most recent bad answer first)."""
        uid = self.user_id(user, create=False)
        if uid is None:
            return []
        having = "" if max_score is None else f" HAVING AVG(a.score) <= {float(max_score)}"
        with self._lock:
            rows = self.db.execute(
                _STATS + " GROUP BY a.question_id" + having + " ORDER BY avg_score, MAX(a.created_at) DESC LIMIT ?",
                (uid, limit),
            ).fetchall()
        return [_stat(r) for r in rows]

    def scheduled(self, user: str) -> list[QuestionStat]:
        """Every question the user has a card for, soonest review first."""
        uid = self.user_id(user, create=False)
        if uid is None:
            return []
        with self._lock:
            rows = self.db.execute(_STATS + " GROUP BY a.question_id ORDER BY c.due", (uid,)).fetchall()
        return [_stat(r) for r in rows]

    def review_order(self, user: str, *, now: datetime | None = None) -> list[str]:
        """Question ids for a review interview: due cards, then weak ones, then the rest by due time."""
        order: dict[str, None] = {}
        for s in self.due(user, now=now, limit=1000):
            order[s.question_id] = None
        for s in self.weakest(user, limit=1000, max_score=WEAK_SCORE):
            order[s.question_id] = None
        for s in self.scheduled(user):
            order[s.question_id] = None
        return list(order)

    def trend(self, user: str) -> list[TrendPoint]:
        """Average main-answer score per session, oldest first."""
        uid = self.user_id(user, create=False)
        if uid is None:
            return []
        with self._lock:
            rows = self.db.execute(
                "SELECT session_id, MIN(created_at) AS t, AVG(score) AS s, COUNT(*) AS n FROM answers "
                "WHERE user_id=? AND follow_up=0 GROUP BY session_id ORDER BY t",
                (uid,),
            ).fetchall()
        return [TrendPoint(session_id=r["session_id"], time=r["t"], avg_score=round(r["s"], 2), answers=r["n"])
                for r in rows]

    def topic_strength(self, user: str) -> list[TopicStat]:
        out: dict[str, list[float]] = {}
        for a in self.answers(user):
            if a.follow_up:
                continue
            for t in a.topics or ["other"]:
                out.setdefault(t, []).append(a.score)
        return sorted((TopicStat(topic=t, avg_score=round(sum(v) / len(v), 2), answers=len(v))
                       for t, v in out.items()), key=lambda s: s.avg_score)

    # --- exports ------------------------------------------------------------------------
    def export_csv(self, user: str, path: Path) -> Path:
        path = Path(path)
        with path.open("w", encoding="utf-8-sig", newline="") as f:  # BOM: Excel opens Chinese CSV correctly
            w = csv.writer(f)
            w.writerow(CSV_COLUMNS)
            for a in self.answers(user):
                w.writerow([a.created_at, a.session_id, a.question_id, a.question, a.kind, ";".join(a.topics),
                            int(a.follow_up), a.answer, a.score, a.level, a.feedback, int(a.hint_used),
                            int(a.skipped), a.reference, a.source])
        return path

    def export_apkg(self, user: str, path: Path) -> tuple[Path, int]:
        """Questions whose main answer scored ≤ 2 at least once, as an Anki deck. Returns (path, notes)."""
        import genanki

        name = normalize_user(user)
        bad: dict[str, AnswerRecord] = {}
        for a in self.answers(name):
            if not a.follow_up and is_weak(a.score):
                bad[a.question_id] = a  # the latest bad answer wins
        model = genanki.Model(
            ANKI_MODEL_ID, "Mianshi 面试题",
            fields=[{"name": "Question"}, {"name": "Reference"}, {"name": "Source"}, {"name": "LastScore"}],
            templates=[{
                "name": "Card 1",
                "qfmt": "{{Question}}",
                "afmt": "{{FrontSide}}<hr id=answer>{{Reference}}<br><small>{{Source}} · {{LastScore}}</small>",
            }],
        )
        deck_id = ANKI_DECK_BASE + int(hashlib.sha1(name.encode()).hexdigest()[:7], 16)
        deck = genanki.Deck(deck_id, f"Mianshi 面试复习::{name}")
        for qid, a in bad.items():
            deck.add_note(genanki.Note(
                model=model,
                # Anki fields are HTML: document text is escaped so it shows as written.
                fields=[_anki_text(a.question), _anki_text(a.reference or "(无参考答案)"), _anki_text(a.source),
                        f"score {a.score:g}/5"],
                guid=genanki.guid_for(name, qid),
                tags=[t.replace(" ", "_") for t in a.topics],
            ))
        genanki.Package(deck).write_to_file(str(path))
        return Path(path), len(bad)


_STATS = (
    "SELECT a.question_id, MAX(a.question) AS question, COUNT(*) AS attempts, AVG(a.score) AS avg_score, "
    "(SELECT score FROM answers b WHERE b.user_id=a.user_id AND b.question_id=a.question_id AND b.follow_up=0 "
    " ORDER BY b.created_at DESC, b.rowid DESC LIMIT 1) AS last_score, "
    "MAX(c.due) AS due, MAX(a.reference) AS reference, MAX(a.source) AS source "
    "FROM answers a LEFT JOIN cards c ON c.user_id=a.user_id AND c.question_id=a.question_id "
    "WHERE a.user_id=? AND a.follow_up=0"
)


def _stat(r: sqlite3.Row) -> QuestionStat:
    return QuestionStat(question_id=r["question_id"], question=r["question"], attempts=r["attempts"],
                        avg_score=round(r["avg_score"], 2), last_score=r["last_score"], due=r["due"],
                        reference=r["reference"] or "", source=r["source"] or "")


def _answer(r: sqlite3.Row) -> AnswerRecord:
    return AnswerRecord(
        id=r["id"], session_id=r["session_id"], user=r["user"], question_id=r["question_id"], question=r["question"],
        kind=r["kind"], topics=json.loads(r["topics"]), follow_up=bool(r["follow_up"]), answer=r["answer"],
        score=r["score"], level=r["level"], feedback=r["feedback"], hint_used=bool(r["hint_used"]),
        skipped=bool(r["skipped"]), reference=r["reference"], source=r["source"], created_at=r["created_at"],
    )


def _anki_text(text: str) -> str:
    import html

    return html.escape(text).replace("\n", "<br>")

