"""The mock interview as a plain state machine: setup → question → answer → grade → (one follow-up) → … → summary.

The state is a pydantic model holding everything an interview needs (the
questions are snapshotted at start), so each browser session keeps its own
copy and a source removed from the bank mid-interview cannot break it. Every
step takes a state and returns a new one; when grading fails the input state
is untouched and the answer is kept in ``pending_answer`` to retry.

Messages are plain text: whoever renders them must escape them.

With an LLM (``roles``, a ``bot.llm.roles.LLMRoles``) the interviewer *words* things like a person: the
feedback shown after an answer and the follow-up question. The program still decides everything else —
the score (the offline grade, moved toward an LLM judge by at most ``roles.score_bound``, 0 by default),
whether to follow up and on which point, when to move on. What is stored in history is the program's:
the (combined) score and the grader's own feedback, which names the rubric level and the covered and
missing key points in a fixed form that Progress and the Anki export rely on; the LLM's reply is how it
was said, shown in the chat only. Any LLM failure falls back to the offline text with a visible notice.
"""

from __future__ import annotations

import random
import threading
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, Generator, Iterator, Literal, Protocol

from pydantic import Field

from bot.interview.history import AnswerRecord, GradedAnswer, History, normalize_user
from bot.texts import LEVEL_NAMES, TEXT
from bot.lookup.retrieval import reference_text
from ingest.errors import InputError
from ingest.schema import Record, Strict
from bot.grading.schema import Grade, is_weak
from ingest.store import Store

if TYPE_CHECKING:  # the offline path never imports the LLM layer
    from bot.llm.roles import LLMRoles

Kinds = Literal["open", "choice", "mixed"]
Mode = Literal["random", "topic", "review"]
Lang = Literal["zh", "en"]

HINT_CAPS = (3.0, 2.0)  # score cap after the first and the second hint; no third hint
SKIP_WORDS = {"跳过", "不知道", "不会", "skip", "pass", "idk", "i don't know", "dont know", "don't know"}
MAX_ANSWER_CHARS = 4000
FOLLOW_UP_MAX = 4.5  # an answer scoring above this has nothing worth probing

class Grader(Protocol):
    def grade(self, question: str, answer: str, references: list[str], *, kind: str = "open",
              correct: str | None = None, reference_ids=(), key_points: list[str] | None = None,
              cap: float | None = None) -> Grade: ...


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


def usable(record: Record) -> bool:
    """Only questions we can grade: open ones with a reference answer, choices with a key."""
    if record.kind == "choice":
        return bool(record.correct and record.options)
    return record.kind == "open" and bool(record.answers)


def fmt_score(score: float) -> str:
    return f"{round(score, 1):g}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def normalize_choice(answer: str | list[str]) -> str:
    """Letters as a sorted set: 'b, A' and ['A', 'B'] are both 'AB'."""
    raw = "".join(answer) if isinstance(answer, list) else answer
    return "".join(sorted({ch for ch in raw.upper() if "A" <= ch <= "Z"}))


