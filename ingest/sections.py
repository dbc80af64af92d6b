"""Question records from a document's structure (``ingest.document.Document``).

Rules, in the order they apply:

* A heading is a *question* when, once its numbering is stripped, it carries a question marker
  (``Q3:``, ``问题3``, ``第三题``), asks (``…?``, 什么/为什么/如何…, what/why/how…) or asks to explain
  (介绍/简述/解释…, explain/describe…); or when it is one of a numbered run of sibling headings most
  of which are questions (``# 06.神经网络引入注意力机制后效果降低的原因`` among ``# 05.…有哪些``).
* A question heading owns its whole section, sub-headings included; only sub-headings that are
  questions themselves are cut out as their own records. A question whose whole section is such
  sub-questions is a section title, not a record.
* A short standalone line that is marked (``Q1.``) or ends with a question mark, inside a section
  that is not a question, starts a question owning the blocks up to the next such line.
* A non-question heading with a substantial body of its own becomes a record titled with its context
  (``LeNet-5 · 模型结构``). Generic section words (输入, 总结, 优点, References …) are never records on
  their own: their text belongs to the enclosing section. Reference/link sections are dropped.
* Links-only blocks, images, stubs (TODO, 待补充, TBD, "Answer here") are never answer text; an answer
  of only those is no answer. Page chrome after the last ``---`` rule is dropped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ingest.clean import clean_answer_text
from ingest.document import Block, Document, latex_to_plain
from ingest.schema import ParsedQuestion, SkippedSection

MIN_TOPIC_CHARS = 80  # own body needed for a non-question heading to become a record
MAX_LINE_QUESTION = 200
_TRAILING_CHROME_CHARS = 600

_CN_NUM = "零一二三四五六七八九十百两"
_NUMBERING = re.compile(
    rf"^(?:"
    rf"(?:Q|Question|问题|题目|面试题)\s*[\d{_CN_NUM}]{{1,4}}\s*[.:、)\-]?|"
    rf"第\s*[\d{_CN_NUM}]{{1,4}}\s*[题问个章节部分篇]\s*[.:、)]?|"
    rf"[\d]{{1,3}}(?:\.\d{{1,3}})*(?:\s*[.、:)\]]|\s+|(?=[^\d.\sA-Za-z]))|"
    rf"\(\s*\d{{1,3}}\s*\)|[{_CN_NUM}]{{1,3}}\s*[、.]|"
    rf"[A-Za-z]\s*[.)、](?=\s)|[IVX]{{1,4}}\.\s|"
    rf"[\u2460-\u2473\u2776-\u277f]"
    rf")\s*",
    re.I,
)
_Q_MARK = re.compile(rf"^(?:Q|Question|问题|题目|面试题)\s*[\d{_CN_NUM}]{{1,4}}\b|^第\s*[\d{_CN_NUM}]{{1,4}}\s*[题问]", re.I)
_NUMBERED = re.compile(rf"^(?:\d{{1,3}}(?:\.\d{{1,3}})*|[{_CN_NUM}]{{1,3}}|Q\s*\d{{1,4}})(?:[\s.、:)]|(?=[^\d]))", re.I)
_ASKS = re.compile(
    r"什么|什麼|为什么|為什麼|为何|如何|怎么|怎样|怎麼|哪些|哪种|哪个|哪几|是否|有何|吗|嗎|能否|可否|多少|几种|"
    r"^(?:请)?(?:介绍|简介|简述|简要|阐述|说说|说一下|说明|讲讲|讲一下|谈谈|聊聊|解释|描述|比较|对比|列举|推导|证明|分析|概述|总结一下)|"
    r"(?:的|之)(?:区别|异同|联系|优缺点|原理|作用|意义|好处|影响)(?:是|有)?$|区别$|异同$|"
    r"^(?:what|why|how|which|when|where|who|is|are|can|could|do|does|did|should|would|will|explain|describe|"
    r"compare|discuss|define|list|name|give|tell|walk|derive|suppose|imagine|you|in what|what's)\b",
    re.I,
)
_GENERIC = frozenset(
    """输入 输出 总结 小结 结论 优点 缺点 优缺点 优势 劣势 不足 参考 参考资料 参考文献 参考链接 参考文章 相关链接 链接 代码 代码地址
    代码实现 源码 实现 示例 例子 举例 简介 介绍 概述 背景 引言 前言 目录 注意 注意事项 备注 说明 补充 扩展 延伸阅读 公式 图示 结构
    原理 定义 概念 作用 特点 应用 用法 步骤 流程 方法 思路 解答 答案 解析 题目 问题 面试题 其他 其它 更多 附录 致谢 声明 论文 论文地址
    input output inputs outputs summary conclusion conclusions pros cons advantages disadvantages reference references
    resources links code implementation example examples introduction overview background contents notes note
    appendix answer answers solution question questions further reading see also acknowledgements license paper""".split()
)
_REFERENCE = re.compile(
    r"^(?:参考|参考资料|参考文献|参考链接|参考文章|相关链接|相关阅读|延伸阅读|推荐阅读|代码地址|论文地址|项目地址|源码地址|"
    r"references?|resources|further reading|see also|links|useful links|related)$",
    re.I,
)
_CHANGE_LOG_OR_TODO = re.compile(r"^(?:(?:updates?|change|release|version)s? ?(?:log|notes|history)|(?:更新|版本|修订)(?:日志|记录|说明|历史)|"
                                 r"todo|to-do|to do|todo list|待办|待办事项)$")
_DATE_OR_VERSION = re.compile(r"^(?:v?\d+(?: \d+){1,3}|\d{4}[-/ 年]\d{1,2}(?:[-/ 月]\d{1,2}日?|月)?)$")  # on is_generic's key
_STUB_LINE = re.compile(
    r"^(?:[-*+]\s*)?(?:\[[ xX]?\]\s*)?(?:todo|tbd|tbc|wip|待补充|待完善|待更新|待续|未完待续|暂无|暂缺|空|略|answer here|your answer here|"
    r"coming soon|to be (?:added|continued|completed)|n/?a|\.\.\.|…+|。+)\s*[.。!:]*\s*$",
    re.I,
)
_EMOJI = re.compile(
    "[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F\u200d\u20e3\u2190-\u21ff\u2300-\u23ff\u25a0-\u25ff]"
)
_LINK_WORDS = re.compile(r"\[\s*(?:src|source|answer|答案|link|链接|code|代码|paper|论文|here|详情|解析|参考)\s*\]", re.I)
# ``…是什么?<字节跳动-二面(2019)>``: where the question was asked, not part of it.
_SOURCE_TAG = re.compile(r"\s*<(?=[^<>]*(?:[\u3400-\u9fff]|\d{4}))[^<>/]{1,80}>?\s*$")
# 𝐖𝐡𝐚𝐭 (bold letters pasted from social media) is "What" to search and to the reader.
# Kangxi radicals (⽣ for 生) come out of PDF-to-Markdown converters: the same text to a reader.
_MATH_ALNUM = re.compile("[\U0001D400-\U0001D7FF\u2f00-\u2fdf]+")
_LATEX_IN_TEXT = re.compile(r"\\(?:frac|sqrt|sum|prod|alpha|beta|gamma|delta|theta|lambda|sigma|partial|cdot|times|mathrm|mathbf|left|right|hat|log|exp)\b")
_ANSWER_LABEL = re.compile(r"^\s*(?:answer|ans|答案|答|解答|参考答案|解析)\s*[:]\s*", re.I)
_ONLY_NUMBER = re.compile(r"^(?:[\d.\s、:)(]+|Q\s*\d+\W*)$", re.I)
_ENDS_Q = re.compile(r"[?]\s*$")
_EDGE = re.compile(r"^[\s:,;.\-–—|*_#>~]+|[\s:,;\-–—|*_#~]+$")


def strip_numbering(title: str) -> str:
    """``3.1.1 什么是BN?`` -> ``什么是BN?``; also ``Q1:``, ``1)``, ``第一题``, ``(2)``, ``一、``."""
    s = title.strip()
    for _ in range(3):
        m = _NUMBERING.match(s)
        if not m or not s[m.end():].strip():
            break
        s = s[m.end():].strip()
    return s


def clean_question(title: str) -> str:
    """Question text without numbering, link residue, emoji, or stray markup."""
    s = _MATH_ALNUM.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), title)
    s = _LINK_WORDS.sub("", s)
    s = _EMOJI.sub("", s)
    s = re.sub(r"[*_`]{2,}|\\(?=[*_`\[\]])|(?<![\d\s])\*|\*(?![\d\s])", "", s)
    s = _SOURCE_TAG.sub("", s)
    s = _EDGE.sub("", strip_numbering(_EDGE.sub("", s)))
    if _ONLY_NUMBER.match(s):
        return ""  # ``# 14.``: a number with its title missing
    return re.sub(r"\s+", " ", s).strip()


def is_generic(title: str) -> bool:
    key = re.sub(r"[\s:：.。!?()（）]+", " ", clean_question(title)).strip().lower()
    return key in _GENERIC or any(p.match(key) for p in (_REFERENCE, _CHANGE_LOG_OR_TODO, _DATE_OR_VERSION))


def asks(text: str) -> bool:
    """A question by its wording: a question mark, a question word, or a request to explain."""
    s = text.strip()
    if not s:
        return False
    return bool(_ENDS_Q.search(s)) or "?" in s[-12:] or (len(s) <= 80 and bool(_ASKS.search(s)))


@dataclass
class _Heading:
    index: int
    level: int
    raw: str
    title: str
    end: int = 0  # index after the last block of its section
    parent: "_Heading | None" = None
    question: bool = False
    generic: bool = False
    children: list["_Heading"] = field(default_factory=list)


def extract(doc: Document) -> tuple[list[ParsedQuestion], list[SkippedSection]]:
    """Question records of a structured document, and what was not made a record and why."""
    blocks = _drop_trailing_chrome(doc.blocks)
    heads = _tree(blocks)
    _classify(heads, doc)
    out: list[ParsedQuestion] = []
    skipped: list[SkippedSection] = []
    for h in heads:
        if h.question and not _inside_question(h):
            _emit_question(h, blocks, out, skipped)
            continue
        if _inside_question(h) and not h.question:
            continue
        if h.question:  # a question nested in a question: emitted by the walk above
            continue
        _topic_or_lines(h, blocks, doc, out, skipped)
    # Blocks before the first heading: marked question lines only (a preface is not a record).
    first = heads[0].index if heads else len(blocks)
    _line_questions(blocks[:first], [], out, skipped, context=None, intro_is_record=False)
    out.sort(key=lambda q: q.position)
    for i, q in enumerate(out, 1):
        q.position = i
    return out, skipped


def _drop_trailing_chrome(blocks: list[Block]) -> list[Block]:
    rules = [i for i, b in enumerate(blocks) if b.kind == "rule"]
    if not rules:
        return blocks
    tail = blocks[rules[-1] + 1:]
    if any(b.kind == "heading" for b in tail):
        return blocks
    if sum(len(b.text) for b in tail) <= _TRAILING_CHROME_CHARS:
        return blocks[: rules[-1]]
    return blocks


def _tree(blocks: list[Block]) -> list[_Heading]:
    heads: list[_Heading] = []
    stack: list[_Heading] = []
    for i, b in enumerate(blocks):
        if b.kind != "heading":
            continue
        h = _Heading(index=i, level=b.level, raw=b.text, title=clean_question(b.text))
        while stack and stack[-1].level >= h.level:
            stack.pop().end = i
        h.parent = stack[-1] if stack else None
        if h.parent:
            h.parent.children.append(h)
        stack.append(h)
        heads.append(h)
    for h in stack:
        h.end = len(blocks)
    return heads


def _classify(heads: list[_Heading], doc: Document) -> None:
    for h in heads:
        h.generic = is_generic(h.raw)
        h.question = bool(h.title) and not h.generic and (bool(_Q_MARK.match(h.raw.strip())) or asks(h.title))
    # A numbered run of siblings that is mostly questions: its other numbered members are too.
    groups: dict[tuple[int, int], list[_Heading]] = {}
    for h in heads:
        if _NUMBERED.match(h.raw.strip()):
            groups.setdefault((id(h.parent), h.level), []).append(h)
    for run in groups.values():
        mostly = sum(h.question for h in run) >= 0.6 * len(run)
        # A top-level numbered list of short leaf sections, each answered, is a flat Q&A list even when
        # its titles do not ask (``## 1. 忽略之前的指令`` … ): there is no enclosing topic to title them with.
        flat = run[0].parent is None and all(not h.children and h.end > h.index + 1 for h in run)
        if len(run) >= 3 and (mostly or flat):
            for h in run:
                if not h.generic and h.title:
                    h.question = True


def _inside_question(h: _Heading) -> bool:
    p = h.parent
    while p is not None:
        if p.question:
            return True
        p = p.parent
    return False


def _path(h: _Heading | None) -> list[str]:
    out = []
    while h is not None:
        if h.title:
            out.append(h.title)
        h = h.parent
    return out[::-1]


def _emit_question(h: _Heading, blocks: list[Block], out: list[ParsedQuestion], skipped: list[SkippedSection]) -> None:
    """The question's answer: its section minus sub-question sections, which become records too."""
    subs = [c for c in _descendants(h) if c.question and not _has_question_between(c, h)]
    cut = set()
    for s in subs:
        cut.update(range(s.index, s.end))
    own = [i for i in range(h.index + 1, h.end) if i not in cut]
    # ``Q26: …`` lines after a question heading's answer are the next questions, not its answer.
    marked = next((k for k, i in enumerate(own) if _is_line_question(blocks[i], strong_only=True)), None)
    rest: list[int] = []
    if marked is not None:
        own, rest = own[:marked], own[marked:]
    answer = _answer([blocks[i] for i in own], base_level=h.level)
    section = _path(h.parent)
    if answer is None and subs:
        skipped.append(SkippedSection(heading=h.title, section=section,
                                      reason="section title: its sub-questions are the records"))
    else:
        plain, display = answer if answer else (None, None)
        out.append(ParsedQuestion(question=h.title, answer=plain, display=display, section=section,
                                  position=h.index * 1000, origin="heading"))
    if rest:
        _line_questions([blocks[i] for i in rest], section, out, skipped, context=None, intro_is_record=False,
                        position=rest[0] * 1000, strong_only=True)
    for s in subs:
        _emit_question(s, blocks, out, skipped)


