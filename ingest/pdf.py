"""PDF into a ``Document`` with pypdf (BSD, pure Python).

Headings come from the outline (bookmarks) when the file has one; otherwise from font size (lines
set clearly larger than the body text), else from numbering (a short ``3.1 标题`` line). Lines are
joined into paragraphs; a line starting with a bullet or number starts a new one.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

from ingest.chars import normalize_chars
from ingest.document import Block, Document
from ingest.errors import InputError
from ingest.read import _show

MAX_PAGES = 3000
_NUMBERED_HEADING = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2}){0,3}|[一二三四五六七八九十]{1,3}、|第[一二三四五六七八九十\d]+[章节])\s*\S")
_BULLET = re.compile(r"^(?:[-•·*▪●○◦]|\d{1,3}[.)、]|\(\d{1,3}\)|[a-z][.)])\s*")
_SENTENCE_END = re.compile(r"[。.!?:;!?:;]$")


def read_pdf(path: Path, data: bytes, max_bytes: int) -> Document:
    """Raises ``InputError`` for what cannot be read (encrypted, damaged, no text layer, too big)."""
    if not data.startswith(b"%PDF"):
        raise InputError(f"{_show(path)} is not a PDF file (no %PDF header) — check the file or its extension")
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError

        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                reader.decrypt("")  # many "protected" PDFs only restrict printing, with an empty password
            except Exception:
                pass
            if reader.is_encrypted and not _readable(reader):
                raise InputError(f"{_show(path)} is a password-protected PDF — remove the password and try again")
        pages = reader.pages
        if len(pages) > MAX_PAGES:
            raise InputError(f"{_show(path)} has {len(pages)} pages, over the {MAX_PAGES}-page limit — split it")
        lines = _lines(pages, budget=max(4 * max_bytes, 1_000_000))
        outline = _outline(reader)
        meta = reader.metadata
        title = (meta.title or "").strip() if meta and meta.title else None
    except InputError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError, RecursionError,
            AssertionError, ZeroDivisionError) as exc:
        raise InputError(f"{_show(path)} is a damaged or unsupported PDF ({type(exc).__name__}) — "
                         f"re-export it from its source application or save it as text") from None
    if not any(t.strip() for t, _ in lines):
        raise InputError(f"{_show(path)} has no text layer (a scanned PDF?) — run OCR on it or save it as text first")
    doc = Document(title=normalize_chars(title) if title else None, blocks=_blocks(lines, outline))
    if not doc.title:
        doc.title = doc.first_heading(1) or path.stem
    return doc


def _readable(reader) -> bool:
    try:
        reader.pages[0].extract_text()
        return True
    except Exception:
        return False


def _lines(pages, budget: int) -> list[tuple[str, float]]:
    """(text, font size) per visual line, in reading order. ``budget`` caps extracted characters:
    a small file can inflate (compressed content streams) into far more text than it holds."""
    out: list[tuple[str, float]] = []
    total = 0
    for page in pages:
        first = len(out)
        runs: list[tuple[str, float]] = []

        def visit(text, cm, tm, font_dict, font_size, runs=runs):
            scale = abs(tm[3]) if tm and tm[3] else 1.0
            runs.append((text, round(float(font_size or 0) * scale * (abs(cm[3]) if cm and cm[3] else 1.0), 1)))

        page.extract_text(visitor_text=visit)
        line: list[str] = []
        sizes: Counter = Counter()
        for text, size in runs:
            parts = text.split("\n")
            for k, part in enumerate(parts):
                if part:
                    line.append(part)
                    sizes[size] += len(part.strip())
                if k < len(parts) - 1:
                    _flush(line, sizes, out)
                    line, sizes = [], Counter()
        _flush(line, sizes, out)
        out.append(("", 0.0))  # page break: never joined across
        total += sum(len(t) for t, _ in out[first:])
        if total > budget:
            raise InputError("this PDF's text is far larger than the file — a malformed or hostile PDF; "
                             "save it as text instead")
    return out


def _flush(line: list[str], sizes: Counter, out: list) -> None:
    text = normalize_chars("".join(line)).strip()
    if text:
        out.append((text, sizes.most_common(1)[0][0] if sizes else 0.0))
    elif out and out[-1][0]:
        out.append(("", 0.0))


def _outline(reader) -> dict[str, int]:
    """Normalised outline title -> level (1 = top)."""
    found: dict[str, int] = {}

    def walk(items, level):
        for it in items:
            if isinstance(it, list):
                walk(it, level + 1)
            else:
                title = getattr(it, "title", None)
                if title:
                    found.setdefault(_key(normalize_chars(str(title))), min(level, 6))

    try:
        walk(reader.outline, 1)
    except Exception:
        return {}
    return found


def _key(s: str) -> str:
    return re.sub(r"\s+", "", s).lower()


def _blocks(lines: list[tuple[str, float]], outline: dict[str, int]) -> list[Block]:
    body = Counter()
    for text, size in lines:
        if text:
            body[size] += len(text)
    body_size = body.most_common(1)[0][0] if body else 0.0
    bigger = sorted({s for t, s in lines if t and s >= body_size * 1.15 and len(t) <= 150}, reverse=True)[:5]
    size_level = {s: i + 1 for i, s in enumerate(bigger)}
    blocks: list[Block] = []
    para: list[str] = []

    def end_para():
        if para:
            text = " ".join(para) if not re.search("[\u3400-\u9fff]", "".join(para)) else "".join(para)
            blocks.append(Block(kind="paragraph", text=text, display=text))
            para.clear()

    for text, size in lines:
        if not text:
            end_para()
            continue
        level = 0
        if outline:
            level = outline.get(_key(text), 0)
        elif size_level and size in size_level:
            level = size_level[size]
        elif not bigger and len(text) <= 60 and _NUMBERED_HEADING.match(text) and not _SENTENCE_END.search(text):
            level = min(6, 1 + text.split(" ")[0].count("."))
        if level:
            end_para()
            blocks.append(Block(kind="heading", level=level, text=text, display=text))
        elif _BULLET.match(text) or (para and _SENTENCE_END.search(para[-1]) and len(para[-1]) < 40):
            end_para()
            para.append(text)
        else:
            para.append(text)
    end_para()
    return blocks
