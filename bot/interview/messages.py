"""The chat messages the interviewer adds: a question, a score card, the revealed reference, the summary."""

from __future__ import annotations

from bot.grading.schema import ZERO_FLAGS, Grade
from bot.interview.state import Card, Interview, Message, Source, Summary, fmt_score, short
from bot.texts import FLAG_TEXT, GRADE_TEXT, LEVEL_NAMES, topic_name
from ingest.schema import Record


def note(iv: Interview, key: str) -> Interview:
    """A copy of ``iv`` with one info message: a step that changes nothing else (wrong phase, empty answer)."""
    new = iv.model_copy(deep=True)
    new.messages.append(Message(role="assistant", kind="info", text=new.t(key)))
    return new


def question(iv: Interview, rec: Record) -> Message:
    sep = "、" if iv.config.lang == "zh" else ", "
    title = iv.t("q_title", i=iv.index + 1, n=len(iv.questions),
                 topics=sep.join(topic_name(t, iv.config.lang) for t in rec.topics))
    text = rec.question
    if rec.kind == "choice":
        text = f"{text} {iv.t('multi' if len(rec.correct or '') > 1 else 'single')}"
    return Message(role="assistant", kind="question", title=title, text=text, record_id=rec.id,
                   options=dict(rec.options) if rec.kind == "choice" else {})


def source_of(rec: Record) -> Source | None:
    """The reference's document for people: title, path relative to what was ingested, section; no server path."""
    if not rec.answers:
        return None
    a = rec.answers[0]
    return Source(title=a.title or "", path=a.doc_path, section=list(a.section))


def reference(iv: Interview, rec: Record) -> Message | None:
    """The full reference answer (display Markdown with LaTeX), collapsed under the card. For a multiple-choice
    question the card already names the key, so this is its explanation, or nothing."""
    a = rec.answers[0] if rec.answers else None
    text = (a.display or a.text) if a is not None else ""
    if not text.strip():
        if rec.kind == "choice":
            return None
        text = iv.t("no_ref")
    return Message(role="assistant", kind="reference", title=iv.t("ref_title"), text=text, source=source_of(rec),
                   record_id=rec.id)


def missed(grade: Grade) -> list[str]:
    """Points neither covered nor contradicted; a grader without findings (``overlap``) only has its missed list."""
    if grade.missing or grade.wrong or grade.right:
        return list(grade.missing)
    return list(grade.key_points_missed)


def card(iv: Interview, grade: Grade, score: float, level: int, *, follow_up: bool, rec: Record | None = None,
         chosen: str = "", shown: str | None = None) -> Card:
    """The score card's findings. A full score lists nothing missing; a guard that zeroes the answer lists only
    why; the LLM's wording (``shown``) replaces the ✓/✗ lines but never the program's missing points."""
    lang = iv.config.lang
    i = 1 if lang == "en" else 0
    notes: list[str] = [shown.strip()] if shown else []
    if "injection" in grade.flags and grade.reason:
        notes.append(GRADE_TEXT["manipulation"][i].format(q=short(grade.reason, 60)))
    notes += [FLAG_TEXT[f][i] for f in grade.flags
              if f in FLAG_TEXT and f not in ("injection", "contradiction", "other_question")]
    if grade.answers_other:
        notes.append(GRADE_TEXT["other"][i].format(r=grade.answers_other))
    c = Card(score=score, level=level, follow_up=follow_up, notes=notes)
    if rec is not None and rec.kind == "choice" and not follow_up:
        c.chosen, c.correct, c.options = chosen, rec.correct or "", dict(rec.options)
        return c
    if ZERO_FLAGS & set(grade.flags):
        return c
    if not shown:
        c.right, c.wrong = list(grade.right[:3]), list(grade.wrong[:3])
    if score < 5:
        c.missing = missed(grade)[:3]
    return c


def grade(iv: Interview, text: str, score: float, level: int, follow_up: bool, c: Card | None = None) -> Message:
    key = "fu_grade_title" if follow_up else "grade_title"
    return Message(role="assistant", kind="grade", text=text, card=c,
                   title=iv.t(key, score=fmt_score(score), level=LEVEL_NAMES[iv.config.lang][level]))


def shown_feedback(iv: Interview, feedback: str, shown: str | None, missed: list[str]) -> str:
    """The grade's plain text (what a transcript shows): the grader's feedback, or the LLM's wording ``shown``
    plus the missed points, which the LLM's reply may leave out."""
    if shown is None:
        return feedback.strip()
    text = shown.strip()
    if missed:
        sep = "；" if iv.config.lang == "zh" else "; "
        text += "\n" + iv.t("missed_line", points=sep.join(short(p, 40) for p in missed[:4]))
    return text


def _where(rec: Record | None) -> str:
    """" — document title (or its relative path)" for a summary line; never a server path."""
    src = source_of(rec) if rec is not None else None
    label = src and (src.title or src.path)
    return f" — {label}" if label else ""


def summary(iv: Interview, s: Summary) -> Message:
    if not s.answered:
        text = iv.t("nothing")
    else:
        lines = [iv.t("summary", answered=s.answered, total=s.total, avg=fmt_score(s.average))]
        lang = iv.config.lang
        sep = "，" if lang == "zh" else ", "
        lines.append(iv.t("topics_line") + " " + sep.join(
            f"{topic_name(p.topic, lang)} {fmt_score(p.average)}" for p in s.per_topic))
        if s.weakest:
            records = {r.id: r for r in iv.questions}
            lines.append(iv.t("weakest") + "\n" + "\n".join(
                f"- {short(t.question, 50)} ({fmt_score(t.score)}/5){_where(records.get(t.question_id))}"
                for t in s.weakest))
        text = "\n\n".join(lines)
    return Message(role="assistant", kind="summary", title=iv.t("done"), text=text)
