"""Which questions an interview asks, and in what order: the usable pool, by-topic round-robin, review order."""

from __future__ import annotations

import random

from bot.interview.history import History
from bot.lang import language_of
from bot.interview.state import InterviewConfig, Kinds
from ingest.errors import InputError
from ingest.schema import Record
from ingest.store import Store


def usable(record: Record) -> bool:
    """Only questions we can grade: open ones with a reference answer, choices with a key."""
    if record.kind == "choice":
        return bool(record.correct and record.options)
    return record.kind == "open" and bool(record.answers)


class QuestionPlanner:
    """Picks questions from the store; ``history`` (optional) gives the review mode its order."""

    def __init__(self, store: Store, history: History | None = None) -> None:
        self.store = store
        self.history = history

    def pool(self, kinds: Kinds = "mixed", topics: list[str] | None = None) -> list[Record]:
        wanted = ("open", "choice") if kinds == "mixed" else (kinds,)
        return [r for r in self.store.records_by(wanted, topics or ()) if usable(r)]

    def plan(self, config: InterviewConfig) -> list[Record]:
        rng = random.Random(config.seed)
        if config.mode == "topic" and not config.topics:
            raise InputError("按主题面试需要先选择主题 choose at least one topic for a by-topic interview")
        pool = self.pool(config.kinds, config.topics)
        if config.question_ids:
            by_id = {r.id: r for r in pool}
            pool = [by_id[q] for q in config.question_ids if q in by_id]
        if not pool:
            raise InputError("题库里没有符合条件的题目 no questions match these topics and kinds — "
                             "choose other topics or kinds, or add documents in the Library tab")
        n = min(config.n_questions, len(pool))
        if config.question_ids:
            return pool[:n]
        if config.mode == "topic":
            return _by_topic(pool, config.topics, n, rng, config.lang)
        rest = pool[:]
        rng.shuffle(rest)
        rest = _in_language_first(rest, config.lang)
        if config.mode == "review" and self.history is not None:
            by_id = {r.id: r for r in pool}
            first = [by_id[q] for q in self.history.review_order(config.user) if q in by_id]
            seen = {r.id for r in first}
            return (first + [r for r in rest if r.id not in seen])[:n]
        return rest[:n]

    def source_of(self, rec: Record) -> str:
        if rec.answers:
            return rec.answers[0].source
        # An MCQ without an explanation has no answer row, but it still came from a document.
        return self.store.record_source(rec.id)


def _in_language_first(records: list[Record], lang: str) -> list[Record]:
    """Questions written in the interview's language first (stable: the shuffled order stays within each
    group); the others follow, so a bank short of them still fills the interview."""
    return sorted(records, key=lambda r: language_of(r.question) != lang)


def _by_topic(pool: list[Record], topics: list[str], n: int, rng: random.Random, lang: str = "zh") -> list[Record]:
    by_topic = {t: [r for r in pool if t in r.topics] for t in topics}
    for t, rs in by_topic.items():
        rng.shuffle(rs)
        by_topic[t] = _in_language_first(rs, lang)
    picked: dict[str, Record] = {}
    # Round-robin over the chosen topics so each gets a fair share, then group by topic for the flow.
    while len(picked) < n and any(by_topic.values()):
        for rs in by_topic.values():
            while rs and rs[0].id in picked:
                rs.pop(0)
            if rs and len(picked) < n:
                r = rs.pop(0)
                picked[r.id] = r
    order = {t: i for i, t in enumerate(topics)}
    return sorted(picked.values(), key=lambda r: min(order.get(t, 99) for t in r.topics))
