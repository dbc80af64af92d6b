"""Strip scraped-page noise and repair formula junk, keeping the Q&A text intact.

Conventions other modules can rely on (output of ``clean_text``):

* Full-width ASCII variants (U+FF01..U+FF5E: ，：；（）？！ＡＢ１２ …) become plain ASCII, so the
  parser and everything downstream only ever sees ``, : ; ( ) ? !``. CJK-only punctuation with
  no ASCII twin (。、“”《》【】) is kept as is.
* NBSP, em/ideographic spaces and tabs become spaces; runs of spaces inside a line collapse to one;
  trailing spaces are removed; a line's indentation is kept (the parser uses it as a weak cue).
* Blank lines separate paragraphs; there is never more than one blank line in a row.
"""

from __future__ import annotations

import re

from ingest.chars import normalize_chars

_CJK = "\u3400-\u9fff\uf900-\ufaff"
_HAS_CJK = re.compile(f"[{_CJK}]")

_IMAGE_PLACEHOLDER = re.compile(r"在这里插入图片描述|图片描述|\[图片\]|\[image\]", re.I)
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'，。)）\]]+", re.I)
_URL_LINE = re.compile(
    r"^\s*(?:(?:本文地址|原文地址|原文链接|文章链接|链接|来源|出处|转载自|source|link)\s*[:：]?\s*)?"
    r"(?:https?://|www\.)\S+\s*$",
    re.I,
)
_PIPES_ONLY = re.compile(r"^[\s|｜¦]+$")
_LATEX_CMD = re.compile(r"\\[A-Za-z]{2,}")
_LATEX_SYMBOLS = {
    "times": "×", "cdot": "·", "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε",
    "theta": "θ", "lambda": "λ", "mu": "μ", "sigma": "σ", "pi": "π", "eta": "η", "partial": "∂",
    "sum": "∑", "infty": "∞", "leq": "≤", "geq": "≥", "neq": "≠", "approx": "≈", "sqrt": "√",
}
_FRAC = re.compile(r"\\frac\{([^{}]*)\}\{([^{}]*)\}")
_LATEX_WORD = re.compile(r"\\([A-Za-z]+)\s?")
_SPACED_RUN = re.compile(r"(?<!\S)\S(?: \S)+(?!\S)")
_DOUBLED = re.compile(r"[A-Za-z0-9\u2212+\-_^'′]{4,}")
_GARBLED = re.compile(r"\?[A-Za-z0-9(]")
_MULTISPACE = re.compile(r"(?<=\S) {2,}")
# Lines that are page chrome wherever they appear (kept short to spare real answers that
# mention the same words in passing).
_CHROME_STRONG = re.compile(
    r"公众号|二维码|扫码|扫一扫|打赏|红包|余额|充值|交流群|技术社群|邀请函|内推|版权所有|copyright\s*©|"
    r"ICP备|本文地址|原文链接|转载请注明|上一篇|下一篇|给个在看|点个在看|在看啦|次点击|次阅读|次浏览|"
    r"阅读全文|展开全文|登录后|立即登录|注册登录|加入.{0,12}群|备注[:：].{0,6}姓名|网站联系|联系我们|"
    r"微信号[:：]|qq[:：]\s*\d|email[:：]|关注.{0,6}(?:号|我们|作者)|点关注",
    re.I,
)
_CHROME_WEAK = re.compile(r"关注|点赞|收藏|评论|分享|举报|登录|注册|实付|支付|抵扣|领取|会员|VIP|打开APP|赞赏|转发")
_VIEW_DATE = re.compile(
    r"\d+\s*(?:次点击|次阅读|次浏览|阅读|浏览|人看过|点赞|评论|收藏)|\d+\s*(?:年|个月|月|天|周|小时|分钟)前|"
    r"^(?:作者|发布于|发表于|更新于|编辑于|来源|发布时间)\s*[:：]"
)
_BREADCRUMB = re.compile(r"»|›|->")
_HOME = re.compile(r"首页|主页|正文|当前位置|Home", re.I)
_RELATED = re.compile(
    r"^(?:相关推荐|相关阅读|相关文章|推荐阅读|往期回顾|往期推荐|往期精彩|精彩推荐|猜你喜欢|热门文章|延伸阅读|"
    r"更多推荐|阅读过本文的人还看了.*|大家都在看|热门推荐)\s*[:：]?$"
)
_END_MARKER = re.compile(r"^(?:评论|评论区|发表评论|全部评论|最新评论|热门评论|网友评论|添加红包|\d+\s*条评论|评论\s*\(\d+\))$")
_BLOCK_PROMO = re.compile(r"交流群|技术社群|邀请函")
_LIST_START = re.compile(
    r"^\s*(?:[-*•·●▪]\s|#{1,6}\s|\d{1,3}\s*[.、)）]|[(（]\d{1,3}[)）]|[A-H]\s*[.、)）:]|"
    r"[一二三四五六七八九十]{1,3}、|Q\d|问题|问[:：]|答[:：]|S\s*[:：])",
    re.I,
)
_SENTENCE_PUNCT = re.compile(r"[。,;?!，；？！]|\.\s|\.$")
_FUNCTION_WORDS = frozenset("a an the is are was be of to in on for and or with by it that this as at from".split())


