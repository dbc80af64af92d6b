"""Markdown (CommonMark + tables + ``$``/``$$`` math, via markdown-it-py) into a ``Document``.

Also the second half of the HTML reader: a page's main text comes out of trafilatura as Markdown.
"""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

from ingest.chars import normalize_chars
from ingest.document import Block, Document, latex_to_plain

_CJK = re.compile("[\u3400-\u9fff\uf900-\ufaff]")
# Collapsible ``<details><summary>Q</summary> … </details>`` blocks (common in Chinese collections)
# indent their content, which Markdown reads as a code block: unwrap them before parsing.
_DETAILS = re.compile(r"</?details[^>]*>|</?b>\s*(?=<summary|</summary|$)", re.I)
_SUMMARY = re.compile(r"<summary[^>]*>(.*?)</summary>", re.I | re.S)
_TAG = re.compile(r"<[^>]{0,200}>")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
# What may stand next to links in a "links only" block: a label, separators, bullets.
_LINK_LABEL = re.compile(
    r"参考资料|参考文献|参考链接|参考文章|详细参考|参考|相关链接|链接|原文|出处|来源|代码地址|代码|论文地址|论文|项目地址|"
    r"地址|博客|blog|references?|sources?|links?|see also|further reading|code|paper|github|"
    r"[\s:,;.、，。：；/|()\[\]《》<>*_\-–—·•]+",
    re.I,
)


def _parser():
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    return (
        MarkdownIt("commonmark", {"html": True})
        .enable(["table", "strikethrough"])
        .use(dollarmath_plugin, allow_space=True, allow_digits=False, double_inline=True)
    )


def _unwrap_details(text: str) -> str:
    if "<details" not in text.lower() and "<summary" not in text.lower():
        return text
    out, inside = [], 0
    for line in text.split("\n"):
        low = line.lower()
        opened = low.count("<details")
        closed = low.count("</details")
        line = _SUMMARY.sub(lambda m: "\n\n" + m.group(1).strip() + "\n\n", line)
        line = _DETAILS.sub("", line)
        inside += opened
        out.append(line.strip() if inside and not line.strip().startswith(("```", "~~~")) else line)
        inside = max(0, inside - closed)
    return "\n".join(out)


def parse_markdown(text: str, title: str | None = None) -> Document:
    """Blocks of a Markdown document; ``title`` is the first H1 unless one is given."""
    from markdown_it.tree import SyntaxTreeNode

    text = _unwrap_details(normalize_chars(text))
    root = SyntaxTreeNode(_parser().parse(text))
    blocks: list[Block] = []
    for node in root.children:
        _block(node, blocks, depth=0)
    doc = Document(title=title, blocks=blocks)
    if doc.title is None:
        doc.title = doc.first_heading(1)
    return doc


# --- blocks -------------------------------------------------------------------------------------
def _block(node, out: list[Block], depth: int) -> None:
    t = node.type
    if t == "heading":
        plain, shown, _ = _inline(node.children[0]) if node.children else ("", "", False)
        out.append(Block(kind="heading", level=int(node.tag[1]), text=_one_line(plain), display=_one_line(shown)))
    elif t == "paragraph":
        plain, shown, links_only = _inline(node.children[0])
        if plain.strip() or links_only:
            out.append(Block(kind="paragraph", text=plain.strip(), display=shown.strip(), links_only=links_only))
    elif t in ("bullet_list", "ordered_list"):
        plain_lines, shown_lines, all_links = _list(node, 0)
        if plain_lines:
            out.append(Block(kind="list", text="\n".join(plain_lines), display="\n".join(shown_lines),
                             links_only=all_links))
    elif t == "table":
        _table(node, out)
    elif t in ("fence", "code_block"):
        code = node.content.rstrip("\n")
        if t == "code_block" and depth < 2 and _prose(code):
            # Indented prose (a habit of some authors), not code: read it as Markdown.
            for b in parse_markdown(_dedent(code)).blocks:
                out.append(b)
            return
        if code.strip():
            lang = (node.info or "").strip().split(" ")[0] if t == "fence" else ""
            out.append(Block(kind="code", text=code, display=f"```{lang}\n{code}\n```"))
    elif t in ("math_block", "math_block_label"):
        latex = node.content.strip()
        if latex:
            out.append(Block(kind="math", text=latex_to_plain(latex), display=f"$$\n{latex}\n$$"))
    elif t == "html_block":
        body = _html_text(node.content)
        if body:
            out.append(Block(kind="paragraph", text=body, display=body))
    elif t == "blockquote":
        for child in node.children:
            _block(child, out, depth)
    elif t == "hr":
        out.append(Block(kind="rule"))


