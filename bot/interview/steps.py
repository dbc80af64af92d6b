"""The state transitions: setup → question → answer → grade → (one follow-up) → … → summary.

Every step takes a state and returns a new one; when grading fails the input state is untouched and the
answer is kept in ``pending_answer`` to retry.

With an LLM the interviewer *words* things like a person: the feedback shown after an answer and the
follow-up question. The program still decides everything else — the score (the offline grade, moved toward
an LLM judge by at most ``roles.score_bound``, 0 by default), whether to follow up and on which point, when
to move on. What is stored in history is the program's: the (combined) score and the grader's own feedback,
which names the rubric level and the covered and missing key points in a fixed form that Progress and the
Anki export rely on; the LLM's reply is how it was said, shown in the chat only.
"""

from __future__ import annotations

import uuid
from typing import Generator

from bot.grading.schema import Grade, is_weak
from bot.interview import messages as M
from bot.interview.history import normalize_user
from bot.interview.journal import Journal
from bot.interview.lifecycle import RolesLifecycle
from bot.interview.loader import GraderLoader
from bot.interview.planner import QuestionPlanner
from bot.interview.followup import follow_up_question
from bot.interview.state import (FOLLOW_UP_MAX, HINT_CAPS, MAX_ANSWER_CHARS, SKIP_WORDS, Card, Interview,
                                 InterviewConfig, Message, Summary, TopicScore, Turn, error_text, fmt_score,
                                 normalize_choice, now, short)
from bot.interview.voice import Voice
from bot.lookup.retrieval import reference_text
from bot.texts import CHAT, LEVEL_NAMES
from ingest.schema import Record

# Nothing to build on in such an answer (empty, "don't know", off-topic, a copy, an injection): the
# reference is shown instead of a follow-up.
NO_FOLLOW_UP_FLAGS = {"empty", "dont_know", "offtopic", "copy", "injection"}
FOLLOW_UP_MIN = 0.5  # below this, without a contradicted statement to probe, there is no gap to ask about


