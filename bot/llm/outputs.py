"""What each LLM role must return (pydantic-validated), and the result every role call hands back."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.grading.schema import Grade
from bot.llm.checks import Rejected

T = TypeVar("T", bound=BaseModel)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeedbackOut(_Out):
    reply: str = Field(min_length=2, max_length=1200)


class FollowUpOut(_Out):
    question: str = Field(min_length=4, max_length=200)

    @field_validator("question")
    @classmethod
    def _one_question(cls, v: str) -> str:
        v = v.strip().strip('"').strip().rstrip(",，.。;；:：").strip()
        if not v.endswith(("?", "？")):
            v += "？" if re.search(r"[\u4e00-\u9fff]", v) else "?"
        return v


class LookupOut(_Out):
    answer: str = Field(min_length=2, max_length=2000)
    citations: list[int] = Field(min_length=1)


class ScoreOut(_Out):
    # reason first, so a small model reasons before it commits to a number; the length limit becomes part of
    # llama.cpp's grammar and bounds generation time (a rambling reason would otherwise run to max_tokens).
    reason: str = Field(max_length=120)
    score: int = Field(ge=0, le=5)


@dataclass
class RoleResult(Generic[T]):
    """``text`` is what to show either way; ``value`` is the validated LLM output or None after a fallback."""

    text: str
    value: T | None = None
    notice: str | None = None
    attempts: int = 0
    seconds: float = 0.0

    @property
    def used_llm(self) -> bool:
        return self.value is not None


@dataclass
class ScoreResult:
    grade: Grade  # the grade to store: offline findings, combined score
    offline_score: float
    llm_score: int | None
    notice: str | None = None


def parse_json(text: str, model: type[T]) -> T:
    """The first JSON object in ``text`` (models wrap it in prose or ``` fences), validated by ``model``."""
    start = text.find("{")
    if start < 0:
        raise Rejected("no JSON object in the output")
    obj, _ = json.JSONDecoder().raw_decode(text[start:])
    return model.model_validate(obj)
