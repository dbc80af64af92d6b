"""Read one user file into text: size and binary checks, encoding detection, HTML to main text.

Everything that can go wrong with a file the user gave is reported as one ``InputError`` whose
message says what is wrong and what to do about it, so the CLI can skip the file and go on.
"""

from __future__ import annotations

import codecs
import re
import stat
from pathlib import Path

from ingest.errors import InputError
from ingest.sizes import format_mb

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
HTML_SUFFIXES = (".html", ".htm")
# Read by ingest.pdf / ingest.docx, never decoded as text.
BINARY_SUFFIXES = (".pdf", ".docx")

# Magic numbers of formats people most often rename by mistake; naming the format makes the
# error actionable ("this is a ZIP archive") instead of a vague "binary".
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or .docx/.xlsx)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "a Windows executable"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
    (b"SQLite format 3\x00", "a SQLite database"),
)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Control bytes that never occur in text (tab, LF, FF, CR and ESC are allowed).
_CONTROL = frozenset(range(0, 32)) - {9, 10, 12, 13, 27}
# The GB family: gb18030 decodes everything gb2312/gbk can, plus the characters they lack.
_GB_FAMILY = {"gb2312", "gbk", "cp936", "hz", "gb18030", "euc_cn", "ms936"}
_BLOCK_TAGS = (
    "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
    "section", "article", "pre", "blockquote", "dt", "dd", "table",
)
_DROP_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe", "svg")
_HEADING = re.compile(r"^h([1-6])$")
_BLANKS = re.compile(r"\n{3,}")
_MD_HEADING = re.compile(r"^#{1,6} \S", re.M)


def _show(path: Path | str) -> str:
    """A path for a one-line message: control characters (a newline in a file name) escaped."""
    text = str(path)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The raw bytes of a supported, regular, not-too-large file. Raises ``InputError``."""
    path = Path(path)
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise InputError(
            f"{_show(path)} has unsupported type '{path.suffix or '(none)'}' — "
            f"convert it to one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    return read_file(path, max_bytes)


def read_file(path: Path, max_bytes: int) -> bytes:
    """The raw bytes of a regular, not-too-large file of any type. Raises ``InputError``."""
    path = Path(path)
    # OSError (permission denied, vanished, name too long) must be a per-file skip, and a FIFO or
    # device named x.txt would make read_bytes() block forever: check with stat first.
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError(f"{_show(path)} does not exist — check the path") from None
    except OSError as err:
        raise InputError(f"{_show(path)} cannot be read ({err.strerror}) — check the path and permissions") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{_show(path)} is not a regular file — pass a file or a folder of files")
    if st.st_size > max_bytes:
        raise InputError(
            f"{_show(path)} is {format_mb(st.st_size)}, over the {format_mb(max_bytes)} limit — "
            f"raise MIANSHI_MAX_FILE_MB or split the file ({st.st_size:,} bytes > {max_bytes:,} bytes)"
        )
    try:
        return path.read_bytes()
    except OSError as err:
        raise InputError(f"{_show(path)} cannot be read ({err.strerror}) — check permissions") from None


def read_document(path: Path, max_bytes: int) -> str:
    """Return the text of ``path`` (HTML reduced to its main text, PDF/DOCX to their text as light
    markdown). Raises ``InputError``."""
    path = Path(path)
    data = read_bytes(path, max_bytes)
    if path.suffix.lower() in BINARY_SUFFIXES:
        from ingest.formats import structured_document  # lazy: formats imports this module

        if not data.strip():
            raise InputError(f"{_show(path)} is empty — add content to it or remove it from the input")
        return structured_document(path, data, max_bytes).plain_text()
    return decode_document(path, data)


def decode_document(path: Path, data: bytes) -> str:
    """Text of a document's bytes; ``path`` gives the type (by suffix) and names it in messages."""
    return decode_page(path, data)[1]


def decode_page(path: Path, data: bytes) -> tuple[str | None, str]:
    """(HTML source or None, text) of a document's bytes: an HTML page's source is kept for its title."""
    if not data.strip():
        raise InputError(f"{_show(path)} is empty — add content to it or remove it from the input")
    _reject_binary(path, data)
    text = _decode(path, data)
    html = None
    if path.suffix.lower() in HTML_SUFFIXES:
        html, text = text, html_to_text(text)
        if not text.strip() and _tag_depth(html) > _MAX_HTML_DEPTH:
            raise InputError(
                f"{_show(path)} nests its tags more than {_MAX_HTML_DEPTH} levels deep, beyond what the HTML "
                f"parser reads, so no text could be extracted — save the page as .txt or simplify it"
            )
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError(f"{_show(path)} has no readable text — it may be an empty page or only scripts/images")
    return html, text


