"""Batch grading of a JSONL file of answers: read leniently, grade each line, keep the user's own fields.

Each line is a JSON object with ``question`` and ``answer`` (plus optional ``reference``, ``id``, ``kind``,
``correct``). Any other field (a student id, a name) passes through to the output line unchanged; only a
missing or invalid ``question``/``answer`` makes a line malformed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.errors import BadInputLine
from ingest.errors import InputError
from ingest.read import decode_text, read_file
from bot.grading.contrast import ContrastSet
from bot.grading.grader import Grader, grade_with_bank
from bot.grading.schema import Grade


class BatchLine(BaseModel):
    """One input line. A user file: unknown fields are allowed and kept."""

    model_config = ConfigDict(extra="allow")

    question: str
    answer: str
    reference: str | list[str] | None = None
    id: str | int | float | None = None  # passes through as written; ids of references when given
    kind: str | None = Field(None, pattern="^(open|choice)$")
    correct: str | None = None

    @field_validator("question")
    @classmethod
    def _nonempty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("question is empty")
        return v

    def references(self) -> list[str]:
        if self.reference is None:
            return []
        refs = [self.reference] if isinstance(self.reference, str) else self.reference
        return [r for r in refs if r.strip()]

    def needs_bank(self) -> bool:
        return not self.references() and self.kind != "choice"


@dataclass
class BatchItem:
    lineno: int
    line: BatchLine
    raw: dict  # the object as the user wrote it, field order kept


def parse_line(lineno: int, text: str) -> BatchItem:
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise BadInputLine(lineno, f"not valid JSON ({exc.msg}) — each line must be a JSON object with "
                                   f"\"question\" and \"answer\"") from None
    if not isinstance(raw, dict):
        raise BadInputLine(lineno, "not a JSON object — each line must be an object with \"question\" and \"answer\"")
    try:
        return BatchItem(lineno, BatchLine.model_validate(raw), raw)
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(x) for x in e.get("loc", ()))
        detail = f"{where}: {e['msg']}" if where else e["msg"]
        raise BadInputLine(lineno, f"{detail} — each line must be a JSON object with \"question\" and \"answer\"") from None


def read_batch(lines: list[str]) -> tuple[list[BatchItem], list[BadInputLine]]:
    """The well-formed lines, and an error for each malformed one (blank lines are ignored)."""
    items, errors = [], []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            items.append(parse_line(n, line))
        except BadInputLine as exc:
            errors.append(exc)
    return items, errors


def read_batch_file(path: Path, max_bytes: int) -> tuple[list[BatchItem], list[BadInputLine]]:
    """``read_batch`` over a file in any encoding users save (UTF-8 with or without a BOM, GBK/GB18030, Big5,
    UTF-16); ``InputError`` when it is missing, a folder, too large or not text."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder — give a JSONL file with --input")
    if not path.exists():
        raise InputError(f"找不到文件 no such file: {path} — give a JSONL file with --input")
    data = read_file(path, max_bytes)
    if not data.strip():
        return [], []
    return read_batch(decode_text(path, data).splitlines())


def output_row(item: BatchItem, g: Grade) -> dict:
    return {**item.raw, "score": g.score, "feedback": g.feedback, "key_points_hit": g.key_points_hit,
            "key_points_missed": g.key_points_missed, "reference_ids": g.reference_ids}


def batch_contrast(grader: Grader, items: list[BatchItem], store=None) -> ContrastSet | None:
    """The other questions' references in this batch, plus the bank's answers when there is a bank: an answer
    should sit closer to its own question's references than to those."""
    pairs = [(it.line.question, r) for it in items if it.line.kind != "choice" for r in it.line.references()]
    batch = ContrastSet.from_pairs(grader.cache, grader.tokenizer, pairs, grader.chunking) if pairs else None
    bank = ContrastSet.from_store(store, grader.cache, grader.chunking) if store is not None else None
    return ContrastSet.merge(bank, batch)


def grade_batch(grader: Grader, items: list[BatchItem], retriever=None,
                progress: Callable[[str, int, int], None] | None = None) -> Iterator[dict]:
    """Grade every item (against its own references, else the bank through ``retriever``); yields output rows."""
    if hasattr(grader, "set_contrast"):  # the baseline grader compares with nothing
        contrast = batch_contrast(grader, items, retriever.store if retriever is not None else None)
        if contrast is not None:
            grader.set_contrast(contrast)
    for i, it in enumerate(items, 1):
        ln = it.line
        refs = ln.references()
        if refs or ln.kind == "choice" or retriever is None:
            g = grader.grade(ln.question, ln.answer, refs, kind=ln.kind or "open", correct=ln.correct,
                             reference_ids=[str(ln.id)] * len(refs) if ln.id is not None else ())
        else:
            g = grade_with_bank(grader, retriever, ln.question, ln.answer)
        yield output_row(it, g)
        if progress:
            progress("grade", i, len(items))
