"""Multiple choice by rule: exactly the key's letters → 5; a strict subset of a multi-answer key with no wrong
letter → 2 (少选); any wrong letter (or none recognised) → 0. Feedback names both sets and the source's
explanation when the bank has one."""

from __future__ import annotations

import re

from bot.grading.schema import Grade
from bot.grading.text import normalize
from bot.texts import GRADE_TEXT, RUBRIC

SUBSET_SCORE = 2.0
_LETTERS = re.compile(r"(?<![A-Za-z])([A-Fa-f])(?![A-Za-z])")
_LETTER_RUN = re.compile(r"(?<![A-Za-z])([A-Fa-f]{1,6})(?![A-Za-z])")
_KEY = re.compile(r"^\s*[A-Fa-f]{1,6}\s*$")


def parse_choice(answer: str) -> set[str]:
    """Letters an MCQ answer picks: "C", "选C", "答案是A和D", "AD", "a, d"."""
    text = normalize(answer)
    runs = _LETTER_RUN.findall(text)
    if len(runs) == 1:
        return set(runs[0].upper())
    # Several separate tokens: keep only single letters so words like "ad hoc" or "cafe" do not count.
    return {m.upper() for m in _LETTERS.findall(text)}


def choice_score(want: set[str], got: set[str]) -> float:
    if not want or not got or got - want:
        return 0.0
    if got == want:
        return 5.0
    return SUBSET_SCORE if len(want) > 1 else 0.0


def grade_choice(answer: str, correct: str, references: list[str], reference_ids: list[str], lang: str,
                 manipulation=None) -> Grade:
    i = 1 if lang == "en" else 0
    spans = manipulation.spans(answer) if manipulation is not None else []
    want, got = parse_choice(correct), parse_choice(answer)
    score = 0.0 if spans else choice_score(want, got)
    fmt = lambda s: "".join(sorted(s))  # noqa: E731
    lines = [RUBRIC[lang][int(score)],
             GRADE_TEXT["choice"][i].format(q=fmt(got) or GRADE_TEXT["choice_none"][i], r=fmt(want) or "?")]
    if spans:
        lines.append(GRADE_TEXT["manipulation"][i].format(q=spans[0][:60]))
    elif got - want:
        lines.append(GRADE_TEXT["choice_wrong"][i].format(r=fmt(got - want)))
    elif got and got < want:
        lines.append(GRADE_TEXT["choice_subset"][i].format(r=fmt(want - got)))
    explanation = next((r.strip() for r in references if r and r.strip() and not _KEY.match(r)), "")
    if explanation:
        lines.append(GRADE_TEXT["explanation"][i].format(r=explanation))
    return Grade(score=score, level=int(score), feedback="\n".join(lines), reference_ids=reference_ids,
                 flags=["injection"] if spans else [], reason=spans[0] if spans else "",
                 right=sorted(got & want), missing=sorted(want - got))
