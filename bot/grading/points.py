"""Key points as the grader shows and checks them: clean statements of the reference.

``ingest.keypoints`` cuts a reference into sentences and clauses; here what is not a statement is dropped
(headings, article titles, "如下图", a name or a year alone, a dangling "表达式为:" lead-in) and near-duplicates
are merged, so feedback never lists boilerplate as "missing".
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.grading.text import bigrams
from ingest.keypoints import key_points as extract_key_points

_FIGURE = re.compile(r"如下图|如图|下图|见图|上图|图\s*\d|表\s*\d|figure\s*\d|fig\.|see (?:the )?(?:figure|table)", re.I)
_HEADING = re.compile(r"^\s*(?:#+|第[一二三四五六七八九十\d]+[章节部分]|[一二三四五六七八九十]+[、.]|\d+(?:\.\d+)+)\s*")
_LEAD = re.compile(r"^[^，,。；;]{0,14}[:：]\s*")  # "表达式为:" / "公式如下：" at the start of a point
_YEAR_NAME = re.compile(r"^[\s\W]*(?:(?:19|20)\d{2}\s*年?|[A-Z][a-z]+(?:\s+(?:et al\.?|[A-Z][a-z]+))*)[\s\W]*(?:\d{4})?[\s\W]*$")
_TITLE = re.compile(r"^[《「『\"“].{1,40}[》」』\"”]$")
_CONTENT = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
MIN_CONTENT = 4
DUP_JACCARD = 0.8


def _content(p: str) -> int:
    return len(_CONTENT.findall(p))


def is_statement(p: str) -> bool:
    s = p.strip()
    if _content(s) < MIN_CONTENT or _YEAR_NAME.match(s) or _TITLE.match(s):
        return False
    if _FIGURE.search(s) and _content(s) < 30:
        return False
    if s.endswith((":", "：")) and _content(s) < 30:
        return False
    return True


def clean(points: list[str]) -> list[str]:
    out: list[str] = []
    grams: list[set[str]] = []
    for p in points:
        p = _HEADING.sub("", p.strip()).strip(" ,，;；。")
        rest = _LEAD.sub("", p)
        if rest != p and _content(rest) >= MIN_CONTENT and _content(p) - _content(rest) <= 8:
            p = rest
        if not is_statement(p):
            continue
        g = bigrams(p)
        dup = next((i for i, h in enumerate(grams) if g and h and len(g & h) / len(g | h) >= DUP_JACCARD), None)
        if dup is not None:
            if len(p) > len(out[dup]):  # keep the fuller wording of the two
                out[dup], grams[dup] = p, g
            continue
        out.append(p)
        grams.append(g)
    return out


@lru_cache(maxsize=4096)
def _from_reference(reference: str) -> tuple[str, ...]:
    return tuple(clean(extract_key_points(reference)))


def reference_points(reference: str, given: list[str] | None = None) -> list[str]:
    """The bank's key points (cleaned) or ones cut from the reference; the whole reference as a last resort."""
    points = clean([p for p in (given or []) if p.strip()]) or list(_from_reference(reference))
    return points or ([reference.strip()] if reference.strip() else [])
