"""Word (.docx) into a ``Document`` with python-docx: heading styles give the structure.

A .docx is a ZIP archive, so its members are checked before anything is inflated: too many
members, a total uncompressed size far beyond the limit, or an extreme compression ratio (a
decompression bomb) are refused.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from ingest.chars import normalize_chars
from ingest.document import Block, Document
from ingest.errors import InputError
from ingest.read import _show

MAX_MEMBERS = 5000
MAX_RATIO = 200  # deflate reaches ~10:1 on XML; 1000:1 is a bomb
_HEADING_STYLE = re.compile(r"^(?:heading|标题|titre|überschrift)\s*(\d)$", re.I)
_LIST_STYLE = re.compile(r"list|列表", re.I)


def read_docx(path: Path, data: bytes, max_bytes: int) -> Document:
    if not data.startswith(b"PK\x03\x04"):
        raise InputError(f"{_show(path)} is not a .docx file (not a ZIP container) — save it from Word as .docx")
    _check_zip(path, data, max_bytes)
    try:
        import docx  # python-docx
        from docx.opc.exceptions import PackageNotFoundError

        d = docx.Document(io.BytesIO(data))
    except InputError:
        raise
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, OSError, AttributeError, TypeError) as exc:
        raise InputError(f"{_show(path)} is a damaged or unsupported .docx ({type(exc).__name__}) — "
                         f"re-save it from Word or export it as text") from None
    except Exception as exc:  # lxml's XMLSyntaxError and friends
        raise InputError(f"{_show(path)} is a damaged .docx ({type(exc).__name__}) — re-save it from Word") from None
    blocks = _blocks(d)
    title = normalize_chars(d.core_properties.title or "").strip() or None
    doc = Document(title=title, blocks=blocks)
    if not doc.title:
        doc.title = doc.first_heading(1) or path.stem
    return doc


def _check_zip(path: Path, data: bytes, max_bytes: int) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"{_show(path)} is a damaged .docx ({type(exc).__name__}) — re-save it from Word") from None
    if len(infos) > MAX_MEMBERS:
        raise InputError(f"{_show(path)} holds {len(infos)} files inside, not a Word document — check the file")
    total = sum(i.file_size for i in infos)
    limit = max(20 * max_bytes, 50 * 1024 * 1024)
    worst = max((i.file_size / max(i.compress_size, 1) for i in infos if i.file_size > 1_000_000), default=0)
    if total > limit or worst > MAX_RATIO:
        raise InputError(
            f"{_show(path)} inflates to {total:,} bytes (compression ratio up to {worst:.0f}:1) — a decompression "
            f"bomb or a damaged file, not read; re-save it from Word"
        )


def _blocks(d) -> list[Block]:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out: list[Block] = []
    for el in d.element.body.iterchildren():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "p":
            p = Paragraph(el, d)
            text = normalize_chars(p.text).strip()
            if not text:
                continue
            style = (p.style.name if p.style is not None else "") or ""
            m = _HEADING_STYLE.match(style.strip())
            if m or style.lower() == "title":
                level = int(m.group(1)) if m else 1
                out.append(Block(kind="heading", level=max(1, min(level, 6)), text=text, display=text))
            elif _LIST_STYLE.search(style) or el.find(".//{*}numPr") is not None:
                shown = f"- {text}"
                if out and out[-1].kind == "list":
                    out[-1].text += "\n" + text
                    out[-1].display += "\n" + shown
                else:
                    out.append(Block(kind="list", text=text, display=shown))
            else:
                out.append(Block(kind="paragraph", text=text, display=text))
        elif tag == "tbl":
            rows = [[normalize_chars(c.text).strip() for c in r.cells] for r in Table(el, d).rows]
            rows = [r for r in rows if any(r)]
            if rows:
                width = max(len(r) for r in rows)
                lines = ["| " + " | ".join(r + [""] * (width - len(r))) + " |" for r in rows]
                lines.insert(1, "|" + "---|" * width)
                out.append(Block(kind="table", text="\n".join(" | ".join(c for c in r if c) for r in rows),
                                 display="\n".join(lines)))
    return out
