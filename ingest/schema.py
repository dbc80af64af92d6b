"""Records that cross module boundaries. Every model forbids unknown fields."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParsedQuestion(Strict):
    """One question as found in one document, before deduplication."""

    question: str
    answer: str | None = None
    kind: Literal["open", "choice"] = "open"
    options: dict[str, str] = Field(default_factory=dict)
    correct: str | None = None
    position: int = Field(0, description="1-based order of the question in its document")
    display: str | None = Field(None, description="the answer as Markdown for showing: lists, tables, code and "
                                                  "LaTeX ($…$, $$…$$) kept; ``answer`` is its plain text")
    section: list[str] = Field(default_factory=list, description="headings above the question, outermost first")
    origin: Literal["heading", "line", "topic", "text"] = Field(
        "text", description="a question heading, a marked/interrogative line, a non-question heading titled with its "
                            "context ('LeNet-5 · 模型结构'), or the flat-text parser")


class SkippedSection(Strict):
    """A heading or line that did not become a record, and why (shown by a dry run)."""

    heading: str
    section: list[str] = Field(default_factory=list)
    reason: str


class ParsedDocument(Strict):
    questions: list[ParsedQuestion]
    plain_text: str = Field("", description="cleaned text, used as plain chunks when no Q&A was found")
    title: str | None = Field(None, description="first H1, <title>, PDF metadata title, or None")
    skipped: list[SkippedSection] = Field(default_factory=list)


def source_label(title: str | None, path: str | None, section: list[str] | tuple = ()) -> str:
    """Where a passage comes from, the way a person finds it again: "title — path › section" (the last two
    headings that are not the title). A title that is only the file name is not said twice."""
    path = path or ""
    heads = [h for h in section if h and h != title][-2:]
    where = " › ".join([path, *heads] if path else heads)
    title = "" if path and title in (PurePosixPath(path).stem, PurePosixPath(path).name) else (title or "")
    return " — ".join(x for x in (title, where) if x)


class Answer(Strict):
    text: str
    source: str = Field(description="file name and position, e.g. 'corpus/raw/a.txt#3'")
    display: str | None = Field(None, description="the answer as Markdown with LaTeX ($…$, $$…$$) for showing; "
                                                  "None for records stored before schema v2 (show ``text``)")
    section: list[str] = Field(default_factory=list, description="headings above the question in its document")
    title: str | None = Field(None, description="title of the source document (first H1, <title>, PDF metadata)")
    rel_path: str | None = Field(None, description="the source's path relative to the folder that was ingested")

    @property
    def doc_path(self) -> str:
        """The document's path for people: relative to what was ingested; for records stored before that was
        kept, the file name alone (never a server's absolute path)."""
        if self.rel_path:
            return self.rel_path
        path = self.source.split("#", 1)[0]
        return PurePosixPath(path).name if PurePosixPath(path).is_absolute() else path

    def where(self) -> str:
        return source_label(self.title, self.doc_path, self.section)


class Record(Strict):
    id: str
    question: str
    answers: list[Answer] = Field(default_factory=list)
    kind: Literal["open", "choice", "passage"] = "open"
    options: dict[str, str] = Field(default_factory=dict)
    correct: str | None = None
    topics: list[str] = Field(default_factory=list)
    key_points: list[str] = Field(default_factory=list)


class Chunk(Strict):
    id: str
    record_id: str
    text: str
    role: Literal["question", "answer", "passage"]


class Hit(Strict):
    id: str
    question: str
    answer: str
    source: str
    score: float


class SkippedFile(Strict):
    path: str
    reason: str


class IngestSummary(Strict):
    files: int = 0
    unchanged: int = 0
    records: int = 0
    choice: int = 0
    unanswered: int = 0
    added: int = Field(0, description="records new to the store in this run")
    found: int = Field(0, description="questions found in the files read in this run")
    found_unanswered: int = Field(0, description="of those, questions without an answer")
    skipped_non_questions: int = Field(0, description="headings/lines in those files not made records (see dry run)")
    navigation_skipped: list[str] = Field(default_factory=list, description="README/SUMMARY pages without questions")
    duplicates_merged: int = 0
    plain_docs: list[str] = Field(default_factory=list)
    chunks_embedded: int = 0
    chunks_removed: int = 0
    skipped: list[SkippedFile] = Field(default_factory=list)
