"""The chat messages the interviewer adds: a question, the revealed reference, a grade bubble, the summary."""

from __future__ import annotations

from bot.interview.state import Interview, Message, Summary, fmt_score, short
from bot.lookup.retrieval import reference_text
from bot.texts import LEVEL_NAMES
from ingest.schema import Record


def note(iv: Interview, key: str) -> Interview:
    """A copy of ``iv`` with one info message: a step that changes nothing else (wrong phase, empty answer)."""
    new = iv.model_copy(deep=True)
    new.messages.append(Message(role="assistant", kind="info", text=new.t(key)))
    return new


def question(iv: Interview, rec: Record) -> Message:
    title = iv.t("q_title", i=iv.index + 1, n=len(iv.questions), topics=", ".join(rec.topics))
    text = rec.question
    if rec.kind == "choice":
        tag = iv.t("multi" if len(rec.correct or "") > 1 else "single")
        text = f"{text} {tag}\n" + "\n".join(f"{k}. {v}" for k, v in rec.options.items())
    return Message(role="assistant", kind="question", title=title, text=text)


def reference(iv: Interview, rec: Record) -> Message:
    ref = reference_text(rec) or iv.t("no_ref")
    return Message(role="assistant", kind="reference", text=ref,
                   title=iv.t("ref_title", source=iv.sources.get(rec.id, "") or "—"))


def grade(iv: Interview, text: str, score: float, level: int, follow_up: bool) -> Message:
    key = "fu_grade_title" if follow_up else "grade_title"
    return Message(role="assistant", kind="grade", text=text,
                   title=iv.t(key, score=fmt_score(score), level=LEVEL_NAMES[iv.config.lang][level]))


def shown_feedback(iv: Interview, feedback: str, shown: str | None, missed: list[str]) -> str:
    """The grade bubble's text: the grader's feedback, or the LLM's wording ``shown`` plus the missed points.

    The grader's feedback already names the rubric level, what was covered and what is missing. The LLM's
    reply may leave the missing points out, so the program's list follows it.
    """
    if shown is None:
        return feedback.strip()
    text = shown.strip()
    if missed:
        sep = "；" if iv.config.lang == "zh" else "; "
        text += "\n" + iv.t("missed_line", points=sep.join(short(p, 40) for p in missed[:4]))
    return text


def follow_up_question(iv: Interview, point: str, hit: list[str]) -> str:
    """The templated follow-up on ``point``, building on the first covered point if there is one."""
    if hit:
        return iv.t("fu_with_hit", hit=short(hit[0], 30), point=short(point, 80))
    return iv.t("fu_plain", point=short(point, 80))


def summary(iv: Interview, s: Summary) -> Message:
    if not s.answered:
        text = iv.t("nothing")
    else:
        lines = [iv.t("summary", answered=s.answered, total=s.total, avg=fmt_score(s.average))]
        lines.append(iv.t("topics_line") + " " + "，".join(f"{p.topic} {fmt_score(p.average)}" for p in s.per_topic))
        if s.weakest:
            lines.append(iv.t("weakest") + "\n" + "\n".join(
                f"- {short(t.question, 50)} ({fmt_score(t.score)}/5) — {t.source}" for t in s.weakest))
        text = "\n\n".join(lines)
    return Message(role="assistant", kind="summary", title=iv.t("done"), text=text)