def clean_answer_text(text: str) -> str:
    """Light cleaning for text that already came out of a document's structure (Markdown, DOCX,
    PDF): characters normalised, spaces collapsed, short promotion lines (公众号, 扫码, 交流群 …)
    dropped. The line-by-line chrome heuristics of ``clean_text`` are for scraped pages: on a
    structured answer they drop real lines (a list of browser names read as a link row)."""
    out: list[str] = []
    for ln in normalize_chars(text).split("\n"):
        ln = _MULTISPACE.sub(" ", ln.rstrip())
        if not ln.strip():
            if out and out[-1] != "":
                out.append("")
            continue
        if len(ln) <= 80 and _CHROME_STRONG.search(ln):
            continue
        out.append(ln)
    return "\n".join(out).strip("\n")


def clean_text(text: str) -> str:
    """Return ``text`` without site chrome and formula junk; see the module doc for conventions."""
    text = _IMAGE_PLACEHOLDER.sub("", normalize_chars(text))
    lines = [_strip_trailing_pipes(ln) for ln in text.split("\n")]
    lines = _join_spilled_formulas(lines)
    lines = [_repair_line(ln) for ln in lines]
    lines = _drop_chrome(lines)
    out: list[str] = []
    for ln in lines:
        ln = _MULTISPACE.sub(" ", ln.rstrip())
        if not ln.strip():
            if out and out[-1] != "":
                out.append("")
            continue
        out.append(ln)
    return "\n".join(out).strip("\n")


def _strip_trailing_pipes(line: str) -> str:
    """``text | |`` -> ``text``: drop trailing whitespace-separated pipes (table/menu debris).

    Was the regex ``(?:\s+\|)+\s*$``, which backtracks from every start position: a 5 MB line of
    spaces (or `` | | |…x``) took quadratic time, i.e. hours. This loop is linear and equivalent.
    """
    s = line.rstrip()
    while s.endswith("|") and s[:-1] != s[:-1].rstrip():
        s = s[:-1].rstrip()
    return s


# --------------------------------------------------------------------------- formulas

def _is_latex_source(line: str) -> bool:
    s = line.strip()
    return bool(s) and not _HAS_CJK.search(s) and bool(_LATEX_CMD.search(s))


def _is_tiny(line: str) -> bool:
    """One spilled formula symbol; two CJK characters are a word (``区别``, a menu entry), not one."""
    s = line.strip()
    return len(s) == 1 or (len(s) == 2 and not _HAS_CJK.fullmatch(s[0]) and not _HAS_CJK.fullmatch(s[1]))


def _glue(left: str, right: str) -> str:
    """Concatenate two pieces of one sentence, keeping a space only between two Latin words."""
    if not left:
        return right
    if left[-1:].isascii() and left[-1:].isalnum() and right[:1].isascii() and right[:1].isalnum():
        return left + " " + right
    return left + right


def _join_spilled_formulas(lines: list[str]) -> list[str]:
    """MathML scrapes spill a formula one character per line, followed by its LaTeX source and
    its rendering; collapse each such group to a single rendering, inline when it was inline."""
    out: list[str] = []
    i, n = 0, len(lines)
    glue_next = False
    while i < n:
        j = i
        while j < n and _is_tiny(lines[j]):
            j += 1
        run = j - i
        joined = "".join(ln.strip() for ln in lines[i:j])
        if run and (run >= 3 or (j < n and (lines[j].strip() == joined or _is_latex_source(lines[j])))):
            k = j
            while k < n and (lines[k].strip() == joined or _is_latex_source(lines[k])):
                k += 1
            prev = out[-1] if out else ""
            inline = glue_next or (prev.rstrip()[-1:] in tuple("([{（“'\"=:-"))
            rendered_next = k < n and lines[k].strip().startswith(joined)
            if not rendered_next:
                if inline and out:
                    out[-1] = _glue(out[-1].rstrip(), joined)
                else:
                    out.append(joined)
                glue_next = inline
            else:
                glue_next = inline
            i = k
            continue
        line = lines[i]
        if glue_next and out and line.strip():
            out[-1] = _glue(out[-1].rstrip(), line.strip())
        else:
            out.append(line)
        glue_next = False
        i += 1
    return out


