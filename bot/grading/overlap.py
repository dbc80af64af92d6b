"""A deterministic grader with no model: key-term overlap with the reference, behind the same guards.

It is the word-overlap baseline the eval reports compare against, and the fast grader the interview state
machine's tests plug in through ``make_grader("overlap", …)``. Not meant to be used for real grading.
"""

from __future__ import annotations

from bot.grading.choice import choice_score, parse_choice
from bot.grading.guards import looks_like_dont_know, restates_question
from bot.grading.points import reference_points
from bot.grading.text import normalize
from bot.grading.schema import Grade


class OverlapGrader:
    """Score = 5 × the share of the reference's content terms (beyond the question's) the answer contains."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer

    def grade(self, question: str, answer: str, references: list[str], *, kind: str = "open",
              correct: str | None = None, reference_ids=(), key_points: list[str] | None = None,
              cap: float | None = None) -> Grade:
        answer = normalize(answer or "")
        ids = list(reference_ids)[:1]
        if kind == "choice":
            want, got = parse_choice(correct or (references[0] if references else "")), parse_choice(answer)
            score = choice_score(want, got)
            return Grade(score=score, level=int(score), feedback="", reference_ids=ids)
        q = set(self.tokenizer.tokens(question))
        ans_tokens = self.tokenizer.tokens(answer)
        ans = set(ans_tokens)
        flags = (["empty"] if not answer.strip() else ["dont_know"] if looks_like_dont_know(answer)
                 else ["copy"] if restates_question(question, answer, ans_tokens, q) else [])
        points = [p for r in references for p in reference_points(r, key_points)]
        if flags or not points:
            return Grade(score=0.0, level=0, feedback="", key_points_missed=points, reference_ids=ids,
                         flags=flags)
        hits = [p for p in points if (set(self.tokenizer.tokens(p)) - q) & ans]
        score = 5.0 * len(hits) / len(points)
        if cap is not None:
            score = min(score, cap)
        score = round(score, 2)
        return Grade(score=score, level=int(round(score)), feedback="", key_points_hit=hits,
                     key_points_missed=[p for p in points if p not in hits], reference_ids=ids)