class InterviewSteps:
    def __init__(self, planner: QuestionPlanner, grader: GraderLoader, llm: RolesLifecycle,
                 journal: Journal) -> None:
        self.planner = planner
        self.grader = grader
        self.llm = llm
        self.journal = journal
        self._tokenizer = None

    def start(self, config: InterviewConfig) -> Interview:
        config = config.model_copy(update={"user": normalize_user(config.user)})
        questions = self.planner.plan(config)
        iv = Interview(id=uuid.uuid4().hex, config=config, questions=questions,
                       sources={r.id: self.planner.source_of(r) for r in questions})
        mode = iv.t(f"mode_{config.mode}")
        iv.messages.append(Message(role="assistant", kind="info",
                                   text=iv.t("welcome", user=config.user, n=len(questions), mode=mode)))
        self.journal.start(iv)
        self._ask(iv)
        return iv

    def submit(self, iv: Interview, answer: str | list[str], *,
               stream: bool) -> Generator[Interview, None, Interview]:
        """Grade the answer to the current question or follow-up. Streaming, yields the chat while the LLM's
        feedback grows (see ``_partial``); either way, returns the new state."""
        if iv.done:
            return M.note(iv, "over")
        rec = iv.current
        assert rec is not None
        if rec.kind == "choice" and iv.phase == "question":
            text = normalize_choice(answer)
            if not text:
                return M.note(iv, "choose")
        else:
            text = (" ".join(answer) if isinstance(answer, list) else answer or "").strip()[:MAX_ANSWER_CHARS]
            if not text:
                return M.note(iv, "empty")
            if text.lower().strip("。.!！ ") in SKIP_WORDS:
                return self.skip(iv, said=text)
        new = iv.model_copy(deep=True)
        new.messages.append(Message(role="user", kind="answer", text=text))
        try:
            grade = self._grade(new, rec, text)
        except Exception as exc:  # the model or grader failed: keep the answer, let the user retry or skip
            iv = iv.model_copy(deep=True)
            iv.pending_answer = text
            iv.messages.append(Message(role="user", kind="answer", text=text))
            iv.messages.append(Message(role="assistant", kind="error", text=iv.t("grade_error", err=error_text(exc))))
            return iv
        new.pending_answer = None
        # The LLM is asked only after the grade exists, outside the grade lock (it is slow and other sessions
        # may grade meanwhile); its failures never raise out of here, so the graded answer is always kept.
        voice = Voice(self.llm, new)
        if new.phase == "follow_up":
            question = new.follow_up_question or new.follow_up_point or ""
            shown = yield from self._feedback(voice, new, question, text, grade, new.follow_up_point or "",
                                              follow_up=True, stream=stream)
            self._record(new, rec, text, grade, follow_up=True, shown=shown)
            self._move_on(new, rec, voice)
        else:
            if rec.kind == "open":
                grade = voice.score(rec.question, text, reference_text(rec), grade)
                shown = yield from self._feedback(voice, new, rec.question, text, grade, reference_text(rec),
                                                  follow_up=False, stream=stream)
            else:
                shown = None  # a choice's feedback is a fact (what was chosen, what is right): no rewording
            turn = self._record(new, rec, text, grade, shown=shown)
            picked = self._follow_up(new, rec, grade, turn.score, text)
            if picked:
                self._ask_follow_up(new, *picked, voice, answer=text)
            else:
                self._move_on(new, rec, voice)
        self.journal.flush(new)
        return new

    def skip(self, iv: Interview, *, said: str | None = None) -> Interview:
        if iv.done:
            return M.note(iv, "over")
        rec = iv.current
        assert rec is not None
        new = iv.model_copy(deep=True)
        new.pending_answer = None
        if said:
            new.messages.append(Message(role="user", kind="answer", text=said))
        follow_up = new.phase == "follow_up"
        turn = Turn(
            id=new.turn_id(follow_up), question_id=rec.id,
            question=new.follow_up_question if follow_up else rec.question,
            kind=rec.kind, topics=rec.topics, follow_up=follow_up, answer=said or "", score=0.0, level=0,
            level_name=LEVEL_NAMES[new.config.lang][0], feedback=new.t("skip_text"), hint_used=bool(new.hints),
            skipped=True, reference=new.follow_up_point if follow_up else reference_text(rec),
            source=iv.sources.get(rec.id, ""),
            key_points_missed=[new.follow_up_point] if follow_up and new.follow_up_point else list(rec.key_points),
            created_at=now(),
        )
        new.turns.append(turn)
        skipped = Card(score=0.0, level=0, follow_up=follow_up, notes=[turn.feedback])
        if rec.kind == "choice" and not follow_up:
            skipped.correct, skipped.options = rec.correct or "", dict(rec.options)
        new.messages.append(Message(role="assistant", kind="grade", title=new.t("skip_title"), text=turn.feedback,
                                    card=skipped))
        self._reveal(new, rec)
        self._advance(new)
        self.journal.flush(new)
        return new

    def hint(self, iv: Interview) -> Interview:
        if iv.done:
            return M.note(iv, "over")
        rec = iv.current
        assert rec is not None
        if iv.phase == "follow_up":
            return M.note(iv, "no_hint_fu")
        if len(iv.hints) >= len(HINT_CAPS):
            return M.note(iv, "no_hint")
        if rec.kind == "choice":
            wrong = [k for k in rec.options if k not in (rec.correct or "") and k not in iv.hints]
            if not wrong:
                return M.note(iv, "no_hint")
            point, text = wrong[0], iv.t("hint_choice", letter=wrong[0])
        else:
            left = [p for p in rec.key_points if p not in iv.hints]
            if not left:
                return M.note(iv, "no_hint")
            point, text = left[0], iv.t("hint_text", point=left[0])
        new = iv.model_copy(deep=True)
        new.hints.append(point)
        cap = HINT_CAPS[len(new.hints) - 1]
        new.messages.append(Message(role="assistant", kind="hint", title=new.t("hint_title", cap=fmt_score(cap)),
                                    text=text))
        return new

    def flagged(self, iv: Interview, rec: Record) -> Interview:
        new = iv.model_copy(deep=True)
        new.messages.append(Message(role="assistant", kind="info", text=CHAT[iv.config.lang]["flag_done"].format(
            q=short(rec.question, 50))))
        if not new.done and new.current is not None and new.current.id == rec.id:
            new.pending_answer = None
            self._advance(new)
            self.journal.flush(new)
        return new

    def end(self, iv: Interview) -> Interview:
        if iv.done:
            return iv
        new = iv.model_copy(deep=True)
        new.phase = "done"
        new.pending_answer = None
        self._finish(new)
        return new

    # --- internals ----------------------------------------------------------------------
    def _grade(self, iv: Interview, rec: Record, text: str) -> Grade:
        if iv.phase == "follow_up":
            point = iv.follow_up_point or ""
            return self.grader.grade(iv.follow_up_question or point, text, [point], kind="open",
                                     reference_ids=[rec.id], key_points=[point])
        cap = {"cap": HINT_CAPS[len(iv.hints) - 1]} if iv.hints else {}
        return self.grader.grade(rec.question, text, [a.text for a in rec.answers], kind=rec.kind,
                                 correct=rec.correct, reference_ids=[rec.id], key_points=rec.key_points or None,
                                 **cap)

    def _feedback(self, voice: Voice, iv: Interview, question: str, text: str, grade: Grade, reference: str, *,
                  follow_up: bool, stream: bool) -> Generator[Interview, None, str | None]:
        if not stream:
            return voice.feedback(question, text, grade, reference)
        return (yield from voice.stream_feedback(question, text, grade, reference,
                                                 lambda so_far: _partial(iv, grade, so_far, follow_up)))

    def _record(self, iv: Interview, rec: Record, text: str, grade: Grade, *, follow_up: bool = False,
                shown: str | None = None) -> Turn:
        """Store the turn with the grader's feedback; the chat shows ``shown`` (the LLM's wording) if given."""
        score, level, hinted = _shown_score(iv, grade, follow_up)
        turn = Turn(
            id=iv.turn_id(follow_up), question_id=rec.id,
            question=(iv.follow_up_question or "") if follow_up else rec.question,
            kind="open" if follow_up else rec.kind, topics=rec.topics, follow_up=follow_up, answer=text,
            score=score, level=level, level_name=LEVEL_NAMES[iv.config.lang][level], feedback=grade.feedback,
            key_points_hit=grade.key_points_hit, key_points_missed=grade.key_points_missed, hint_used=hinted,
            reference=(iv.follow_up_point or "") if follow_up else reference_text(rec),
            source=iv.sources.get(rec.id, ""),
            created_at=now(),
        )
        iv.turns.append(turn)
        text_shown = M.shown_feedback(iv, grade.feedback, shown, grade.key_points_missed)
        card = M.card(iv, grade, score, level, follow_up=follow_up, rec=rec, chosen=text, shown=shown)
        iv.messages.append(M.grade(iv, text_shown, score, level, follow_up, card))
        return turn

    def _follow_up(self, iv: Interview, rec: Record, grade: Grade, score: float,
                   answer: str) -> tuple[str, str] | None:
        """(point, question) for one follow-up on a real gap, or None. A contradicted statement comes first
        (the question quotes only the candidate's own clause), then missed points in the reference's order;
        a point that is not a clean statement is passed over, and with none left there is no follow-up."""
        if rec.kind != "open" or score > FOLLOW_UP_MAX or NO_FOLLOW_UP_FLAGS & set(grade.flags):
            return None
        if score < FOLLOW_UP_MIN and not grade.wrong:
            return None  # nothing right and nothing to correct: the reference teaches more than a probe
        order = {p: i for i, p in enumerate(rec.key_points)}
        missed = sorted(M.missed(grade), key=lambda p: order.get(p, len(order)))
        candidates = [(w.reference, w.answer) for w in grade.wrong] + [(p, None) for p in missed]
        tok = self.tokenizer
        for point, said in candidates:
            q = follow_up_question(point, question=rec.question, answer=answer, lang=iv.config.lang, tokenizer=tok,
                                   said=said)
            if q:
                return point, q
        return None

    @property
    def tokenizer(self):
        """The grader's tokenizer (jieba, already loaded), or one of our own for a grader without one."""
        tok = getattr(self.grader.grader, "tokenizer", None)
        if tok is None:
            if self._tokenizer is None:
                from ingest.tokenize import Tokenizer

                self._tokenizer = Tokenizer()
            tok = self._tokenizer
        return tok

    def _ask_follow_up(self, iv: Interview, point: str, q: str, voice: Voice, *, answer: str) -> None:
        rec = iv.current
        # The program chose the point and that there is a follow-up; the LLM only words the question.
        q = voice.follow_up(rec.question if rec else "", answer, point, q)
        voice.flush_notices()
        iv.phase = "follow_up"
        iv.follow_up_point = point
        iv.follow_up_question = q
        iv.messages.append(Message(role="assistant", kind="follow_up", title=iv.t("fu_title"), text=q))

    def _move_on(self, iv: Interview, rec: Record, voice: Voice) -> None:
        voice.flush_notices()
        self._reveal(iv, rec)
        self._advance(iv)

    @staticmethod
    def _reveal(iv: Interview, rec: Record) -> None:
        ref = M.reference(iv, rec)
        if ref is not None:
            iv.messages.append(ref)

    def _advance(self, iv: Interview) -> None:
        iv.index += 1
        iv.phase = "question"
        iv.hints = []
        iv.follow_up_point = iv.follow_up_question = None
        self._ask(iv)

    def _ask(self, iv: Interview) -> None:
        rec = iv.current
        if rec is None:
            iv.phase = "done"
            self._finish(iv)
            return
        iv.messages.append(M.question(iv, rec))

    def _finish(self, iv: Interview) -> None:
        iv.messages.append(M.summary(iv, summarize(iv)))
        self.journal.flush(iv)
        self.journal.end(iv)


def summarize(iv: Interview) -> Summary:
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


def _shown_score(iv: Interview, grade: Grade, follow_up: bool) -> tuple[float, int, bool]:
    """(score, level, hinted): the grade, capped when a hint was taken for the main question."""
    score, level = grade.score, grade.level
    hinted = bool(iv.hints) and not follow_up
    if hinted:
        cap = HINT_CAPS[len(iv.hints) - 1]
        score, level = min(score, cap), min(level, int(cap))
    return score, level, hinted


def _partial(iv: Interview, grade: Grade, so_far: str, follow_up: bool) -> Interview:
    """The chat while the LLM's feedback streams: ``iv``'s messages plus a grade bubble with the text so far.
    A copy for display only: ``iv`` itself is not changed, and later steps do not change the copy."""
    score, level, _ = _shown_score(iv, grade, follow_up)
    view = iv.model_copy(deep=True)
    text = so_far.strip() or "…"
    view.messages.append(M.grade(iv, text, score, level, follow_up, M.card(iv, grade, score, level,
                                                                           follow_up=follow_up, shown=text)))
    return view