def _reject_binary(path: Path, data: bytes) -> None:
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise InputError(
                f"{_show(path)} looks like {what}, not text — save it as .txt, .md or .html first"
            + (" (or give it the right file extension)" if what in ("a PDF document",) else "")
            )
    if any(data.startswith(bom) for bom, enc in _BOMS if enc.startswith("utf-16") or enc == "utf-32"):
        return  # UTF-16/32 legitimately contain NUL bytes
    if _utf16_without_bom(data) is not None:
        return  # ... and so does UTF-16 saved without a BOM, which used to be rejected as "binary"
    head = data[:8192]
    if b"\x00" in head:
        raise InputError(f"{_show(path)} contains NUL bytes, so it is a binary file, not text — convert it to text first")
    bad = sum(1 for b in head if b in _CONTROL)
    if bad > max(4, len(head) // 20):
        raise InputError(
            f"{_show(path)} is mostly non-text control bytes ({bad} of {len(head)}) — convert it to text first"
        )


def decode_text(path: Path, data: bytes) -> str:
    """Plain text in whatever encoding it was saved (BOMs, UTF-16, UTF-8, GB18030, Big5, detection); a BOM is
    not part of the text. ``path`` only names the file in the error."""
    return _decode(path, data).lstrip("\ufeff")


def _decode(path: Path, data: bytes) -> str:
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(enc)
            except UnicodeDecodeError:
                break
    text = _utf16_without_bom(data)
    if text is not None:
        return text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # imported lazily: keeps module import cheap

    best = from_bytes(data).best()
    candidates: list[str] = []
    if best is not None and best.encoding:
        enc = best.encoding.lower().replace("-", "_")
        candidates.append("gb18030" if enc in _GB_FAMILY else enc)
    # Chinese pages are by far the common case; try their encodings before giving up.
    candidates += [c for c in ("gb18030", "big5") if c not in candidates]
    for enc in candidates:
        try:
            text = data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        if _plausible(text):
            return text
    raise InputError(
        f"{_show(path)} is not in a text encoding mianshi can read (tried UTF-8, GB18030, Big5 and detection) — "
        f"re-save it as UTF-8"
    )


def _utf16_without_bom(data: bytes) -> str | None:
    """Text of UTF-16 saved without a BOM, recognised by its NUL bytes: every ASCII character (digits,
    punctuation, newlines) has a NUL high byte, always on the same side of each byte pair, while a
    binary file has NULs on both sides. ``None`` when ``data`` does not look like that."""
    if len(data) % 2 or b"\x00" not in data[:8192]:
        return None
    head = data[:8192]
    half = len(head) // 2
    even, odd = head[0::2].count(0), head[1::2].count(0)
    for enc, nuls, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if nuls >= max(2, half // 20) and other <= half // 100:
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                continue
            if _plausible(text):
                return text
    return None


_MAX_HTML_DEPTH = 255  # libxml2's nesting limit without XML_PARSE_HUGE; deeper content is dropped
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^<>]*?(/?)>")
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())


def _tag_depth(html: str) -> int:
    """Deepest tag nesting, roughly (unclosed ``<p>`` count as open); linear, only used for messages."""
    depth = best = 0
    for m in _TAG.finditer(html):
        if m.group(3) or m.group(2).lower() in _VOID:
            continue
        depth = max(0, depth - 1) if m.group(1) else depth + 1
        best = max(best, depth)
    return best


def _plausible(text: str) -> bool:
    """Reject decodings that 'succeed' but produce control characters or private-use garbage."""
    if not text:
        return False
    odd = sum(
        1 for ch in text
        if (ord(ch) < 32 and ch not in "\t\n\r\f\x1b") or 0xE000 <= ord(ch) <= 0xF8FF or ch == "\ufffd"
    )
    return odd <= len(text) // 50


# Characters XML (and so lxml) refuses: C0 controls other than tab/LF/CR, and the non-characters.
_XML_INCOMPATIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def html_to_text(html: str) -> str:
    """Main text of an HTML page as light markdown (``# heading``, ``- item``, blank-line paragraphs)."""
    import trafilatura  # heavy import, only needed for HTML

    # A page with a stray control character (e.g. "\x1f" in a heading) made lxml raise ValueError
    # ("All strings must be XML compatible") out of the fallback extractor: a crash, not a skip.
    # They are never text, and clean_text drops them anyway.
    html = _XML_INCOMPATIBLE.sub("", html)

    text = trafilatura.extract(
        html,
        output_format="markdown",
        include_formatting=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        favor_recall=True,
    )
    if text and _MD_HEADING.search(text):
        return text
    # trafilatura falls back to a heading-less baseline on short pages; headings are how HTML Q&A
    # pages mark their questions, so prefer our own extraction when only it keeps them.
    fallback = _fallback_html_text(html)
    if len(_MD_HEADING.findall(fallback)) >= 2 or not (text and text.strip()):
        return fallback
    return text


def _fallback_html_text(html: str) -> str:
    """Plain body text when trafilatura finds no main content (tiny or unusual pages)."""
    import lxml.html

    try:
        root = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return ""
    if not isinstance(root.tag, str):
        # A page that is only text and a comment ("&nbsp<!--") parses to an HtmlComment, whose
        # text_content() raised ValueError ("not an XML element"): a crash, not a skip.
        return ""
    for el in list(root.iter(*_DROP_TAGS)):
        el.drop_tree()
    body = root.find(".//body")
    root = body if body is not None else root
    # Mark block boundaries and headings so paragraphs and questions survive as separate lines.
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        m = _HEADING.match(el.tag)
        if m:
            el.text = "#" * int(m.group(1)) + " " + (el.text or "")
        elif el.tag == "li":
            el.text = "- " + (el.text or "")
        if el.tag in _BLOCK_TAGS:
            el.tail = "\n\n" + (el.tail or "")
    return _BLANKS.sub("\n\n", root.text_content()).strip()
