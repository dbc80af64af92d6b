"""The interview's state as plain pydantic data, and the rules and formatting every step shares.

The state holds everything an interview needs (the questions are snapshotted at start), so each browser
session keeps its own copy and a source removed from the bank mid-interview cannot break it. It survives a
JSON round trip, which is what a browser session keeps. Messages are plain text: whoever renders them must
escape them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import Field

from bot.interview.history import GradedAnswer
from bot.texts import TEXT
from ingest.schema import Record, Strict

Kinds = Literal["open", "choice", "mixed"]
Mode = Literal["random", "topic", "review"]
Lang = Literal["zh", "en"]

HINT_CAPS = (3.0, 2.0)  # score cap after the first and the second hint; no third hint
SKIP_WORDS = {"跳过", "不知道", "不会", "skip", "pass", "idk", "i don't know", "dont know", "don't know"}
MAX_ANSWER_CHARS = 4000
FOLLOW_UP_MAX = 4.5  # an answer scoring above this has nothing worth probing


class InterviewConfig(Strict):
    user: str
    topics: list[str] = Field(default_factory=list)
    n_questions: int = Field(5, ge=1, le=30)
    kinds: Kinds = "mixed"
    mode: Mode = "random"
    lang: Lang = "zh"
    seed: int | None = None
    question_ids: list[str] = Field(default_factory=list, description="ask exactly these (e.g. retry weak ones)")


class Message(Strict):
    role: Literal["assistant", "user"]
    kind: Literal["info", "question", "answer", "grade", "reference", "follow_up", "hint", "error", "summary"]
    title: str = ""
    text: str = ""


class Turn(GradedAnswer):
    """One graded answer in an interview (a main answer, a skip, or the answer to a follow-up)."""

    level_name: str
    key_points_hit: list[str] = Field(default_factory=list)
    key_points_missed: list[str] = Field(default_factory=list)
    saved: bool = False


class TopicScore(Strict):
    topic: str
    average: float
    answers: int


class Summary(Strict):
    answered: int
    total: int
    average: float
    per_topic: list[TopicScore]
    weakest: list[Turn]
    follow_ups: int


class Interview(Strict):
    id: str
    config: InterviewConfig
    questions: list[Record]
    sources: dict[str, str] = Field(default_factory=dict, description="question id → 'file#position'")
    index: int = 0
    phase: Literal["question", "follow_up", "done"] = "question"
    hints: list[str] = Field(default_factory=list)
    follow_up_point: str | None = None
    follow_up_question: str | None = None
    pending_answer: str | None = None
    turns: list[Turn] = Field(default_factory=list)
    messages: list[Message] = Field(default_factory=list)

    @property
    def current(self) -> Record | None:
        return self.questions[self.index] if self.phase != "done" and self.index < len(self.questions) else None

    @property
    def done(self) -> bool:
        return self.phase == "done"

    def t(self, key: str, **kw) -> str:
        return TEXT[self.config.lang][key].format(**kw)

    def turn_id(self, follow_up: bool) -> str:
        """The answer's id is its place in the interview, not a fresh random id.

        Each (question, main answer or follow-up) is answered once, so two submits of the same step that race
        from the same state (Enter and a click on Submit, a resent request) get the same id and history's
        INSERT OR IGNORE keeps one row and reviews the card once. With random ids both were saved.
        """
        return f"{self.id}-{self.index}-{'f' if follow_up else 'm'}"


def fmt_score(score: float) -> str:
    return f"{round(score, 1):g}"


def short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def error_text(exc: Exception) -> str:
    return short(f"{type(exc).__name__}: {exc}", 120)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def normalize_choice(answer: str | list[str]) -> str:
    """Letters as a sorted set: 'b, A' and ['A', 'B'] are both 'AB'."""
    raw = "".join(answer) if isinstance(answer, list) else answer
    return "".join(sorted({ch for ch in raw.upper() if "A" <= ch <= "Z"}))