def _repair_line(line: str) -> str:
    if _is_latex_source(line):
        return ""
    line = _URL.sub("", line)
    line = _dedupe_spaced_renderings(line)
    line = _DOUBLED.sub(_undouble, line)
    if "\\" in line:
        line = _FRAC.sub(r"(\1)/(\2)", line)
        line = _LATEX_WORD.sub(lambda m: _LATEX_SYMBOLS.get(m.group(1), "") if m.group(1) in _LATEX_SYMBOLS
                               or m.group(1) in ("left", "right", "mathrm", "text", "rm", "bf") else m.group(0), line)
    if "?" in line:
        line = " ".join(t for t in line.split(" ") if not _garbled(t)) if line.strip() else line
    return line


def _garbled(token: str) -> bool:
    """A formula whose symbols the scraper replaced by '?' (e.g. ``f(x1?,y2?)?x2??x1``)."""
    if _HAS_CJK.search(token):
        return False
    return token.count("?") >= 2 or bool(_GARBLED.search(token))


def _undouble(m: re.Match[str]) -> str:
    s = m.group(0)
    half = len(s) // 2
    if len(s) % 2 == 0 and s[:half] == s[half:] and re.search("[A-Za-z]", s):
        return s[:half]
    return s


# A KaTeX rendering is searched for only among the last this-many tokens of a spaced run (see below).
_MAX_RUN_TOKENS = 40


def _dedupe_spaced_renderings(line: str) -> str:
    """KaTeX inline scrapes: ``T e n s o r Tensor Tensor`` / ``3 × 3 3\\times 3 3×3`` -> one rendering.

    Bounded work per run (this used to be cubic in the run length — 400 spaced letters took 1.5 s,
    a 5 MB line of them never finished — and rebuilt the whole line on every replacement):

    * only sub-runs among the run's last ``_MAX_RUN_TOKENS`` tokens are tried; inline formulas are
      short, and a rendering of two or more characters can only be found after the run's end, so a
      sub-run ending far before it never matched anyway;
    * when no two adjacent run characters occur in the text after the run, no rendering of two or
      more characters can match, so only single characters are tried;
    * the output is assembled in pieces instead of re-slicing the line after each replacement.
    """
    if " " not in line.strip():
        return line
    out: list[str] = []
    cursor, ctx, pos, skip_at = 0, "", 0, -1
    while True:
        m = _SPACED_RUN.search(line, pos)
        if m and m.start() == skip_at:
            # The replaced text ended in a non-space just before here (the space after it was dropped),
            # so a run cannot start at this position.
            m = _SPACED_RUN.search(line, pos + 1)
        if not m:
            out.append(line[cursor:])
            return "".join(out)
        found = _best_rendering(line, m)
        if found is None:
            pos = m.end()
            continue
        start, hit, joined = found
        left = line[cursor:start]
        before = (ctx + left)[-2:-1]
        if left.endswith(" ") and (_HAS_CJK.match(before) or before in "([{（“-_/"):
            left = left[:-1]
        cursor = hit
        skip_at = -1
        if line[hit:hit + 1] == " " and _HAS_CJK.match(line[hit + 1:hit + 2]):
            cursor = skip_at = hit + 1
        out += (left, joined)
        ctx, pos = joined[-1], cursor


def _best_rendering(line: str, m: re.Match[str]) -> tuple[int, int, str] | None:
    """(start of the sub-run, end of its last duplicate rendering, the joined text), earliest and
    longest sub-run first; ``None`` when no sub-run of the spaced run ``m`` is followed by one."""
    tokens = m.group(0)[::2]  # a spaced run is single characters separated by single spaces
    n = len(tokens)
    first = max(0, n - _MAX_RUN_TOKENS)
    after = line[m.end(): m.end() + 3 * (n - first) + 41]
    multi = any(tokens[i:i + 2] in after for i in range(first, n - 1))
    for s in range(first, n):
        start = m.start() + 2 * s
        for k in range(n - s if multi else 1, 0, -1):
            joined = tokens[s:s + k]
            hit = _find_rendering(line, start + 2 * k - 1, joined, k)
            if hit is not None:
                return start, hit, joined
    return None


