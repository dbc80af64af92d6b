"""Records that cross module boundaries. Every model forbids unknown fields."""

from __future__ import annotations

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


class ParsedDocument(Strict):
    questions: list[ParsedQuestion]
    plain_text: str = Field("", description="cleaned text, used as plain chunks when no Q&A was found")


class Answer(Strict):
    text: str
    source: str = Field(description="file name and position, e.g. 'corpus/raw/a.txt#3'")


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
    duplicates_merged: int = 0
    plain_docs: list[str] = Field(default_factory=list)
    chunks_embedded: int = 0
    chunks_removed: int = 0
    skipped: list[SkippedFile] = Field(default_factory=list)
