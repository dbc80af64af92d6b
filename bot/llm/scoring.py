"""How an LLM judge may move a score: bounded disagreement, and the offline guards always win."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.grading.model import ScoreInput, Scorer
from bot.grading.schema import CAP1_FLAGS, ZERO_FLAGS, Grade

if TYPE_CHECKING:
    from bot.llm.roles import LLMRoles


def combine_scores(offline: float, llm: float | None, flags: list[str] | set[str], bound: float) -> float:
    """The stored score: the offline score moved toward the LLM's by at most ``bound`` points.

    * Offline guards win: with a zero flag (injection, off-topic, copy, don't-know) the score is 0, with a
      cap flag (empty, keyword pile, padding) at most 1, whatever the LLM said.
    * Otherwise ``offline + clip(llm − offline, −bound, +bound)``, clipped to [0, 5]. With ``bound = 0`` (the
      default, see README) the LLM never changes a score; any bound < 5 means no text in the answer can
      move a score by more than ``bound``.
    """
    flags = set(flags)
    score = offline
    if llm is not None and bound > 0:
        score = offline + max(-bound, min(bound, llm - offline))
    if flags & ZERO_FLAGS:
        score = 0.0
    elif flags & CAP1_FLAGS:
        score = min(score, 1.0)
    return round(max(0.0, min(5.0, score)), 2)


class BoundedLLMScorer:
    """A ``bot.grading.model.Scorer``: the base scorer's score moved toward an LLM judge's by ≤ ``bound``.

    Drop-in for ``Grader(scorer=...)`` so callers do not change; the Grader applies its guards after the
    scorer, so they still win. A failed LLM call leaves the base score and records the notice.
    """

    def __init__(self, base: Scorer, roles: "LLMRoles", bound: float) -> None:
        self.base, self.roles, self.bound = base, roles, bound
        self.last_notice: str | None = None
        self.last_llm: int | None = None

    def score(self, item: ScoreInput) -> float:
        s = self.base.score(item)
        if self.bound <= 0 or not self.roles.enabled:
            return s
        r = self.roles.judge(item.question, item.answer, item.reference)
        self.last_notice, self.last_llm = r.notice, (r.value.score if r.value else None)
        return combine_scores(s, self.last_llm, (), self.bound)


def guarded(grade: Grade) -> bool:
    return bool(set(grade.flags) & (ZERO_FLAGS | CAP1_FLAGS))
