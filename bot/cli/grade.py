"""`grade`: batch grading of a JSONL file of answers."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer

from bot.cli.common import Bars, context, emit, note
from bot.texts import CLI_HELP
from ingest.errors import InputError


def register(app: typer.Typer) -> None:
    app.command("grade", short_help=CLI_HELP["grade"])(grade)


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
    from bot.grading import grade_batch, make_grader, read_batch_file

    if output is not None:
        _check_output(output)
    ctx = context(store)
    items, errors = read_batch_file(input, ctx.settings.max_file_bytes)
    for exc in errors:
        note(f"错误 error: {exc}")
    if not items and not errors:
        note(f"没有要评分的答案 nothing to grade: {input} has no lines")
        return
    has_bank = (ctx.store_dir / "records.sqlite").exists()
    if not has_bank and any(it.line.needs_bank() for it in items):
        raise InputError(
            f"some lines have no \"reference\" and there is no bank at {ctx.store_dir} — "
            f"add a \"reference\" to each line or run `mianshi ingest` (or pass --store DIR)"
        )
    grader = make_grader(ctx.embedder, ctx.tokenizer, ctx.settings.grader,
                         chunking=(ctx.settings.chunk_chars, ctx.settings.chunk_overlap))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
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


def _check_output(output: Path) -> None:
    """Refuse an --output that cannot be written before any grading is done (a missing folder is made)."""
    if output.is_dir():
        raise InputError(f"--output {output} is a folder — give a file path such as {output / 'graded.jsonl'}")
    parent = next((p for p in [output.parent, *output.parent.parents] if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise InputError(f"--output {output}: {parent} is a file, not a folder — choose another path")
    if parent is not None and not os.access(parent, os.W_OK):
        raise InputError(f"--output {output}: no permission to write in {parent} — choose another path")
