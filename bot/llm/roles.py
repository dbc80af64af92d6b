"""What the LLM does, each role with a pydantic-validated output, a deadline, bounded retries and an offline fallback.

1. ``feedback``  — rewrites the grader's findings as an interviewer's reply; may not add facts (checked).
2. ``follow_up`` — one question on the most important missed point; the *program* picks the point.
3. ``lookup``    — an answer composed only from retrieved references with ``[n]`` citations; when retrieval
   found nothing relevant the LLM is not asked at all and the bank's "not found" stands.
4. ``score``     — an LLM judge combined with the offline score by ``combine_scores`` (bounded disagreement).

The program decides the flow and the stored score. Every call returns a ``RoleResult`` whose ``text`` is
always usable: on a timeout, connection error or malformed/unsafe output (after ``retries`` extra
attempts) it is the offline text and ``notice`` says why, for the UI to show. Nothing here raises for a
per-call failure and nothing waits longer than ``(retries + 1) × timeout``.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Callable, Iterator, TypeVar

from pydantic import BaseModel, ValidationError

from bot.grading.schema import Grade
from bot.llm import prompts as P
from bot.llm.backends import LLM
from bot.llm.checks import (COPY_LIMIT, Rejected, check_language, check_no_echo, copied_share, invented_terms, language_of,
                            same_text)
from bot.llm.outputs import FeedbackOut, FollowUpOut, LookupOut, RoleResult, ScoreOut, ScoreResult, parse_json
from bot.llm.scoring import combine_scores, guarded
from bot.texts import RUBRIC as TEXTS_RUBRIC

T = TypeVar("T", bound=BaseModel)

RUBRIC = "\n".join(line.replace(" — ", " - ", 1) for line in TEXTS_RUBRIC["en"].values())
ASSESSMENT = {0: "not acceptable", 1: "mostly wrong", 2: "partly correct with major gaps",
              3: "core idea right but incomplete", 4: "correct with minor omissions", 5: "correct and complete"}


# ------------------------------------------------------------------------------------------- roles


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return "it did not match the required format: " + "; ".join(e["msg"] for e in exc.errors()[:3])
    return str(exc)[:200]


def _is_timeout(exc: BaseException | None) -> bool:
    # openai.APITimeoutError, httpx.ReadTimeout, concurrent.futures.TimeoutError, our own TimeoutError.
    return isinstance(exc, (TimeoutError, FutureTimeout)) or "Timeout" in type(exc).__name__


def _notice(exc: BaseException | None, attempts: int) -> str:
    why = "timed out" if _is_timeout(exc) else (
        f"{type(exc).__name__}: {str(exc)[:120]}" if exc else "no usable output")
    return (f"LLM 暂不可用，已改用离线结果 — the language model failed ({why}) after {attempts} "
            f"attempt{'s' if attempts != 1 else ''}; showing the offline result")


class LLMRoles:
    """The four roles over one backend. ``LLMRoles(None)`` is the offline path: every role returns its fallback."""

    def __init__(self, llm: LLM | None, *, score_bound: float = 0.0) -> None:
        self.llm = llm
        self.score_bound = score_bound
        self._pool: ThreadPoolExecutor | None = None

    @property
    def enabled(self) -> bool:
        return self.llm is not None

    @property
    def label(self) -> str:
        return self.llm.label if self.llm else "none · offline grader"

    # ---------------------------------------------------------------- plumbing

    def _call(self, build: Callable[[list], T], messages: list, fallback: str) -> RoleResult[T]:
        """Run ``build(messages)`` (one model call + validation) with a hard deadline, retrying a bounded number
        of times; after a rejected output the retry tells the model why."""
        assert self.llm is not None
        if self._pool is None:
            # Worker threads let us abandon a call that overruns: a socket that trickles bytes defeats httpx's
            # per-read timeout, a future's deadline does not.
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mianshi-llm")
        t0 = time.monotonic()
        err: BaseException | None = None
        attempts = 0
        for attempts in range(1, self.llm.retries + 2):
            fut = self._pool.submit(build, messages)
            try:
                value = fut.result(timeout=self.llm.timeout + 2)
                return RoleResult(text=self._text(value), value=value, attempts=attempts,
                                  seconds=time.monotonic() - t0)
            except Exception as exc:  # noqa: BLE001 — any backend/validation failure falls back offline
                err = exc
                fut.cancel()
                if _is_timeout(exc):
                    # A timeout means the machine or server is too slow right now (a local server is also still
                    # busy finishing the abandoned request): retrying would only double the wait.
                    break
                if isinstance(exc, (Rejected, ValidationError, ValueError)):
                    messages = [*messages, P.retry_message(_reason(exc))]
        return RoleResult(text=fallback, notice=_notice(err, attempts), attempts=attempts,
                          seconds=time.monotonic() - t0)

    @staticmethod
    def _text(value: BaseModel) -> str:
        for f in ("reply", "question", "answer"):
            if hasattr(value, f):
                return getattr(value, f)
        return ""

    def _invoke_text(self, messages: list) -> str:
        msg = self.llm.chat.invoke(messages)
        return str(msg.content or "").strip()

    def _invoke_json(self, messages: list, model: type[T]) -> T:
        chat = self.llm.json_chat(model.model_json_schema(), model.__name__)
        return parse_json(str(chat.invoke(messages).content or ""), model)

    def _stream(self, messages: list, validate: Callable[[str], T], fallback: str) -> Iterator[str | RoleResult[T]]:
        """Yield text deltas, then one final ``RoleResult``. After a failure mid-stream the final result
        carries the offline text: the caller replaces what it showed (nothing is lost, nothing hangs)."""
        if self.llm is None:
            yield RoleResult(text=fallback)
            return
        t0 = time.monotonic()
        err: BaseException | None = None
        attempts = 0
        for attempts in range(1, self.llm.retries + 2):
            parts: list[str] = []
            deadline = time.monotonic() + self.llm.timeout
            try:
                for chunk in self.llm.chat.stream(messages):
                    piece = str(chunk.content or "")
                    if piece:
                        parts.append(piece)
                        yield piece
                    if time.monotonic() > deadline:
                        raise TimeoutError("stream exceeded the deadline")
                value = validate("".join(parts).strip())
                yield RoleResult(text=self._text(value), value=value, attempts=attempts,
                                 seconds=time.monotonic() - t0)
                return
            except Exception as exc:  # noqa: BLE001
                err = exc
                if parts or _is_timeout(exc):  # text already shown: do not stream a second, different answer after it
                    break
        yield RoleResult(text=fallback, notice=_notice(err, attempts), attempts=attempts,
                         seconds=time.monotonic() - t0)

    # ---------------------------------------------------------------- 1. feedback

    def _feedback_parts(self, question: str, answer: str, grade: Grade, reference: str):
        language = language_of(answer) if answer.strip() else language_of(question)
        notes = "; ".join(f for f in grade.flags) or "none"
        messages = P.FEEDBACK.messages(
            language=language, question=P.data(question, 600), reference=P.data(reference),
            assessment=ASSESSMENT.get(grade.level, ""), covered=P.data("; ".join(grade.key_points_hit)) or "none",
            missing=P.data("; ".join(grade.key_points_missed)) or "none", notes=notes, answer=P.data(answer))
        sources = (question, reference, answer, " ".join(grade.key_points_hit), " ".join(grade.key_points_missed))

        def validate(text: str) -> FeedbackOut:
            out = FeedbackOut(reply=text)
            check_no_echo(out.reply)
            if copied_share(out.reply, answer) > COPY_LIMIT:
                raise Rejected("the reply repeats the candidate's answer instead of commenting on it")
            check_language(out.reply, language)
            made_up = invented_terms(out.reply, *sources)
            if made_up:
                raise Rejected(f"the reply adds facts not in the reference: {', '.join(made_up[:5])}")
            return out

        return messages, validate

    def feedback(self, question: str, answer: str, grade: Grade, reference: str) -> RoleResult[FeedbackOut]:
        """An interviewer's reply built from ``grade``'s findings; fallback: the grader's own feedback."""
        if self.llm is None or guarded(grade):
            return RoleResult(text=grade.feedback)
        messages, validate = self._feedback_parts(question, answer, grade, reference)
        return self._call(lambda m: validate(self._invoke_text(m)), messages, grade.feedback)

    def stream_feedback(self, question: str, answer: str, grade: Grade,
                        reference: str) -> Iterator[str | RoleResult[FeedbackOut]]:
        if self.llm is None or guarded(grade):
            yield RoleResult(text=grade.feedback)
            return
        messages, validate = self._feedback_parts(question, answer, grade, reference)
        yield from self._stream(messages, validate, grade.feedback)

    # ---------------------------------------------------------------- 2. follow-up

    def follow_up(self, question: str, answer: str, point: str | None, fallback: str) -> RoleResult[FollowUpOut]:
        """One question probing ``point``: the missed key point the *program* chose (the interview picks the
        earliest missed point in the reference's order and decides whether to ask at all). The model only
        phrases it; ``fallback`` is the templated question."""
        if self.llm is None or not point:
            return RoleResult(text=fallback)
        language = language_of(answer) if answer.strip() else language_of(question)
        messages = P.FOLLOW_UP.messages(language=language, question=P.data(question, 600),
                                        point=P.data(point, 600), answer=P.data(answer))

        def build(m: list) -> FollowUpOut:
            out = self._invoke_json(m, FollowUpOut)
            check_no_echo(out.question)
            check_language(out.question, language)
            if same_text(out.question, question):
                raise Rejected("the follow-up only repeats the original question")
            made_up = invented_terms(out.question, question, point, answer)
            if made_up:
                raise Rejected(f"the question adds terms not in the material: {', '.join(made_up[:5])}")
            return out

        return self._call(build, messages, fallback)

    # ---------------------------------------------------------------- 3. lookup

    def _lookup_parts(self, query: str, references: str):
        n_refs = len(re.findall(r"^\[(\d+)\]", references, flags=re.M))
        language = language_of(query)
        messages = P.LOOKUP.messages(language=language, references=P.data(references, 6000), query=P.data(query, 600))

        def validate(text: str) -> LookupOut:
            if P.NOT_IN_REFERENCES in text:
                raise Rejected("the model found the references insufficient")
            check_no_echo(text)
            cites = [int(c) for c in re.findall(r"\[(\d+)\]", text)]
            bad = [c for c in cites if not 1 <= c <= n_refs]
            if bad:
                raise Rejected(f"citations to references that do not exist: {bad}")
            out = LookupOut(answer=text, citations=sorted(set(cites)))
            made_up = invented_terms(out.answer, references, query)
            if made_up:
                raise Rejected(f"the answer adds terms not in the references: {', '.join(made_up[:5])}")
            return out

        return messages, validate

    def lookup(self, query: str, offline) -> RoleResult[LookupOut]:
        """``offline`` is ``bot.lookup.ask.AskResult``. Not grounded → its "not in the bank" text, without asking the LLM."""
        if self.llm is None or not offline.grounded:
            return RoleResult(text=offline.answer)
        messages, validate = self._lookup_parts(query, offline.answer)
        return self._call(lambda m: validate(self._invoke_text(m)), messages, offline.answer)

    def stream_lookup(self, query: str, offline) -> Iterator[str | RoleResult[LookupOut]]:
        if self.llm is None or not offline.grounded:
            yield RoleResult(text=offline.answer)
            return
        messages, validate = self._lookup_parts(query, offline.answer)
        yield from self._stream(messages, validate, offline.answer)

    # ---------------------------------------------------------------- 4. scoring

    def judge(self, question: str, answer: str, reference: str) -> RoleResult[ScoreOut]:
        """The LLM's own 0–5 score (not stored as is: see ``score`` / ``combine_scores``)."""
        if self.llm is None:
            return RoleResult(text="")
        messages = P.SCORE.messages(rubric=RUBRIC, question=P.data(question, 600), reference=P.data(reference),
                                    answer=P.data(answer))
        r = self._call(lambda m: self._invoke_json(m, ScoreOut), messages, "")
        if r.value is not None:
            r.text = f"{r.value.score}: {r.value.reason}"
        return r

    def score(self, question: str, answer: str, reference: str, offline: Grade,
              bound: float | None = None) -> ScoreResult:
        """The grade to store: ``offline`` with its score combined with the LLM judge's by ``combine_scores``.

        The LLM is not consulted when a guard fired (the guard decides) or when the bound is 0.
        """
        bound = self.score_bound if bound is None else bound
        if self.llm is None or bound <= 0 or guarded(offline):
            return ScoreResult(offline, offline.score, None)
        r = self.judge(question, answer, reference)
        llm = r.value.score if r.value else None
        s = combine_scores(offline.score, llm, offline.flags, bound)
        return ScoreResult(offline.model_copy(update={"score": s, "level": int(round(s))}), offline.score, llm,
                           r.notice)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