def _prose(code: str) -> bool:
    return len(_CJK.findall(code)) >= max(4, len(code) // 6)


def _dedent(code: str) -> str:
    return "\n".join(ln.strip() for ln in code.split("\n"))


def _list(node, indent: int) -> tuple[list[str], list[str], bool]:
    plain: list[str] = []
    shown: list[str] = []
    all_links = True
    ordered = node.type == "ordered_list"
    start = int(node.attrs.get("start", 1)) if ordered else 1
    pad = "  " * indent
    for i, item in enumerate(node.children):
        marker = f"{start + i}. " if ordered else "- "
        first = True
        for child in item.children:
            if child.type == "paragraph":
                p, s, lo = _inline(child.children[0])
                all_links &= lo or not p.strip()
                if not p.strip():
                    continue
                p_lines, s_lines = p.strip().split("\n"), s.strip().split("\n")
                lead = marker if first else "  "
                plain.append(pad + (marker if ordered and first else "") + p_lines[0])
                plain.extend(pad + ln for ln in p_lines[1:])
                shown.append(pad + lead + s_lines[0])
                shown.extend(pad + "  " + ln for ln in s_lines[1:])
                first = False
            elif child.type in ("bullet_list", "ordered_list"):
                p, s, lo = _list(child, indent + 1)
                all_links &= lo
                plain.extend(p)
                shown.extend(s)
            else:
                sub: list[Block] = []
                _block(child, sub, 1)
                for b in sub:
                    all_links &= b.links_only
                    if b.text:
                        plain.extend(pad + ln for ln in b.text.split("\n"))
                        shown.extend(pad + "  " + ln for ln in b.display.split("\n"))
    return plain, shown, all_links and bool(plain)


def _table(node, out: list[Block]) -> None:
    rows: list[tuple[list[str], list[str]]] = []
    for section in node.children:
        for tr in section.children:
            cells = [_inline(td.children[0]) if td.children else ("", "", False) for td in tr.children]
            rows.append(([_one_line(c[0]) for c in cells], [_one_line(c[1]).replace("|", "\\|") for c in cells]))
    if not rows:
        return
    plain = "\n".join(" | ".join(c for c in r[0] if c) for r in rows)
    width = max(len(r[1]) for r in rows)
    lines = ["| " + " | ".join(r[1] + [""] * (width - len(r[1]))) + " |" for r in rows]
    lines.insert(1, "|" + "---|" * width)
    if plain.strip():
        out.append(Block(kind="table", text=plain, display="\n".join(lines)))


# --- inline -------------------------------------------------------------------------------------
def _inline(node) -> tuple[str, str, bool]:
    """(plain, display, links_only) of an inline run. Lines that are only links (with a label such as
    参考资料) or that start with a reference label are dropped; ``links_only`` when no line is left."""
    lines: list[_Line] = [_Line()]
    link_depth = 0
    for child in _walk(node):
        t = child.type
        cur = lines[-1]
        if t == "text":
            s = child.content
            if link_depth and _RESIDUE_LINK.match(s):
                continue  # ``[[src]](…)``, ``[Answer](…)``: a pointer, not text
            # CommonMark leaves ``**有向无环图,**其中`` unparsed (a closing run after punctuation).
            cur.plain.append(_STRAY_STRONG.sub("", s))
            cur.shown.append(_escape(s))
            if not link_depth:
                cur.outside.append(s)
        elif t in ("softbreak", "hardbreak"):
            lines.append(_Line())
        elif t == "code_inline":
            cur.plain.append(child.content)
            cur.shown.append(f"`{child.content}`")
            if not link_depth:
                cur.outside.append(child.content)
        elif t in ("math_inline", "math_inline_double"):
            cur.plain.append(latex_to_plain(child.content))
            cur.shown.append(f"${child.content}$" if t == "math_inline" else f"$${child.content}$$")
            cur.outside.append("x")
        elif t == "link_open":
            cur.links += 1
            link_depth += 1
        elif t == "link_close":
            link_depth -= 1
        elif t == "html_inline" and re.match(r"<br\s*/?>", child.content, re.I):
            lines.append(_Line())
        elif t == "html_inline" and not _HTML_TAG_NAME.match(child.content):
            # ``<answer>``, ``<system>``: not HTML, so the author's text — kept verbatim.
            cur.plain.append(child.content)
            cur.shown.append(_escape(child.content))
            if not link_depth:
                cur.outside.append(child.content)
        elif t == "html_inline" and _MATH_IMG.search(child.content):
            # GitHub's old formula trick: <img src="https://render.githubusercontent.com/render/math?math=…">
            latex = unquote(_MATH_IMG.search(child.content).group(1)).strip()
            cur.plain.append(latex_to_plain(latex))
            cur.shown.append(f"${latex}$")
            cur.outside.append("x")
    kept = [ln for ln in lines if not ln.dropped()]
    links_only = not any("".join(ln.plain).strip() for ln in kept) and any(ln.links for ln in lines)
    # CommonMark leaves ``**有向无环图,**其中`` unparsed (a closing run after punctuation): drop the pair.
    # An image whose address has spaces is not an image to CommonMark: its syntax stays as text.
    plain = "\n".join(_BROKEN_IMAGE.sub("", "".join(ln.plain)) for ln in kept)
    shown = "\n".join("".join(ln.shown) for ln in kept)
    return _tidy(plain), _tidy(shown), links_only


_HTML_TAG_NAME = re.compile(
    r"</?(?:a|abbr|b|bdi|bdo|big|br|center|cite|code|del|dfn|div|em|font|i|img|ins|kbd|mark|p|q|s|samp|small|span|"
    r"strike|strong|sub|sup|time|tt|u|var|wbr|details|summary|table|tr|td|th|li|ul|ol|hr|h[1-6]|pre|blockquote|"
    r"figure|figcaption|video|audio|source|iframe|input|label|button|svg|path)\b|<!--|<\?|<!\[CDATA",
    re.I,
)
_MATH_IMG = re.compile(r"<img[^>]*src=[\"'][^\"']*[?&]math=([^\"'&]+)", re.I)
_BROKEN_IMAGE = re.compile(r"!\[[^\]\n]{0,200}\]\([^)\n]{0,500}\)?")
_STRAY_STRONG = re.compile(r"\*\*(?=\S)|(?<=\S)\*\*")


class _Line:
    def __init__(self) -> None:
        self.plain: list[str] = []
        self.shown: list[str] = []
        self.outside: list[str] = []
        self.links = 0

    def dropped(self) -> bool:
        outside = "".join(self.outside)
        links = self.links + len(_URL.findall(outside))
        if _REFERENCE_LABEL.match(outside.strip()) and (links or len(outside) < 40):
            return True
        rest = _URL.sub("", outside).strip()
        if links and len(rest) <= 10 and rest.endswith(":"):
            return True  # ``知乎解读: https://…``: a labelled link
        return links > 0 and not _LINK_LABEL.sub("", _URL.sub("", outside)).strip()


_RESIDUE_LINK = re.compile(r"^\s*\[?\s*(?:src|source|answer|答案|link|链接|here|详情|原文)\s*\]?\s*$", re.I)
_REFERENCE_LABEL = re.compile(
    r"^[*_\s]*(?:参考资料|参考文献|参考链接|参考文章|详细参考|参考|相关链接|references?|sources?|see also)\s*[:：]", re.I
)


def _walk(node):
    """Leaf inline tokens in order, with link/emphasis open/close markers flattened."""
    for child in node.children:
        if child.type == "link":
            yield _Marker("link_open")
            yield from _walk(child)
            yield _Marker("link_close")
        elif child.type in ("strong", "em", "s"):
            yield from _walk(child)
        elif child.type == "image":
            continue
        else:
            yield child


class _Marker:
    def __init__(self, type_: str) -> None:
        self.type = type_
        self.content = ""


_MD_SPECIAL = re.compile(r"([*_`\\<>\[\]$])")


def _escape(s: str) -> str:
    """Text shown as Markdown must not turn into markup (``a*b*c`` stays literal)."""
    return _MD_SPECIAL.sub(r"\\\1", s)


def _tidy(s: str) -> str:
    s = normalize_chars(html.unescape(s))
    s = re.sub(r"[ \t]+", " ", s)
    return "\n".join(ln.strip() for ln in s.split("\n")).strip("\n")


def _one_line(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def _html_text(fragment: str) -> str:
    """Visible text of an HTML block (``<table>`` notes, ``<p align=center>`` captions); comments dropped."""
    if fragment.lstrip().startswith("<!--"):
        return ""
    fragment = re.sub(r"<br\s*/?>|</p>|</tr>|</li>|</div>", "\n", fragment, flags=re.I)
    text = html.unescape(_TAG.sub(" ", fragment))
    return _tidy(text)
