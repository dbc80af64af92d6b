"""How the interviewer words one step: the LLM's text when it produced a valid one, else the offline text.

The program still decides everything else (the score within ``roles.score_bound``, whether to follow up and
on which point); any LLM failure becomes a visible notice instead of an exception.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Generator

from bot.grading.schema import Grade
from bot.interview.lifecycle import RolesLifecycle
from bot.interview.state import Interview, Message, error_text

if TYPE_CHECKING:
    from bot.llm.roles import LLMRoles


class Voice:
    """The LLM roles for one interview step, with their failures turned into notices.

    Once a call has used up the backend's whole deadline, the rest of the step stays offline: the candidate
    should not wait for a second timeout before seeing the grade.
    """

    def __init__(self, llm: RolesLifecycle, iv: Interview) -> None:
        self.iv = iv
        self.notices: list[str] = []
        self.roles: LLMRoles | None = None
        self.slow = False
        if not llm.configured:
            return
        self.roles, why = llm.active()
        if why == "llm_failed":
            note = iv.t(why, err=llm.error or "")
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
            self.notices.append(self.iv.t("llm_error", err=error_text(exc)))
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
            self.notices.append(self.iv.t("llm_error", err=error_text(exc)))
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