class InterviewEngine:
    """Runs interviews over a store.

    Pass ``grader_factory`` instead of ``grader`` to load the grading model on the first answer, which keeps
    the web app's cold start free of it. Likewise ``roles`` (LLM wording; None = offline) or ``roles_factory``,
    which may start a local model server: it runs once, on first use or from ``warm_roles()``.
    """

    def __init__(self, store: Store, grader: Grader | None = None, history: History | None = None, *,
                 grader_factory: Callable[[], Grader] | None = None, roles: LLMRoles | None = None,
                 roles_factory: Callable[[], LLMRoles] | None = None) -> None:
        if grader is None and grader_factory is None:
            raise ValueError("InterviewEngine needs a grader or a grader_factory")
        self.store = store
        self._grader = grader
        self._factory = grader_factory
        self._lock = threading.Lock()
        # The grader's embedding caches are not thread-safe, and grading is CPU-bound anyway: one at a time.
        self._grade_lock = threading.Lock()
        self.history = history
        self._roles = roles
        self._roles_factory = roles_factory
        self._roles_lock = threading.Lock()
        self.roles_error: str | None = None  # why the LLM backend could not be built; the engine is then offline

    @property
    def grader(self) -> Grader:
        if self._grader is None:
            with self._lock:  # two sessions answering at once must not load the model twice
                if self._grader is None:
                    self._grader = self._factory()
        return self._grader

    # --- LLM roles ----------------------------------------------------------------------
    @property
    def roles(self) -> LLMRoles | None:
        """The LLM roles, building them on first use (may block while a local model server starts).

        A factory that fails is not retried: every answer would otherwise wait for another failed start.
        The engine stays offline and ``roles_error`` says why.
        """
        if self._roles is None and self._roles_factory is not None:
            with self._roles_lock:
                if self._roles is None and self._roles_factory is not None:
                    try:
                        self._roles = self._roles_factory()
                    except Exception as exc:  # a missing model, a server that did not come up, a bad setting
                        self.roles_error = _err(exc)
                    finally:
                        self._roles_factory = None
        return self._roles

    def roles_status(self) -> tuple[Literal["offline", "starting", "ready", "failed"], str]:
        """Where the LLM backend stands, without waiting for it: (state, label or error) for the UI."""
        if self._roles is not None and self._roles.enabled:
            return "ready", self._roles.label
        if self.roles_error:
            return "failed", self.roles_error
        if self._roles_factory is not None:
            return "starting", ""
        return "offline", ""

    def active_roles(self) -> tuple[LLMRoles | None, str | None]:
        """The roles to use for one step, and why there are none (``llm_starting`` / ``llm_failed``) if that is
        worth telling the user. Never waits on a start-up another thread (the warm-up) is running: that step
        just stays offline."""
        if self._roles is None and self._roles_factory is not None and self._roles_lock.locked():
            return None, "llm_starting"
        roles = self.roles
        if roles is not None and roles.enabled:
            return roles, None
        return None, ("llm_failed" if self.roles_error else None)

    def warm_roles(self) -> threading.Thread | None:
        """Build the roles on a daemon thread (the web app calls this at launch so the first page never waits)."""
        if self._roles_factory is None:
            return None
        t = threading.Thread(target=lambda: self.roles, name="mianshi-llm-warmup", daemon=True)
        t.start()
        return t

    # --- setup --------------------------------------------------------------------------
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
            by_topic = {t: [r for r in pool if t in r.topics] for t in config.topics}
            for rs in by_topic.values():
                rng.shuffle(rs)
            picked: dict[str, Record] = {}
            # Round-robin over the chosen topics so each gets a fair share, then group by topic for the flow.
            while len(picked) < n and any(by_topic.values()):
                for rs in by_topic.values():
                    while rs and rs[0].id in picked:
                        rs.pop(0)
                    if rs and len(picked) < n:
                        r = rs.pop(0)
                        picked[r.id] = r
            order = {t: i for i, t in enumerate(config.topics)}
            return sorted(picked.values(), key=lambda r: min(order.get(t, 99) for t in r.topics))
        rest = pool[:]
        rng.shuffle(rest)
        if config.mode == "review" and self.history is not None:
            by_id = {r.id: r for r in pool}
            first = [by_id[q] for q in self.history.review_order(config.user) if q in by_id]
            seen = {r.id for r in first}
            return (first + [r for r in rest if r.id not in seen])[:n]
        return rest[:n]

    def start(self, config: InterviewConfig) -> Interview:
        config = config.model_copy(update={"user": normalize_user(config.user)})
        questions = self.plan(config)
        iv = Interview(id=uuid.uuid4().hex, config=config, questions=questions,
                       sources={r.id: self._source_of(r) for r in questions})
        mode = iv.t(f"mode_{config.mode}")
        iv.messages.append(Message(role="assistant", kind="info",
                                   text=iv.t("welcome", user=config.user, n=len(questions), mode=mode)))
        if self.history is not None:
            try:
                self.history.start_session(iv.id, config.user, config.model_dump())
            except Exception as exc:  # history is a convenience: never block an interview on it
                iv.messages.append(Message(role="assistant", kind="error", text=iv.t("save_error", err=_err(exc))))
        self._ask(iv)
        return iv

    def _source_of(self, rec: Record) -> str:
        if rec.answers:
            return rec.answers[0].source
        # An MCQ without an explanation has no answer row, but it still came from a document.
        return self.store.record_source(rec.id)

    # --- steps --------------------------------------------------------------------------
    def submit(self, iv: Interview, answer: str | list[str]) -> Interview:
        """Grade the answer to the current question or follow-up."""
        steps = self._submit(iv, answer, stream=False)
        while True:  # not streaming: the generator never yields, it only returns the new state
            try:
                next(steps)
            except StopIteration as stop:
                return stop.value

    def submit_stream(self, iv: Interview, answer: str | list[str]) -> Iterator[tuple[bool, Interview]]:
        """``submit``, with the LLM's feedback streamed: yields ``(False, partial)`` while the reply grows (the
        chat so far plus a grade bubble with the text streamed so far; show it, do not keep it), then one
        ``(True, final)``: exactly what ``submit`` returns for the same replies (the validated text, or the
        grader's own feedback with a notice, replaces what was streamed)."""
        steps = self._submit(iv, answer, stream=True)
        while True:
            try:
                partial = next(steps)
            except StopIteration as stop:
                yield True, stop.value
                return
            yield False, partial

    def _submit(self, iv: Interview, answer: str | list[str], *, stream: bool) -> Generator[Interview, None, Interview]:
        if iv.done:
            return self._note(iv, "over")
        rec = iv.current
        assert rec is not None
        if rec.kind == "choice" and iv.phase == "question":
            letters = normalize_choice(answer)
            if not letters:
                return self._note(iv, "choose")
            text = letters
        else:
            text = (" ".join(answer) if isinstance(answer, list) else answer or "").strip()[:MAX_ANSWER_CHARS]
            if not text:
                return self._note(iv, "empty")
            if text.lower().strip("。.!！ ") in SKIP_WORDS:
                return self.skip(iv, said=text)
        new = iv.model_copy(deep=True)
        new.messages.append(Message(role="user", kind="answer", text=text))
        try:
            if new.phase == "follow_up":
                grade = self._grade_follow_up(new, rec, text)
            else:
                cap = {"cap": HINT_CAPS[len(new.hints) - 1]} if new.hints else {}
                with self._grade_lock:
                    grade = self.grader.grade(
                        rec.question, text, [a.text for a in rec.answers], kind=rec.kind, correct=rec.correct,
                        reference_ids=[rec.id], key_points=rec.key_points or None, **cap,
                    )
        except Exception as exc:  # the model or grader failed: keep the answer, let the user retry or skip
            iv = iv.model_copy(deep=True)
            iv.pending_answer = text
            iv.messages.append(Message(role="user", kind="answer", text=text))
            iv.messages.append(Message(role="assistant", kind="error", text=iv.t("grade_error", err=_err(exc))))
            return iv
        new.pending_answer = None
        # The LLM is asked only after the grade exists, outside the grade lock (it is slow and other sessions
        # may grade meanwhile); its failures never raise out of here, so the graded answer is always kept.
        voice = _Voice(self, new)
        if new.phase == "follow_up":
            question = new.follow_up_question or new.follow_up_point or ""
            if stream:
                shown = yield from voice.stream_feedback(question, text, grade, new.follow_up_point or "",
                                                         lambda so_far: self._partial(new, grade, so_far, True))
            else:
                shown = voice.feedback(question, text, grade, new.follow_up_point or "")
            self._record(new, rec, text, grade, follow_up=True, shown=shown)
            voice.flush_notices()
            self._reveal(new, rec)
            self._advance(new)
        else:
            if rec.kind == "open":
                grade = voice.score(rec.question, text, reference_text(rec), grade)
                if stream:
                    shown = yield from voice.stream_feedback(rec.question, text, grade, reference_text(rec),
                                                             lambda so_far: self._partial(new, grade, so_far, False))
                else:
                    shown = voice.feedback(rec.question, text, grade, reference_text(rec))
            else:
                shown = None  # a choice's feedback is a fact (what was chosen, what is right): no rewording
            turn = self._record(new, rec, text, grade, shown=shown)
            point = self._follow_up_point(rec, grade, turn)
            if point:
                self._ask_follow_up(new, point, grade, voice=voice, answer=text)
            else:
                voice.flush_notices()
                self._reveal(new, rec)
                self._advance(new)
        self._flush(new)
        return new

    def skip(self, iv: Interview, *, said: str | None = None) -> Interview:
        if iv.done:
            return self._note(iv, "over")
        rec = iv.current
        assert rec is not None
        new = iv.model_copy(deep=True)
        new.pending_answer = None
        if said:
            new.messages.append(Message(role="user", kind="answer", text=said))
        lang = new.config.lang
        follow_up = new.phase == "follow_up"
        turn = Turn(
            id=_turn_id(new, follow_up), question_id=rec.id,
            question=new.follow_up_question if follow_up else rec.question,
            kind=rec.kind, topics=rec.topics, follow_up=follow_up, answer=said or "", score=0.0, level=0,
            level_name=LEVEL_NAMES[lang][0], feedback=new.t("skip_text"), hint_used=bool(new.hints), skipped=True,
            reference=new.follow_up_point if follow_up else reference_text(rec),
            source=iv.sources.get(rec.id, ""),
            key_points_missed=[new.follow_up_point] if follow_up and new.follow_up_point else list(rec.key_points),
            created_at=_now(),
        )
        new.turns.append(turn)
        new.messages.append(Message(role="assistant", kind="grade", title=new.t("skip_title"), text=turn.feedback))
        self._reveal(new, rec)
        self._advance(new)
        self._flush(new)
        return new

    def hint(self, iv: Interview) -> Interview:
        if iv.done:
            return self._note(iv, "over")
        rec = iv.current
        assert rec is not None
        if iv.phase == "follow_up":
            return self._note(iv, "no_hint_fu")
        if len(iv.hints) >= len(HINT_CAPS):
            return self._note(iv, "no_hint")
        if rec.kind == "choice":
            wrong = [k for k in rec.options if k not in (rec.correct or "") and k not in iv.hints]
            if not wrong:
                return self._note(iv, "no_hint")
            point, text = wrong[0], iv.t("hint_choice", letter=wrong[0])
        else:
            left = [p for p in rec.key_points if p not in iv.hints]
            if not left:
                return self._note(iv, "no_hint")
            point, text = left[0], iv.t("hint_text", point=left[0])
        new = iv.model_copy(deep=True)
        new.hints.append(point)
        cap = HINT_CAPS[len(new.hints) - 1]
        new.messages.append(Message(role="assistant", kind="hint", title=new.t("hint_title", cap=fmt_score(cap)),
                                    text=text))
        return new

    def end(self, iv: Interview) -> Interview:
        if iv.done:
            return iv
        new = iv.model_copy(deep=True)
        new.phase = "done"
        new.pending_answer = None
        self._finish(new)
        return new

    def summary(self, iv: Interview) -> Summary:
        mains = [t for t in iv.turns if not t.follow_up]
        per: dict[str, list[float]] = {}
        for t in mains:
            for topic in t.topics or ["other"]:
                per.setdefault(topic, []).append(t.score)
        avg = round(sum(t.score for t in mains) / len(mains), 2) if mains else 0.0
        weakest = sorted((t for t in mains if is_weak(t.score)), key=lambda t: t.score)[:3]
        return Summary(
            answered=len(mains), total=len(iv.questions), average=avg,
            per_topic=sorted((TopicScore(topic=k, average=round(sum(v) / len(v), 2), answers=len(v))
                              for k, v in per.items()), key=lambda s: s.average),
            weakest=weakest, follow_ups=sum(t.follow_up for t in iv.turns),
        )

    # --- internals ----------------------------------------------------------------------
    def _note(self, iv: Interview, key: str) -> Interview:
        new = iv.model_copy(deep=True)
        new.messages.append(Message(role="assistant", kind="info", text=new.t(key)))
        return new

    def _ask(self, iv: Interview) -> None:
        rec = iv.current
        if rec is None:
            iv.phase = "done"
            self._finish(iv)
            return
        title = iv.t("q_title", i=iv.index + 1, n=len(iv.questions), topics=", ".join(rec.topics))
        text = rec.question
        if rec.kind == "choice":
            tag = iv.t("multi" if len(rec.correct or "") > 1 else "single")
            text = f"{text} {tag}\n" + "\n".join(f"{k}. {v}" for k, v in rec.options.items())
        iv.messages.append(Message(role="assistant", kind="question", title=title, text=text))

    def _grade_follow_up(self, iv: Interview, rec: Record, text: str) -> Grade:
        point = iv.follow_up_point or ""
        with self._grade_lock:
            return self.grader.grade(iv.follow_up_question or point, text, [point], kind="open",
                                     reference_ids=[rec.id], key_points=[point])

    @staticmethod
    def _shown_score(iv: Interview, grade: Grade, follow_up: bool) -> tuple[float, int, bool]:
        """(score, level, hinted): the grade, capped when a hint was taken for the main question."""
        score, level = grade.score, grade.level
        hinted = bool(iv.hints) and not follow_up
        if hinted:
            cap = HINT_CAPS[len(iv.hints) - 1]
            score, level = min(score, cap), min(level, int(cap))
        return score, level, hinted

    def _partial(self, iv: Interview, grade: Grade, so_far: str, follow_up: bool) -> Interview:
        """The chat while the LLM's feedback streams: ``iv``'s messages plus a grade bubble with the text so far.
        A copy for display only: ``iv`` itself is not changed, and later steps do not change the copy."""
        score, level, _ = self._shown_score(iv, grade, follow_up)
        key = "fu_grade_title" if follow_up else "grade_title"
        bubble = Message(role="assistant", kind="grade", text=so_far.strip() or "…",
                         title=iv.t(key, score=fmt_score(score), level=LEVEL_NAMES[iv.config.lang][level]))
        view = iv.model_copy(deep=True)
        view.messages.append(bubble)
        return view

    def _record(self, iv: Interview, rec: Record, text: str, grade: Grade, *, follow_up: bool = False,
                shown: str | None = None) -> Turn:
        """Store the turn with the grader's feedback; the chat shows ``shown`` (the LLM's wording) if given."""
        lang = iv.config.lang
        score, level, hinted = self._shown_score(iv, grade, follow_up)
        turn = Turn(
            id=_turn_id(iv, follow_up), question_id=rec.id,
            question=(iv.follow_up_question or "") if follow_up else rec.question,
            kind="open" if follow_up else rec.kind, topics=rec.topics, follow_up=follow_up, answer=text,
            score=score, level=level, level_name=LEVEL_NAMES[lang][level], feedback=grade.feedback,
            key_points_hit=grade.key_points_hit, key_points_missed=grade.key_points_missed, hint_used=hinted,
            reference=(iv.follow_up_point or "") if follow_up else reference_text(rec),
            source=iv.sources.get(rec.id, ""),
            created_at=_now(),
        )
        iv.turns.append(turn)
        # The grader's feedback already names the rubric level, what was covered and what is missing. The LLM's
        # reply may leave the missing points out, so the program's list follows it.
        text_shown = grade.feedback.strip()
        if shown is not None:
            text_shown = shown.strip()
            if grade.key_points_missed:
                text_shown += "\n" + iv.t("missed_line", points=("；" if lang == "zh" else "; ").join(
                    _short(p, 40) for p in grade.key_points_missed[:4]))
        key = "fu_grade_title" if follow_up else "grade_title"
        iv.messages.append(Message(role="assistant", kind="grade", text=text_shown,
                                   title=iv.t(key, score=fmt_score(score), level=turn.level_name)))
        return turn

    def _follow_up_point(self, rec: Record, grade: Grade, turn: Turn) -> str | None:
        """The most important missed key point: the earliest in the reference's own order."""
        if rec.kind != "open" or turn.score > FOLLOW_UP_MAX or not grade.key_points_missed:
            return None
        # Nothing to build on (empty, "don't know", off-topic, a copy, an injection): show the reference instead.
        if {"empty", "dont_know", "offtopic", "copy", "injection"} & set(grade.flags):
            return None
        missed = set(grade.key_points_missed)
        ordered = [p for p in rec.key_points if p in missed] or grade.key_points_missed
        return ordered[0]

    def _ask_follow_up(self, iv: Interview, point: str, grade: Grade, *, voice: "_Voice | None" = None,
                       answer: str = "") -> None:
        if grade.key_points_hit:
            q = iv.t("fu_with_hit", hit=_short(grade.key_points_hit[0], 30), point=_short(point, 80))
        else:
            q = iv.t("fu_plain", point=_short(point, 80))
        if voice is not None:
            rec = iv.current
            # The program chose the point and that there is a follow-up; the LLM only words the question.
            q = voice.follow_up(rec.question if rec else "", answer, point, q)
            voice.flush_notices()
        iv.phase = "follow_up"
        iv.follow_up_point = point
        iv.follow_up_question = q
        iv.messages.append(Message(role="assistant", kind="follow_up", title=iv.t("fu_title"), text=q))

    def _reveal(self, iv: Interview, rec: Record) -> None:
        ref = reference_text(rec) or iv.t("no_ref")
        iv.messages.append(Message(role="assistant", kind="reference", text=ref,
                                   title=iv.t("ref_title", source=iv.sources.get(rec.id, "") or "—")))

    def _advance(self, iv: Interview) -> None:
        iv.index += 1
        iv.phase = "question"
        iv.hints = []
        iv.follow_up_point = iv.follow_up_question = None
        self._ask(iv)

    def _finish(self, iv: Interview) -> None:
        s = self.summary(iv)
        if not s.answered:
            text = iv.t("nothing")
        else:
            lines = [iv.t("summary", answered=s.answered, total=s.total, avg=fmt_score(s.average))]
            lines.append(iv.t("topics_line") + " " + "，".join(
                f"{p.topic} {fmt_score(p.average)}" for p in s.per_topic))
            if s.weakest:
                lines.append(iv.t("weakest") + "\n" + "\n".join(
                    f"- {_short(t.question, 50)} ({fmt_score(t.score)}/5) — {t.source}" for t in s.weakest))
            text = "\n\n".join(lines)
        iv.messages.append(Message(role="assistant", kind="summary", title=iv.t("done"), text=text))
        self._flush(iv)
        if self.history is not None:
            try:
                self.history.end_session(iv.id)
            except Exception:  # the summary is already shown; a missing end time is harmless
                pass

    def _flush(self, iv: Interview) -> None:
        """Save every unsaved turn; ids make retries safe, and a failure is retried on the next step."""
        if self.history is None:
            return
        for t in iv.turns:
            if t.saved:
                continue
            try:
                self.history.save_answer(AnswerRecord.of(t, session_id=iv.id, user=iv.config.user))
                t.saved = True
            except Exception as exc:
                iv.messages.append(Message(role="assistant", kind="error", text=iv.t("save_error", err=_err(exc))))
                return


