"""Break a reference answer into key points: short statements a good answer should cover.

Rules: split into sentences, then split long sentences at clause commas; drop
meta-talk about the interview itself; merge a dangling list lead-in ("如下:" /
"分为两类:") into the point after it. A short fragment left over from a comma
split joins its neighbour, but a short *sentence* ("实现上采样；") is a list item
and stays a point of its own — dropping it loses exactly the terse enumerations
interview answers are made of.
"""

from __future__ import annotations

import re

from ingest.chunk import split_sentences

_CLAUSE = re.compile(r"(?<=[,，])")
_META = re.compile(r"(面试|最常被问到|经常被问到|大概说下|如下图|下图所示|如下所示|如下式|参考|详见|链接)")
_LEAD_IN = re.compile(r"[:：]\s*$")
_LIST_MARK = re.compile(r"^\s*(?:[-•·*]|\(?\d+[).、．]|[①-⑩]|[ivx]+\.)\s*", re.I)
_TRAILING_MARK = re.compile(r"\s*(?:\d+[.、．]|[①-⑩])\s*$")

MIN_CHARS = 6
MIN_ITEM_CHARS = 3
MAX_POINT = 90
MAX_POINTS = 12


def _content_len(s: str) -> int:
    return len(re.sub(r"[\s\W_]", "", s))


def key_points(answer: str) -> list[str]:
    points: list[str] = []
    lead = ""
    for sent in split_sentences(answer):
        sent = _TRAILING_MARK.sub("", _LIST_MARK.sub("", sent)).strip()
        if not sent or _META.search(sent) and _content_len(sent) < 40:
            continue
        if _LEAD_IN.search(sent) and _content_len(sent) < 30:
            lead = sent
            continue
        pieces = [sent] if len(sent) <= MAX_POINT else _split_long(sent)
        for i, piece in enumerate(pieces):
            piece = piece.strip(" ,，;；。")
            whole_item = len(pieces) == 1 and _content_len(piece) >= MIN_ITEM_CHARS
            if _content_len(piece) < MIN_CHARS and not whole_item:
                if points and i > 0:
                    points[-1] = f"{points[-1]}，{piece}" if piece else points[-1]
                continue
            if lead:
                piece = f"{lead} {piece}"
                lead = ""
            points.append(piece)
    return _dedupe(points)[:MAX_POINTS]


def _split_long(sentence: str) -> list[str]:
    out: list[str] = []
    buf = ""
    for clause in _CLAUSE.split(sentence):
        if buf and len(buf) + len(clause) > MAX_POINT:
            out.append(buf)
            buf = clause
        else:
            buf += clause
    if buf:
        out.append(buf)
    return out


def _dedupe(points: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for p in points:
        k = re.sub(r"\W", "", p.lower())
        if k and k not in seen:
            seen.add(k)
            out.append(p)
    return out
