"""Split cleaned text into question records.

A line starts a question when it carries a question marker (``1.`` ``1、`` ``(1)`` ``一、``
``问题一:`` ``Q1:`` ``问:``), is a markdown heading, or is a short ``heading:`` line, and the
document's numbering says it is a new question rather than a list item inside an answer:
numbers must continue the question sequence (``n == last + 1``), restart at 1 only where no
answer is open, and an interrogative line (``…?`` / 什么 / 为什么 …) is always a question.
Scraped pages that ran several questions into one line are split at each next number, and the
question is separated from its glued answer with a few cues (see ``_split_glued``).

Conventions: question text keeps its own wording without the number marker or a trailing colon;
a heading that only introduces sub-questions (no answer text of its own, not a question) is a
section title and is not emitted; an "answer" that is only the title of a linked article
(one short line with a title separator such as ``—`` or ``《》``) is treated as no answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.schema import ParsedDocument, ParsedQuestion

_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CJK = "\u3400-\u9fff\uf900-\ufaff"

# A markdown heading ``## title ##``. Matched with ``_heading`` below, not as one regex: the obvious
# ``^(#{1,6})\s+(.+?)\s*#*$`` retries ``\s*#*$`` after every character the lazy ``.+?`` takes, so
# a long line of ``#`` or spaces after ``# `` took quadratic time (a 5 MB line: hours).
_HEADING_START = re.compile(r"#{1,6}\s+")


class _Heading(tuple):
    """``group(1)`` = the hashes, ``group(2)`` = the title, like the regex match it replaces."""

    def group(self, i: int) -> str:
        return self[i - 1]


def _heading(s: str) -> _Heading | None:
    """Same result as ``re.match(r"^(#{1,6})\s+(.+?)\s*#*$", s)`` in linear time (lines hold no "\n")."""
    m = _HEADING_START.match(s)
    if not m:
        return None
    hashes = s[: m.end()].rstrip()
    rest = s[m.end():]
    if not rest:  # only whitespace after the hashes: the regex gave the title its last character
        return _Heading((hashes, s[-1])) if m.end() - len(hashes) >= 2 else None
    # The shortest non-empty title such that only whitespace then '#'s follow it.
    title = rest.rstrip("#").rstrip()
    return _Heading((hashes, title or rest[0]))
_BOLD = re.compile(r"^\*\*(.+?)\*\*:?$")
_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("q", re.compile(
        r"^(?:(?:Q|Question\s*|问题\s*)(\d{1,3}|[一二三四五六七八九十]{1,3})|问|Q)\s*(?:[.、:)]|(?<=\d)\s)\s*", re.I
    )),
    ("cn", re.compile(r"^([一二三四五六七八九十]{1,3})\s*[、.]\s*")),
    # ``18.1x1卷积`` is question 18, ``3.14`` is a number.
    ("dot", re.compile(r"^(\d{1,3})\s*(?:[.、](?!\d+(?![A-Za-z\d])))\s*")),
    ("rparen", re.compile(r"^(\d{1,3})\s*\)\s*")),
    ("paren", re.compile(r"^\((\d{1,3})\)\s*")),
    ("roman", re.compile(r"^(i{1,3}|iv|vi{0,3}|ix|x)\.\s+")),
)
_INTERROGATIVE = re.compile(
    r"什么|什麼|为什么|為什麼|为何|為何|如何|怎么|怎麼|怎样|怎樣|哪些|哪种|哪種|哪个|哪個|是否|有何|有哪|吗|嗎|"
    r"\b(?:what|why|how|which|when|explain|describe|compare)\b",
    re.I,
)
_OPTION = re.compile(r"^([A-H])\s*[.、)]\s*(\S.*)$")
# ``(?<!\s)\s+``: a bare leading ``\s+`` was retried from every position of a long whitespace run
# (quadratic); a match can only begin where a run begins anyway, so the results are the same.
_INLINE_OPTION = re.compile(r"(?:^|(?<!\s)\s+)([A-H])\s*[.、)]\s*")
_KEY = re.compile(
    r"^(?:S|答案|正确答案|参考答案|正确选项|answer|ans|key)\s*[:]?\s*"
    r"([A-H](?:\s*[、,/和 ]?\s*[A-H])*)(?![A-Za-z])\s*[.。;,]?\s*(.*)$",
    re.I,
)
_ANSWER_PREFIX = re.compile(r"^(?:答案|答|解析|解答|参考答案|A|Answer|Ans)\s*[:]\s*", re.I)
_COLON_HEADING = re.compile(r"^([^:。,;]{1,30}):$")
_TITLE_SEPARATOR = re.compile(r" [—–|-] |《|》|——")
_SENTENCE_PUNCT = re.compile(r"[。,;!]")
# Cues for a question glued to its answer (``空洞卷积空洞卷积(dilated…)是…``).
_HEAD_REPEAT = re.compile(rf"^([{_CJK}A-Za-z0-9]{{2,12}}?)([\s\-—_()A-Za-z]{{0,30}}?)\1")
_CASE_CHANGE = re.compile(r"(?<=[A-Z]{2})(?=[a-z]{3,})")
_LIST_ONE = re.compile(r"\(1\)|①")
_ANSWER_START = re.compile(r"一些|一般来说|一般|通常|我们|如果|对于|由于|因为|其中|首先|主要是")
_COPULA = re.compile(r"是指|指的是|是一种")
_CLAUSE = re.compile(r"[,;。:]")


# Longest question text kept as the question; see ``_split_long_question``.
MAX_QUESTION_CHARS = 300


@dataclass
class _Open:
    question: str
    kind: str  # marker family, "heading" or "colon"
    answer: list[str] = field(default_factory=list)
    inline: bool = False  # the answer started on the question's own line
    lists: dict[str, int] = field(default_factory=dict)  # last list-item number per family


def _number(family: str, raw: str | None) -> int:
    if not raw:
        return 0
    if raw.isdigit():
        return int(raw)
    if family == "roman":
        return {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10}[raw]
    if raw.startswith("十"):
        return 10 + _CN_DIGITS.get(raw[1:2], 0)
    if "十" in raw:
        tens, _, ones = raw.partition("十")
        return _CN_DIGITS.get(tens, 1) * 10 + _CN_DIGITS.get(ones, 0)
    return _CN_DIGITS.get(raw, 0)


def _marker(s: str) -> tuple[str, int, str] | None:
    for family, rx in _MARKERS:
        m = rx.match(s)
        if m and s[m.end():].strip():
            return family, _number(family, m.group(1)), s[m.end():].strip()
    return None


def _interrogative(q: str) -> bool:
    q = q.rstrip(":").strip()
    return q.endswith("?") or (len(q) <= 60 and "。" not in q and bool(_INTERROGATIVE.search(q)))


def _colon_split(text: str) -> tuple[str, str | None]:
    """``为什么神经网络高效:并行的先验知识…`` -> question, answer (on one line)."""
    head, sep, tail = text.partition(":")
    tail = tail.strip()
    if not sep or not tail or "?" in head:
        return text, None
    if _interrogative(head) or (len(tail) >= 20 and len(tail) >= 2 * len(head) and len(head) <= 15):
        return head.strip(), tail
    return text, None


def _split_glued(text: str) -> tuple[str, str | None]:
    """Separate a question from the answer the scraper glued to it, using general cues."""
    q = text.find("?")
    if 0 < q < 80 and q < len(text) - 1:
        return text[: q + 1], text[q + 1:].strip()
    m = _LIST_ONE.search(text, 2)
    if m and m.start() < 60:
        return text[: m.start()], text[m.start():]
    m = _HEAD_REPEAT.match(text)
    if m and len(text) > m.end():
        return m.group(1) + m.group(2), text[len(m.group(1) + m.group(2)):]
    m = _CASE_CHANGE.search(text, 2)
    if m and m.start() <= 40:
        return text[: m.start()], text[m.start():]
    m = _COPULA.search(text, 2)
    if m and m.start() <= 20 and not _CLAUSE.search(text[: m.start()]):
        return text[: m.start()], text
    m = _ANSWER_START.search(text, 3)
    if m and m.start() <= 30 and not _CLAUSE.search(text[: m.start()]):
        return text[: m.start()], text[m.start():]
    if len(text) > 40:
        m = _CLAUSE.search(text)
        if m and m.start() >= 4:
            return text[: m.start()], text[m.end():].strip()
    return text, None


def _split_long_question(text: str) -> tuple[str, str]:
    """A "question" line longer than ``MAX_QUESTION_CHARS`` is a question with its answer run on (or
    not a question at all). Keep a bounded question — up to its first ``?``, else its last clause
    end, else a hard cut — and hand the rest on as answer text, so nothing is lost.

    Unbounded, a 5 MB one-line file became a 5 MB question: tokenised twice, embedded as one chunk,
    shown whole in every listing; ingest took minutes and a gigabyte of memory.
    """
    head = text[:MAX_QUESTION_CHARS]
    cut = head.find("?") + 1
    if not cut:
        cut = max(head.rfind(c) for c in "。!;,") + 1
    if cut < 4:
        cut = MAX_QUESTION_CHARS
    return text[:cut].strip(), text[cut:].strip()


def _inline_next(text: str, n: int) -> int:
    """Index where the next question ``n. `` starts inside ``text`` (a run-together line), or -1."""
    m = re.search(rf"(?:(?<=[\s{_CJK}A-Za-z?。!;:)]))(?<![\d.]){n}\.\s+(?=\S)", text)
    return m.start() if m else -1


def _heading_levels(lines: list[str]) -> tuple[int, bool]:
    """The heading level used for questions (the most common one, deeper wins a tie) and whether
    question headings carry markers (``## Q1: …``, ``## 3. …``) or question marks; in that case an
    unmarked heading such as ``## Further reading`` is a section title, not a question."""
    counts: dict[int, int] = {}
    marked = False
    for ln in lines:
        m = _heading(ln.strip())
        if m:
            counts[len(m.group(1))] = counts.get(len(m.group(1)), 0) + 1
            marked = marked or _marker(m.group(2)) is not None or _interrogative(m.group(2))
    return (max(counts, key=lambda lv: (counts[lv], lv)) if counts else 0), marked


def parse_document(text: str) -> ParsedDocument:
    """Questions of an already cleaned document, in order; ``plain_text`` is always ``text``."""
    lines = text.split("\n")
    q_level, marked = _heading_levels(lines)
    records: list[_Open] = []
    last: dict[str, int] = {}
    cur: _Open | None = None
    colon_mode = False
    queue: list[tuple[str, bool, bool]] = [(ln, False, i > 0 and not lines[i - 1].strip()) for i, ln in enumerate(lines)]
    queue.reverse()

    def start(question: str, kind: str, answer: str | None = None, inline: bool = False) -> None:
        nonlocal cur
        if len(question) > MAX_QUESTION_CHARS:
            question, rest = _split_long_question(question)
            answer = rest + ("\n" + answer if answer else "")
            inline = True
        cur = _Open(question=question, kind=kind, inline=inline)
        if answer:
            cur.answer.append(answer)
        records.append(cur)

    while queue:
        raw, glued, after_blank = queue.pop()
        s = raw.strip()
        if not s:
            if cur is not None:
                cur.answer.append("")
            continue
        heading = _heading(s)
        level = len(heading.group(1)) if heading else 0
        body = heading.group(2).strip() if heading else s
        bold = _BOLD.match(body)
        if bold:
            body = bold.group(1).strip()
        mk = _marker(body)
        appended = s

        if mk is not None:
            family, n, content = mk
            expected = last.get(family, 0) + 1
            # A run-together line: cut it at the next question number and handle the rest later.
            if family == "dot" and not heading:
                cut = _inline_next(content, n + 1)
                if cut > 0 and not bold:
                    queue.append((content[cut:], True, False))
                    appended = s[: len(s) - len(content) + cut].strip()
                    content, glued = content[:cut].strip(), True
            if _is_question(family, n, expected, content, cur, after_blank, raw):
                last[family] = n
                q, a = _split_glued(content) if glued else _colon_split(content)
                start(q, family if not heading else "heading", a, inline=a is not None)
                continue
            if cur is not None and family in ("dot", "rparen", "paren"):
                cur.lists[family] = n
        elif heading:
            if (level == q_level and not marked) or _interrogative(body):
                start(body, "heading")
            else:
                cur = None  # a section title: what follows until the next question is intro text
            continue
        elif _COLON_HEADING.match(s) and not _KEY.match(s) and not _OPTION.match(s):
            if cur is None or colon_mode or cur.inline:
                colon_mode = True
                start(s[:-1].strip(), "colon")
                continue
        elif last.get("dot") and cur is not None:
            cut = _inline_next(s, last["dot"] + 1)
            if cut > 0:
                queue.append((s[cut:], True, False))
                appended = s[:cut].strip()
        if cur is not None:
            cur.answer.append(appended)
    return _finish(records, text)


def _is_question(family: str, n: int, expected: int, content: str, cur: _Open | None, after_blank: bool, raw: str) -> bool:
    if family == "q" or cur is None:
        return True
    head = _colon_split(content)[0]
    if _interrogative(head):
        return True
    if family == "roman":
        return False
    continues_list = cur.lists.get(family, 0) and n == cur.lists[family] + 1
    if n == expected and expected > 1:
        if not continues_list:
            return True
        # Both readings fit (``(3)`` after an answer's ``(1)(2)``): a blank line before it or a short
        # unindented title shape means a new question.
        return after_blank and not raw.startswith(" ")
    if continues_list:
        return False
    if n == 1 and cur.kind in ("colon", "heading", "cn") and not any(a.strip() for a in cur.answer):
        # Under a bare section title a short "1. title" starts its questions; a sentence is its list.
        return len(content) <= 30 and not _SENTENCE_PUNCT.search(content)
    return False


def _finish(records: list[_Open], text: str) -> ParsedDocument:
    out: list[ParsedQuestion] = []
    for rec in records:
        question = rec.question.strip().rstrip(":").strip()
        if not question:
            continue
        lines = [ln.strip() for ln in rec.answer]
        kind, options, correct, lines = _choice(question, lines)
        answer = "\n".join(ln for ln in lines if ln).strip()
        answer = _ANSWER_PREFIX.sub("", answer, count=1).strip() or None
        if answer and kind == "open" and _is_link_title(answer):
            answer = None
        if answer is None and kind == "open" and rec.kind in ("colon", "heading", "cn") and not _interrogative(question):
            continue  # a section title, not a question
        out.append(
            ParsedQuestion(
                question=question, answer=answer, kind=kind, options=options, correct=correct,
                position=len(out) + 1,
            )
        )
    return ParsedDocument(questions=out, plain_text=text)


def _is_link_title(answer: str) -> bool:
    return "\n" not in answer and len(answer) <= 50 and not _SENTENCE_PUNCT.search(answer) and bool(
        _TITLE_SEPARATOR.search(answer)
    )


def _choice(question: str, lines: list[str]) -> tuple[str, dict[str, str], str | None, list[str]]:
    """Options ``A.…`` right after the question and a key line (``S: C``, ``答案:AD``) make a choice."""
    options: dict[str, str] = {}
    i = 0
    while i < len(lines) and not lines[i]:
        i += 1
    while i < len(lines) and lines[i]:
        found = _options_in(lines[i], chr(ord("A") + len(options)))
        if not found:
            break
        options.update(found)
        i += 1
    if len(options) < 2:
        return "open", {}, None, lines
    while i < len(lines) and not lines[i]:
        i += 1
    key = _KEY.match(lines[i]) if i < len(lines) else None
    if not key:
        return "open", {}, None, lines
    letters = sorted({c for c in key.group(1).upper() if c in options})
    if not letters:
        return "open", {}, None, lines
    rest = ([key.group(2)] if key.group(2) else []) + lines[i + 1:]
    return "choice", options, "".join(letters), rest


def _options_in(line: str, first: str) -> dict[str, str]:
    marks = list(_INLINE_OPTION.finditer(line))
    if not marks or marks[0].start() != 0 or marks[0].group(1) != first:
        return {}
    found: dict[str, str] = {}
    expect = first
    for j, m in enumerate(marks):
        if m.group(1) != expect:
            return found if found else {}
        end = marks[j + 1].start() if j + 1 < len(marks) and marks[j + 1].group(1) == chr(ord(expect) + 1) else len(line)
        found[expect] = line[m.end():end].strip()
        if end == len(line):
            break
        expect = chr(ord(expect) + 1)
    return {k: v for k, v in found.items() if v}
