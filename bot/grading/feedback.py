"""Feedback sentences from the findings, in the answer's language: rubric level, what was right (the
candidate's own words), what was wrong (their statement and the reference's), what is missing."""

from __future__ import annotations

from bot.grading.schema import ZERO_FLAGS, Grade
from bot.texts import FLAG_TEXT, GRADE_TEXT, RUBRIC

MAX_LINES_EACH = 3
QUOTE_CHARS = 60


def _quote(s: str) -> str:
    s = " ".join(s.split())
    return s if len(s) <= QUOTE_CHARS else s[: QUOTE_CHARS - 1].rstrip() + "…"  # a quote of the answer, not a point


def _t(key: str, lang: str, **kw) -> str:
    return GRADE_TEXT[key][1 if lang == "en" else 0].format(**kw)


def compose(g: Grade, lang: str) -> str:
    lines = [RUBRIC[lang][g.level]]
    if "injection" in g.flags and g.reason:
        lines.append(_t("manipulation", lang, q=_quote(g.reason)))
    for fl in g.flags:
        if fl in FLAG_TEXT and fl not in ("injection", "contradiction", "other_question"):
            lines.append(("Note: " if lang == "en" else "注意：") + FLAG_TEXT[fl][1 if lang == "en" else 0])
    if g.answers_other:
        lines.append(_t("other", lang, r=g.answers_other))
    if ZERO_FLAGS & set(g.flags):
        return "\n".join(lines)
    lines += [_t("right", lang, q=_quote(r)) for r in g.right[:MAX_LINES_EACH]]
    lines += [_t("wrong", lang, q=_quote(w.answer), r=w.reference.rstrip("。.")) for w in g.wrong[:MAX_LINES_EACH]]
    lines += [_t("missing", lang, r=m.rstrip("。.")) for m in g.missing[:MAX_LINES_EACH]]
    if 1 < g.level < 4 and not g.wrong and not g.missing and not g.flags:
        # The level's own words ("不完整") would name a gap the findings do not show: say what is true.
        lines.append(_t("unsure", lang))
    return "\n".join(lines)
