"""The chats' Markdown: score cards, the collapsed reference, questions, and text with formulas.

Gradio's Chatbot cuts ``$…$`` / ``$$…$$`` out of the raw message before Markdown, puts it back verbatim into
the HTML, then runs KaTeX over the DOM. So text shown as written must carry no ``$`` at all (each becomes an
entity in its own ``<span>``, which no delimiter pair can reach), and a formula's own ``<`` and ``&`` are
HTML-escaped so they cannot open a tag. Nothing here imports Gradio.
"""

from __future__ import annotations

import html
import re

from bot.interview import Interview, Message
from bot.interview.state import Card, Source
from bot.texts import CHAT
from bot.web import docmd
from ingest.schema import source_label

# As in views.esc: backslash-escape Markdown syntax; '$' is handled apart (see the module doc).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~=^<>])")
DOLLAR = "<span>&#36;</span>"


def plain(text: str | None) -> str:
    """Text exactly as written in a Markdown+HTML message: no tags, no Markdown, no formula."""
    # quote=False: an entity such as &#x27; would have its "#" backslash-escaped below and show as text.
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text or "", quote=False)).replace("$", DOLLAR)


def _math(body: str, display: bool) -> str:
    d = "$$" if display else "$"
    return f"{d}{html.escape(body, quote=False)}{d}"


def with_math(text: str | None) -> str:
    """Text as written, except that well-formed ``$…$`` and ``$$…$$`` formulas are rendered."""
    return docmd.render(text or "", plain, _math)


# --- the bank's display Markdown ------------------------------------------------------------
_FENCE = re.compile(r"(^```.*?^```[ \t]*$|^~~~.*?^~~~[ \t]*$|`[^`\n]+`)", re.M | re.S)
_TAG = re.compile(r"<(?=[A-Za-z/!?])")


def _markup_free(part: str) -> str:
    """No raw HTML, and a stray '$' shown as a dollar (formulas are cut out before this runs)."""
    return _TAG.sub("&lt;", part).replace("$", DOLLAR)


def display_md(text: str | None) -> str:
    """The bank's display Markdown made safe to render: lists, tables, code and formulas stay; images, links
    and raw HTML do not (the figures are not in the bank, and a document must not inject markup)."""
    parts = _FENCE.split(text or "")
    return "".join(p if i % 2 else docmd.render(docmd.prose(p), _markup_free, _math)
                   for i, p in enumerate(parts)).strip()


# --- messages -----------------------------------------------------------------------------
def source_line(src: Source | None) -> str:
    """title — rel_path › section, the way a person finds the passage again; never a server path."""
    return source_label(src.title, src.path, src.section) if src is not None else ""


def _tone(score: float) -> str:
    return "hi" if score >= 4 else "mid" if score > 2 else "lo"


def _letters(letters: str, options: dict[str, str]) -> str:
    return "；".join(f"**{k}.** {with_math(options.get(k, ''))}" for k in letters) or ""


def card_md(title: str, c: Card, lang: str) -> str:
    T = CHAT[lang]
    tone = _tone(c.score)
    lines = [f"**{plain(title)}**"]
    lines += [plain(n) for n in c.notes]
    if c.correct:
        chosen = ", ".join(c.chosen) if c.chosen else T["none_chosen"]
        lines.append(T["chosen"].format(letters=f"**{plain(chosen)}**"))
        lines.append(T["correct"].format(letters=_letters(c.correct, c.options)))
    lines += [T["right"].format(q=f"“{with_math(r)}”") for r in c.right]
    lines += [T["wrong"].format(q=f"“{with_math(w.answer)}”", r=with_math(w.reference.rstrip("。."))) for w in c.wrong]
    lines += [T["missing"].format(r=with_math(m.rstrip("。."))) for m in c.missing]
    body = "\n\n".join(lines)
    return f'<div class="score-card card-{tone}">\n\n{body}\n\n</div>'


def reference_md(m: Message, lang: str, *, open_: bool = False) -> str:
    src = source_line(m.source)
    head = html.escape(m.title) + (f' <span class="ref-source">· {html.escape(src)}</span>' if src else "")
    head = head.replace("$", "&#36;")
    return f'<details class="reference"{" open" if open_ else ""}><summary>{head}</summary>\n\n' \
           f"{display_md(m.text)}\n\n</details>"


def question_md(m: Message) -> str:
    # Title and question on two lines of one paragraph (the chat renders line breaks).
    body = f"**{plain(m.title)}**\n{with_math(m.text)}" if m.title else with_math(m.text)
    if m.options:
        body += "\n\n" + "\n".join(f"- **{plain(k)}.** {with_math(v)}" for k, v in m.options.items())
    return body


def message_md(m: Message, lang: str, *, choice: bool = False) -> str:
    if m.kind == "grade" and m.card is not None:
        return card_md(m.title, m.card, lang)
    if m.kind == "reference":
        return reference_md(m, lang, open_=choice)
    if m.kind in ("question", "follow_up"):
        return question_md(m)
    body = with_math(m.text)
    if m.title:
        body = f"**{plain(m.title)}**\n\n{body}" if body else f"**{plain(m.title)}**"
    return body


def chat_messages(iv: Interview | None) -> list[dict]:
    """The interview as chat bubbles: a score card and its reference share one; each question has its own."""
    if iv is None:
        return []
    lang = iv.config.lang
    out: list[dict] = []
    last_card_choice = False
    for m in iv.messages:
        if m.kind == "grade" and m.card is not None:
            last_card_choice = bool(m.card.correct)
        content = message_md(m, lang, choice=last_card_choice and m.kind == "reference")
        if out and out[-1]["role"] == m.role == "assistant" and m.kind in ("reference", "info", "error") \
                and out[-1].get("_kind") in ("grade", "reference"):
            out[-1]["content"] += "\n\n" + content
            continue
        out.append({"role": m.role, "content": content, "_kind": m.kind})
    for o in out:
        o.pop("_kind")
    return out