def _descendants(h: _Heading) -> list[_Heading]:
    out = []
    for c in h.children:
        out.append(c)
        out.extend(_descendants(c))
    return out


def _has_question_between(c: _Heading, top: _Heading) -> bool:
    p = c.parent
    while p is not None and p is not top:
        if p.question:
            return True
        p = p.parent
    return False


def _own_range(h: _Heading) -> list[int]:
    """Block indexes of the section's own body: up to the first non-generic sub-heading, plus the
    bodies of its generic sub-sections (``### 总结`` belongs to the section above it)."""
    idx: list[int] = []
    i = h.index + 1
    kids = {c.index: c for c in h.children}
    while i < h.end:
        c = kids.get(i)
        if c is not None:
            if c.generic and not c.question:
                idx.extend(range(c.index, c.end))
            i = c.end
            continue
        idx.append(i)
        i += 1
    return idx


def _topic_or_lines(h: _Heading, blocks: list[Block], doc: Document, out: list[ParsedQuestion],
                    skipped: list[SkippedSection]) -> None:
    section = _path(h.parent)
    if not h.title:
        skipped.append(SkippedSection(heading=h.raw, section=section, reason="heading without text"))
        return
    if h.generic:
        if h.parent is None:
            skipped.append(SkippedSection(heading=h.title, section=section, reason="generic section heading"))
        return
    own = _own_range(h)
    # A topic is titled with where it sits; a top-level one with the document's title (or not at all).
    outer = h.parent.title if h.parent is not None else doc.title if doc.title != h.raw else None
    context = f"{clean_question(outer)} · {h.title}" if outer and clean_question(outer) else None
    is_doc_title = h.level == 1 and h.parent is None and any(x.level > 1 for x in h.children)
    _line_questions([blocks[i] for i in own], _path(h), out, skipped, context=None if is_doc_title else context,
                    intro_is_record=not is_doc_title, position=h.index * 1000, heads=True)


