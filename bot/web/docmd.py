"""One set of rules for showing document Markdown (the bank's display text) in the app.

Both places that render it — the chat (Gradio's Chatbot) and the Library's record view (``gr.Markdown``) —
drop link syntax and link definitions, never let raw HTML through, and keep ``$…$`` / ``$$…$$`` for KaTeX
with the same rule for what a formula is. They differ only where their renderers do: how an image is shown
(the chat drops it and the words pointing at it; the Library, where people curate the bank, shows a
placeholder) and how a formula's own ``<`` is kept from opening a tag (see ``bot.web.chat``). Nothing here
imports Gradio.
"""

from __future__ import annotations

import re
from typing import Callable

LATEX = [{"left": "$$", "right": "$$", "display": True}, {"left": "$", "right": "$", "display": False}]
# Pandoc's rule for inline math: no space just inside the dollars, no digit right after the closing one; a
# formula with CJK inside is not one, so "花了$5和$6" stays text.
MATH = re.compile(r"\$\$(?P<d>[^$]+?)\$\$|\$(?P<i>[^\s$](?:[^$\n]*?[^\s$\\])?)\$(?!\d)")
_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\([^)]*\)|!\[(?P<alt2>[^\]]*)\]\[[^\]]*\]|<img\b[^>]*>", re.I)
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)|\[([^\]]+)\]\[[^\]]*\]")
_LINK_DEF = re.compile(r"^\s*\[[^\]]+\]:\s*\S+.*$", re.M)
_FIGURE_WORDS = re.compile(r"(?:如下图所示|如下图|见下图|如图所示|如图)[，,：:。]?")


def formulas(text: str):
    """(start, end, body, display) of each formula in ``text``, in order."""
    for m in MATH.finditer(text):
        body = m.group("d") if m.group("d") is not None else m.group("i")
        if not _CJK.search(body):
            yield m.start(), m.end(), body, m.group("d") is not None


def image_alt(m: re.Match) -> str:
    return (m.group("alt") or m.group("alt2") or "").strip()


def prose(part: str, figure: Callable[[str], str] | None = None) -> str:
    """Prose around formulas without links or images: ``figure(alt)`` stands in for an image, or the image
    and the words pointing at it ("如下图") go."""
    if figure is None:
        part = IMAGE.sub("", part)
        part = _FIGURE_WORDS.sub("", part)  # the figure is not shown, so do not point at it
    else:
        part = IMAGE.sub(lambda m: figure(image_alt(m) or "…"), part)
    part = _LINK.sub(lambda m: m.group(1) or m.group(2), part)
    return _LINK_DEF.sub("", part)


def render(text: str, prose_fn: Callable[[str], str], formula_fn: Callable[[str, bool], str]) -> str:
    """``text`` with each formula passed to ``formula_fn(body, display)`` and the rest to ``prose_fn``."""
    out, pos = [], 0
    for start, end, body, display in formulas(text):
        out.append(prose_fn(text[pos:start]))
        out.append(formula_fn(body, display))
        pos = end
    out.append(prose_fn(text[pos:]))
    return "".join(out)
