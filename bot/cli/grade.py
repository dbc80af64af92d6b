"""`grade`: batch grading of a JSONL file of answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from bot.cli.common import Bars, context, emit, note
from ingest.errors import InputError


def register(app: typer.Typer) -> None:
    app.command("grade")(grade)


def grade(
    input: Path = typer.Option(..., "--input", help="JSONL: {\"question\", \"answer\"} plus optional \"reference\""),
    output: Optional[Path] = typer.Option(None, "--output", help="write graded JSONL here (default: stdout)"),
    store: Optional[Path] = typer.Option(None, "--store", help="bank used for lines without a reference"),
) -> None:
    """Grade answers 0–5 against references (or the bank), one JSON object per line.

    Lines without "reference" are matched to the bank by their question. Extra fields on a line (ids,
    names) are copied to its output line. A malformed line is reported on stderr by line number; the
    other lines are still graded and the exit code is 2.

    Example: mianshi grade --input answers.jsonl --output graded.jsonl
    """
    from bot.grading import grade_batch, make_grader, read_batch

    if not input.is_file():
        raise InputError(f"找不到文件 no such file: {input} — give a JSONL file with --input")
    items, errors = read_batch(input.read_text(encoding="utf-8", errors="replace").splitlines())
    for exc in errors:
        note(f"错误 error: {exc}")
    ctx = context(store)
    has_bank = (ctx.store_dir / "records.sqlite").exists()
    if not has_bank and any(it.line.needs_bank() for it in items):
        raise InputError(
            f"some lines have no \"reference\" and there is no bank at {ctx.store_dir} — "
            f"add a \"reference\" to each line or run `mianshi ingest` (or pass --store DIR)"
        )
    grader = make_grader(ctx.embedder, ctx.tokenizer, ctx.settings.grader,
                         chunking=(ctx.settings.chunk_chars, ctx.settings.chunk_overlap))
    sink = output.open("w", encoding="utf-8") if output else None
    try:
        with Bars() as bars:
            for row in grade_batch(grader, items, ctx.retriever if has_bank else None, progress=bars):
                if sink:
                    sink.write(json.dumps(row, ensure_ascii=False) + "\n")
                else:
                    emit(row)
    finally:
        if sink:
            sink.close()
    if output:
        note(f"已评分 graded {len(items)} answers → {output}")
    if errors:
        note(f"错误 error: {len(errors)} malformed line(s) skipped")
        raise typer.Exit(2)