def _line_questions(body: list[Block], section: list[str], out: list[ParsedQuestion],
                    skipped: list[SkippedSection], *, context: str | None, intro_is_record: bool,
                    position: int = 0, heads: bool = False, strong_only: bool = False) -> None:
    """Split a non-question section body at marked/interrogative lines; the text before the first
    one is the section's own body (a topic record when substantial)."""
    starts = [i for i, b in enumerate(body) if _is_line_question(b, strong_only)]
    intro = body[: starts[0]] if starts else body
    intro_answer = _answer(intro, base_level=6)
    if intro_answer is not None and context is not None and intro_is_record:
        plain, display = intro_answer
        if len(plain) >= MIN_TOPIC_CHARS:
            out.append(ParsedQuestion(question=context, answer=plain, display=display,
                                      section=section[:-1], position=position, origin="topic"))
        elif heads and not starts:
            skipped.append(SkippedSection(heading=context, section=section[:-1],
                                          reason=f"not a question, and its text is too short for a topic ({len(plain)} chars)"))
    elif heads and not starts and intro_answer is None and context is not None:
        reason = "section title (no text of its own)" if not intro else "not a question; its text is only links/stubs"
        skipped.append(SkippedSection(heading=context, section=section[:-1], reason=reason))
    for n, s in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(body)
        q = clean_question(body[s].text)
        ans = _answer(body[s + 1: end], base_level=6)
        plain, display = ans if ans else (None, None)
        out.append(ParsedQuestion(question=q, answer=plain, display=display, section=section,
                                  position=position + s + 1, origin="line"))