class _Voice:
    """The LLM roles for one interview step, with their failures turned into notices.

    Each call returns the text to show: the LLM's when it produced a valid one, else the offline text. Once a
    call has used up the backend's whole deadline, the rest of the step stays offline: the candidate should
    not wait for a second timeout before seeing the grade.
    """

    def __init__(self, engine: InterviewEngine, iv: Interview) -> None:
        self.iv = iv
        self.notices: list[str] = []
        self.roles: LLMRoles | None = None
        self.slow = False
        if engine._roles is None and engine._roles_factory is None and engine.roles_error is None:
            return  # offline engine: nothing to do, no lock touched
        self.roles, why = engine.active_roles()
        if why == "llm_failed":
            note = iv.t(why, err=engine.roles_error or "")
            if not any(m.text == note for m in iv.messages):  # once per interview, not after every answer
                self.notices.append(note)
        elif why:
            self.notices.append(iv.t(why))

    def _run(self, call: Callable[[LLMRoles], object]):
        if self.roles is None or self.slow:
            return None
        try:
            r = call(self.roles)
        except Exception as exc:  # roles return fallbacks rather than raise; a bug there must not cost an answer
            self.notices.append(self.iv.t("llm_error", err=_err(exc)))
            self.slow = True
            return None
        return self._after(r)

    def _after(self, r):
        notice = getattr(r, "notice", None)
        if notice:
            self.notices.append(notice)
        llm = self.roles.llm
        if llm is not None and getattr(r, "seconds", 0.0) >= llm.timeout:
            self.slow = True
        return r

    def score(self, question: str, answer: str, reference: str, grade: Grade) -> Grade:
        r = self._run(lambda roles: roles.score(question, answer, reference, grade))
        return r.grade if r is not None else grade

    def feedback(self, question: str, answer: str, grade: Grade, reference: str) -> str | None:
        """The LLM's reply, or None to show the grader's own feedback."""
        r = self._run(lambda roles: roles.feedback(question, answer, grade, reference))
        return r.text if r is not None and r.used_llm else None

    def stream_feedback(self, question: str, answer: str, grade: Grade, reference: str,
                        partial: Callable[[str], Interview]) -> Generator[Interview, None, str | None]:
        """``feedback``, streamed: yields ``partial(text so far)`` per delta and returns what ``feedback`` would."""
        if self.roles is None or self.slow:
            return None
        r, so_far = None, ""
        try:
            for ev in self.roles.stream_feedback(question, answer, grade, reference):
                if isinstance(ev, str):
                    so_far += ev
                    yield partial(so_far)
                else:
                    r = ev
        except Exception as exc:  # as in ``_run``: a bug in the roles must not cost an answer
            self.notices.append(self.iv.t("llm_error", err=_err(exc)))
            self.slow = True
            return None
        if r is None:
            return None
        r = self._after(r)
        return r.text if r.used_llm else None

    def follow_up(self, question: str, answer: str, point: str, fallback: str) -> str:
        r = self._run(lambda roles: roles.follow_up(question, answer, point, fallback=fallback))
        return r.text if r is not None and r.used_llm else fallback

    def flush_notices(self) -> None:
        for n in dict.fromkeys(self.notices):
            self.iv.messages.append(Message(role="assistant", kind="info", text=n))
        self.notices.clear()


def _turn_id(iv: Interview, follow_up: bool) -> str:
    """The answer's id is its place in the interview, not a fresh random id.

    Each (question, main answer or follow-up) is answered once, so two submits of the same step that race
    from the same state (Enter and a click on Submit, a resent request) get the same id and history's
    INSERT OR IGNORE keeps one row and reviews the card once. With random ids both were saved.
    """
    return f"{iv.id}-{iv.index}-{'f' if follow_up else 'm'}"


def _err(exc: Exception) -> str:
    return _short(f"{type(exc).__name__}: {exc}", 120)
