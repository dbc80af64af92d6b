"""See before you store: what ingest would extract from some files, without opening a store."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field

from ingest.errors import InputError
from ingest.formats import NavigationFile, load_document
from ingest.pipeline import discover, relative_names
from ingest.read import read_bytes
from ingest.settings import BankSettings

PREVIEW_CHARS = 120


class DryRunItem(BaseModel):
    """One line of ``mianshi ingest --dry-run`` output (JSON lines)."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(description="path relative to the folder given")
    title: str | None = Field(None, description="document title")
    status: Literal["record", "skipped", "file_skipped"]
    question: str | None = None
    answer_preview: str | None = Field(None, description=f"first {PREVIEW_CHARS} characters of the plain answer")
    answered: bool = False
    kind: str | None = None
    section: list[str] = Field(default_factory=list)
    reason: str | None = Field(None, description="why a heading/line or a file was not made a record")


def dry_run(paths: list[Path], settings: BankSettings | None = None) -> Iterator[DryRunItem]:
    """Records and skips, file by file, in document order. Raises ``InputError`` only when ``paths``
    themselves are unusable (missing, nothing ingestible), like ``ingest_paths``."""
    settings = settings or BankSettings()
    max_bytes = settings.max_file_bytes
    files, skipped = discover([Path(p) for p in paths])
    for sk in skipped:
        yield DryRunItem(source=sk.path, status="file_skipped", reason=sk.reason)
    rel = relative_names(paths, files)
    for f in files:
        try:
            doc = load_document(f, read_bytes(f, max_bytes), max_bytes)
        except NavigationFile:
            yield DryRunItem(source=rel[f], status="file_skipped", reason="navigation page with no questions")
            continue
        except InputError as exc:
            yield DryRunItem(source=rel[f], status="file_skipped", reason=str(exc))
            continue
        except Exception as exc:  # same policy as ingest: one bad document never stops the run
            yield DryRunItem(source=rel[f], status="file_skipped",
                             reason=f"could not be parsed ({type(exc).__name__}) — please report this file")
            continue
        if not doc.questions:
            yield DryRunItem(source=rel[f], title=doc.title, status="file_skipped",
                             reason="no questions recognised — would be stored as plain text for lookup")
        for q in doc.questions:
            preview = (q.answer or "")[:PREVIEW_CHARS] or None
            yield DryRunItem(source=rel[f], title=doc.title, status="record", question=q.question,
                             answer_preview=preview, answered=bool(q.answer), kind=q.kind, section=q.section)
        for s in doc.skipped:
            yield DryRunItem(source=rel[f], title=doc.title, status="skipped", question=s.heading,
                             section=s.section, reason=s.reason)