def _is_line_question(b: Block, strong_only: bool = False) -> bool:
    if b.kind != "paragraph" or b.links_only or "\n" in b.text.strip() or len(b.text) > MAX_LINE_QUESTION:
        return False
    raw = b.text.strip()
    q = clean_question(raw)
    if not q or is_generic(q):
        return False
    if strong_only:
        return bool(_Q_MARK.match(raw))
    return bool(_Q_MARK.match(raw)) or bool(_ENDS_Q.search(_EMOJI.sub("", raw).rstrip(" *_")))


def _answer(blocks: list[Block], base_level: int) -> tuple[str, str] | None:
    """(plain, display) of an answer, or None when nothing real is left."""
    plain: list[str] = []
    shown: list[str] = []
    skip_level = 0  # inside a reference sub-section of this level
    for b in blocks:
        if b.kind == "heading":
            if skip_level and b.level > skip_level:
                continue
            skip_level = 0
            if _REFERENCE.match(re.sub(r"[\s:：]+$", "", clean_question(b.text)).lower()):
                skip_level = b.level
                continue
            title = clean_question(b.text)
            if title:
                plain.append(title)
                shown.append("#### " + title)
            continue
        if skip_level or b.links_only or b.kind == "rule":
            continue
        p_lines = [ln for ln in b.text.split("\n") if not _STUB_LINE.match(ln.strip())]
        if b.kind != "code":  # LaTeX written without $ delimiters: readable in the plain text too
            p_lines = [latex_to_plain(ln) if _LATEX_IN_TEXT.search(ln) else ln for ln in p_lines]
        if not "".join(p_lines).strip():
            continue
        plain.append("\n".join(p_lines))
        shown.append("\n".join(ln for ln in b.display.split("\n") if not _STUB_LINE.match(_unmark(ln))) or b.display)
    text = clean_answer_text("\n".join(plain)) if plain else ""
    text = _ANSWER_LABEL.sub("", _MATH_ALNUM.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text), count=1)
    if not _substantive(text):
        return None
    return text, "\n\n".join(shown).strip()


def _unmark(line: str) -> str:
    return re.sub(r"^\s*(?:[-*+]|\d+\.)\s*", "", line).replace("\\", "").strip()


def _substantive(text: str) -> bool:
    rest = [ln for ln in text.split("\n") if ln.strip() and not _STUB_LINE.match(ln.strip())]
    return bool(rest) and len(re.sub(r"\W", "", "".join(rest))) >= 2