def _find_rendering(line: str, end: int, joined: str, k: int) -> int | None:
    """End index of the last duplicate rendering of ``joined`` that follows position ``end``."""
    # Slice only the window: copying the whole rest of the line here made long lines quadratic.
    window = line[end: end + 3 * len(joined) + 40]
    if not window.startswith(" "):
        return None
    best = None
    at = window.find(joined, 1)
    while at != -1:
        mid = window[1:at].strip()
        ok = (mid.replace(" ", "") == joined) or (not mid and k >= 2) or (
            "\\" in mid and not _HAS_CJK.search(mid)
        )
        if ok and not _HAS_CJK.search(mid):
            best = end + at + len(joined)
        at = window.find(joined, at + 1)
    return best


# --------------------------------------------------------------------------- chrome

def _is_link_row(s: str, min_gaps: int = 2) -> bool:
    """A horizontal menu: many short tokens, no sentence punctuation (``HTML教程 CSS教程 …``)."""
    if _LIST_START.match(s) or _SENTENCE_PUNCT.search(s):
        return False
    tokens = s.split()
    if len(re.findall(r"\S {2,}(?=\S)", s)) >= min_gaps and all(len(t) <= 20 for t in tokens):
        return True
    if len(tokens) < 6 or sum(len(t) for t in tokens) / len(tokens) > 8:
        return False
    wordy = sum(1 for t in tokens if _HAS_CJK.search(t) or re.search("[A-Za-z]{2}", t))
    if wordy < 0.6 * len(tokens):  # a formula such as ``N = 3 × 3 × 3 = 27`` is not a menu
        return False
    return sum(t.lower() in _FUNCTION_WORDS for t in tokens) <= 1


def _is_navish(s: str) -> bool:
    """One entry of a vertical menu."""
    if not s or _LIST_START.match(s) or _SENTENCE_PUNCT.search(s):
        return False
    return len(s) <= 12 or _is_link_row(s, min_gaps=1)


def _is_chrome_line(s: str) -> bool:
    if _PIPES_ONLY.match(s) or _URL_LINE.match(s):
        return True
    if len(s) <= 120 and _CHROME_STRONG.search(s):
        return True
    if len(s) <= 20 and _CHROME_WEAK.search(s) and not _SENTENCE_PUNCT.search(s[:-1]):
        return True
    if len(s) <= 60 and _VIEW_DATE.search(s):
        return True
    if len(s) <= 80 and _BREADCRUMB.search(s) and not _SENTENCE_PUNCT.search(s):
        if s.startswith(("->", "»", "›")) or "»" in s or "›" in s or _HOME.search(s):
            return True
    return _is_link_row(s)


def _is_title_like(s: str) -> bool:
    return len(s) <= 60 and "。" not in s and not _LIST_START.match(s)


def _drop_chrome(lines: list[str]) -> list[str]:
    n = len(lines)
    nonblank = [i for i, ln in enumerate(lines) if ln.strip()]
    half = nonblank[len(nonblank) // 2] if nonblank else 0
    keep = [True] * n
    i = 0
    while i < n:
        s = lines[i].strip()
        if not s:
            i += 1
            continue
        if _END_MARKER.match(s):
            if i >= half:  # a comments section closes the article; in a top toolbar it is one word
                for k in range(i, n):
                    keep[k] = False
                break
            keep[i] = False
        elif _RELATED.match(s):
            keep[i] = False
            k = i + 1
            while k < n and (not lines[k].strip() or _is_title_like(lines[k].strip())):
                keep[k] = False
                k += 1
            i = k
            continue
        elif _BLOCK_PROMO.search(s) and len(s) <= 120:
            k = i
            while k < n and lines[k].strip():  # the promo's own paragraph goes with it
                keep[k] = False
                k += 1
            i = k
            continue
        elif _is_chrome_line(s):
            keep[i] = False
        elif _is_navish(s):
            k = i
            while k < n and _is_navish(lines[k].strip()):
                k += 1
            if k - i >= 4:
                for r in range(i, k):
                    keep[r] = False
                i = k
                continue
        i += 1
    return [ln for ln, kept in zip(lines, keep) if kept]
