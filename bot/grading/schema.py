"""What the grader returns: the boundary model every consumer (interview, CLI, history, LLM roles) reads."""

from __future__ import annotations

from pydantic import Field

from ingest.schema import Strict

# Guard flags that set the score outright to 0, and those that cap it at 1: the one definition the grader,
# the evaluation and the LLM score combination all use.
ZERO_FLAGS = frozenset({"dont_know", "copy", "offtopic", "injection"})
CAP1_FLAGS = frozenset({"empty", "keywords", "padding"})

# A weak answer (rubric 0–2: wrong, or major gaps): what goes into the Anki deck, what review interviews ask
# first, what Progress and the summary list as weakest, and what charts colour red.
WEAK_SCORE = 2.0


def is_weak(score: float) -> bool:
    return score <= WEAK_SCORE


class Wrong(Strict):
    """A statement of the answer that contradicts the reference, next to the reference statement it gets wrong."""

    answer: str
    reference: str


class Grade(Strict):
    """A graded answer. ``score`` is 0–5 (may be fractional before rounding); ``level`` is the rubric level."""

    score: float = Field(ge=0, le=5)
    level: int = Field(ge=0, le=5)
    feedback: str
    key_points_hit: list[str] = Field(default_factory=list)
    key_points_missed: list[str] = Field(default_factory=list)
    reference_ids: list[str] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list, description="guards that fired: empty, dont_know, copy, offtopic, "
                                                                 "keywords, padding, injection; notes: contradiction, "
                                                                 "other_question, no_reference")
    # Findings for the ✓/✗/→ lines of the interview and for picking follow-ups (issue 11):
    right: list[str] = Field(default_factory=list, description="the candidate's own words that state a covered point")
    wrong: list[Wrong] = Field(default_factory=list, description="contradicted statements with the correct one")
    missing: list[str] = Field(default_factory=list, description="key points neither covered nor contradicted")
    answers_other: str | None = Field(None, description="the bank question the answer fits better, if any")
    reason: str = Field("", description="why a guard set the score (e.g. the manipulation span), else empty")
