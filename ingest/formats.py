"""Bytes of one file -> ``ParsedDocument`` (questions, title, what was skipped), by file type.

Markdown, HTML, PDF and DOCX go through the one document model (``ingest.document``) and the
structural question finder (``ingest.sections``); a document whose structure holds no question
(and every ``.txt`` file, such as the scraped seed pages) goes through the line heuristics of
``ingest.parse`` instead, which also read numbered questions out of flat text.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from pathlib import Path

from ingest.clean import clean_text
from ingest.document import Document
from ingest.errors import InputError
from ingest.parse import parse_document
from ingest.read import HTML_SUFFIXES, _show, decode_document, decode_page
from ingest.schema import ParsedDocument, SkippedSection

MARKDOWN_SUFFIXES = (".md", ".markdown")
# The modules that turn a file's bytes into records: when any of them changes, an unchanged file is read again.
_PARSER_MODULES = ("read", "chars", "clean", "document", "markdown", "sections", "parse", "pdf", "docx", "formats",
                   "keypoints", "dedupe", "chunk")


def parser_version() -> str:
    """A digest of the extraction code: part of each file's stored hash, so a bank ingested by an older
    parser is re-read (not re-embedded: chunk ids are content hashes) instead of keeping the old records."""
    h = hashlib.sha256()
    for name in _PARSER_MODULES:
        h.update((Path(__file__).parent / f"{name}.py").read_bytes())
    return h.hexdigest()[:16]


# Navigation files of a cloned repository: skipped unless they hold questions themselves.
NAVIGATION_NAMES = frozenset({"readme", "summary", "_sidebar", "_navbar", "index", "toc", "contents", "contributing",
                              "contributors", "changelog", "license"})
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


class NavigationFile(InputError):
    """A README/SUMMARY/_sidebar with no questions: nothing to store (not an error for a folder)."""


def structured_document(path: Path, data: bytes, max_bytes: int) -> Document | None:
    """The document model of a file, or None for plain text (read line by line instead)."""
    suffix = path.suffix.lower()
    if suffix in (".pdf", ".docx") and not data.strip():
        raise InputError(f"{_show(path)} is empty — add content to it or remove it from the input")
    if suffix == ".pdf":
        from ingest.pdf import read_pdf

        return read_pdf(path, data, max_bytes)
    if suffix == ".docx":
        from ingest.docx import read_docx

        return read_docx(path, data, max_bytes)
    if suffix in MARKDOWN_SUFFIXES:
        from ingest.markdown import parse_markdown

        return parse_markdown(decode_document(path, data))
    if suffix in HTML_SUFFIXES:
        from ingest.markdown import parse_markdown

        raw, text = decode_page(path, data)
        m = _TITLE.search(raw[:200_000])
        title = clean_text(html_lib.unescape(re.sub(r"<[^>]*>", "", m.group(1)))).strip()[:200] if m else None
        text = clean_text(text)
        return parse_markdown(text, title=title or None)
    return None


def load_document(path: Path, data: bytes, max_bytes: int) -> ParsedDocument:
    """Questions of one file. Raises ``InputError`` (``NavigationFile`` for a navigation page)."""
    from ingest.sections import _Q_MARK, asks, clean_question, extract

    path = Path(path)
    doc = structured_document(path, data, max_bytes)
    if doc is None:
        text = clean_text(decode_document(path, data))
        _require_text(path, text)
        parsed = parse_document(text)
        parsed.title = _first_line(text) or path.stem
        return _without_lead_ins(parsed)
    questions, skipped = extract(doc)
    text = clean_text(doc.plain_text())
    _require_text(path, text)
    if questions:
        parsed = ParsedDocument(questions=questions, plain_text=text, title=doc.title or path.stem, skipped=skipped)
    else:
        # Flat Q&A (numbered lines) without question headings. Only what reads as a question is kept:
        # on a structured document the line parser would take plain section titles for questions.
        parsed = parse_document(text)
        dropped = [q for q in parsed.questions if q.kind == "open" and not (asks(q.question) or _Q_MARK.match(q.question))]
        parsed.questions = [q for q in parsed.questions if q not in dropped]
        for i, q in enumerate(parsed.questions, 1):
            q.position = i
            q.question = clean_question(q.question) or q.question
        parsed.title = doc.title or path.stem
        parsed.skipped = skipped + [SkippedSection(heading=q.question, reason="not a question (flat text)") for q in dropped]
    if path.stem.lower() in NAVIGATION_NAMES and all(q.origin == "topic" for q in parsed.questions):
        raise NavigationFile(f"{_show(path)} is a navigation page with no questions — skipped")
    return _without_lead_ins(parsed)


# A short single line ending in a colon ("解决过拟合:", "对应的解决办法分别是：") announces an answer the document
# no longer has (an image, a list lost in scraping): it is no answer, like a TODO stub.
_LEAD_IN = re.compile(r"^[^\n]{1,24}[:：]$")


def _without_lead_ins(parsed: ParsedDocument) -> ParsedDocument:
    for q in parsed.questions:
        if q.kind == "open" and q.answer and _LEAD_IN.match(q.answer.strip()):
            q.answer, q.display = None, None
    return parsed


def _require_text(path: Path, text: str) -> None:
    if not text.strip():
        raise InputError(
            f"{_show(path)} has no text left once page chrome (menus, ads, links, control characters) is "
            f"removed — nothing to store"
        )


def _first_line(text: str) -> str | None:
    """The first line when it reads as a title (short, not a sentence); a plain-text page often starts with
    its first paragraph, which is no title."""
    line = next((ln.strip().lstrip("#").strip() for ln in text.splitlines() if ln.strip()), None)
    if not line or len(line) > 60 or re.search(r"[。；;!?！？,，]", line):
        return None
    return line
