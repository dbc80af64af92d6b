"""What the Library tab shows, as plain functions: the import preview, sources, records and one record with
its formulas. No Gradio here. Document text reaches Markdown components only through :func:`math_markdown`
(tags escaped, image and link syntax dropped, LaTeX kept for KaTeX) or through ``views.esc``.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.texts import LIBRARY, topic_name
from bot.web import docmd
from bot.web.views import esc, table
from ingest.schema import Record

PREVIEW_COLS = ("col_file", "col_status", "col_question", "col_answer", "col_section", "col_reason")
RECORD_COLS = ("col_question", "col_topics", "col_state")  # the source shows with the record
FILTERS = ("all", "unanswered", "flagged")
_OPEN_TAG = re.compile(r"(?<!\\)<")  # a '<' not already escaped: '\<' is Markdown for a literal '<'
# An absolute POSIX path (a server's store, an upload's temp dir): only its last part is shown.
_ABS_PATH = re.compile(r"(?<![\w.])/(?:[^\s/'\"“”()]+/)+([^\s/'\"“”()]+)")



def scrub_paths(text: str) -> str:
    """Messages never show where the server keeps files: an absolute path becomes its file name."""
    return _ABS_PATH.sub(r"\1", text or "")


def choices(lang: str, keys: tuple[str, ...], prefix: str) -> list[tuple[str, str]]:
    return [(LIBRARY[lang][f"{prefix}{k}"], k) for k in keys]


def cols(lang: str, keys: tuple[str, ...]) -> list[str]:
    return [LIBRARY[lang][k] for k in keys]


# --- preview ----------------------------------------------------------------------------
def preview_table(items: list[dict], lang: str):
    """One row per parsed question and per skipped heading or file, as ``ingest.dryrun`` reported them."""
    L = LIBRARY[lang]
    rows = [[i["source"], L[f"st_{i['status']}"], i.get("question") or "", i.get("answer_preview") or "",
             " › ".join(i.get("section") or []), scrub_paths(i.get("reason") or "")] for i in items]
    return table(rows, cols(lang, PREVIEW_COLS))


def preview_line(items: list[dict], lang: str) -> str:
    recs = [i for i in items if i["status"] == "record"]
    return LIBRARY[lang]["preview_line"].format(
        files=len({i["source"] for i in items}), records=len(recs),
        unanswered=sum(not i.get("answered") for i in recs), skipped=len(items) - len(recs))


# --- sources and records ----------------------------------------------------------------
def source_table(sources: list[dict], lang: str):
    rows = [[s["path"], s["records"], (s["ingested_at"] or "")[:16].replace("T", " ")] for s in sources]
    return table(rows, cols(lang, ("col_source", "col_records", "col_time")))


def record_state(rec: Record, flagged: set[str], edited: set[str]) -> str:
    if rec.id in flagged:
        return "flagged"
    if rec.id in edited:
        return "edited"
    return "ok" if rec.answers else "unanswered"


def pick_records(records: list[Record], flagged: set[str], which: str, query: str) -> list[Record]:
    q = (query or "").strip().lower()
    out = []
    for r in records:
        if which == "unanswered" and r.answers:
            continue
        if which == "flagged" and r.id not in flagged:
            continue
        if q and q not in r.question.lower():
            continue
        out.append(r)
    return out


def record_source(rec: Record) -> str:
    a = rec.answers[0] if rec.answers else None
    return a.doc_path if a else ""


def record_table(records: list[Record], flagged: set[str], edited: set[str], lang: str):
    L = LIBRARY[lang]
    rows = [[r.question, ", ".join(topic_name(t, lang) for t in r.topics),
             L[f"s_{record_state(r, flagged, edited)}"]] for r in records]
    return table(rows, cols(lang, RECORD_COLS))


def answer_source(rec: Record) -> str:
    """The answer as its document wrote it (Markdown with LaTeX), for the edit box."""
    return "\n\n".join(a.display or a.text for a in rec.answers)


def record_markdown(rec: Record, lang: str) -> str:
    L = LIBRARY[lang]
    body = math_markdown(answer_source(rec), lang) if rec.answers else f"*{esc(L['no_answer'])}*"
    src = record_source(rec)
    foot = f"\n\n<small>{esc(L['source_of'].format(source=src))}</small>" if src else ""
    return f"**{esc(rec.question)}**\n\n{body}{foot}"


# --- Markdown with formulas -------------------------------------------------------------------
def math_markdown(text: str, lang: str = "zh") -> str:
    """Document Markdown made safe to render (``bot.web.docmd``): a tag becomes visible text, an image a
    placeholder, a link its text, and ``$…$`` / ``$$…$$`` stay for KaTeX. Ingested display text is already
    Markdown (its stray specials are backslash-escaped), so only what could still open a tag is escaped;
    inside a formula ``<``/``>`` become ``\\lt``/``\\gt``, which KaTeX reads and HTML cannot."""
    figure = LIBRARY[lang]["figure"]

    def prose(part: str) -> str:
        return _OPEN_TAG.sub(r"\\<", docmd.prose(part, lambda alt: figure.format(alt=alt)))

    def formula(body: str, display: bool) -> str:
        d = "$$" if display else "$"
        return d + body.replace("<", r"\lt ").replace(">", r"\gt ") + d

    return docmd.render(text or "", prose, formula)


def upload_name(path: str) -> str:
    from bot.web.views import UPLOAD_DIR, safe_name

    return f"{UPLOAD_DIR}/{safe_name(Path(path).name)}"
