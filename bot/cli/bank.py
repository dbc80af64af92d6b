"""Bank commands: `ingest`, `export`, `sources`, `remove`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from bot.cli.common import Bars, JsonOpt, StoreOpt, context, emit, note, out, printable
from bot.texts import CLI_HELP


def register(app: typer.Typer) -> None:
    for fn in (ingest, export, sources, remove):
        app.command(short_help=CLI_HELP[fn.__name__])(fn)


def ingest(
    paths: Optional[list[Path]] = typer.Argument(None, help="files or directories (.md .txt .html .pdf .docx; folders recursively); default corpus/raw"),
    store: Optional[Path] = StoreOpt,
    rebuild: bool = typer.Option(False, "--rebuild", help="build a fresh store and swap it in when done"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print what would be extracted (JSON lines), store nothing"),
    as_json: bool = JsonOpt,
) -> None:
    """Build or update the question bank from documents (.md .txt .html .pdf .docx, folders recursively).

    --dry-run prints one JSON line per question found or item skipped (question, answer preview, section
    path, reason) and stores nothing.

    Example: mianshi ingest corpus/raw my_notes.md --store .mianshi
    """
    from ingest.build import build_bank

    ctx = context(store, job="ingest")
    if dry_run:
        from ingest.dryrun import dry_run as preview

        for item in preview(paths or [Path("corpus/raw")], ctx.settings):
            emit(item.model_dump())
        return
    with Bars() as bars:
        summary = build_bank(paths or [Path("corpus/raw")], ctx.store_dir, ctx.embedder, ctx.tokenizer,
                             ctx.settings, rebuild=rebuild, progress=bars)
    if as_json:
        emit(summary.model_dump())
    else:
        note(
            f"导入完成 done: {summary.files} files ({summary.unchanged} unchanged), {summary.added} records added "
            f"({summary.found} questions found, {summary.found_unanswered} unanswered), "
            f"{summary.skipped_non_questions} skipped as non-questions, {summary.duplicates_merged} duplicates merged; "
            f"bank: {summary.records} records, {summary.choice} choice, {summary.unanswered} unanswered; "
            f"{summary.chunks_embedded} chunks embedded, {summary.chunks_removed} removed"
        )
        for p in summary.navigation_skipped:
            note(f"  注意 note: {printable(p)} is a navigation page with no questions — skipped")
        for p in summary.plain_docs:
            note(f"  注意 note: no Q&A recognised in {printable(p)} — stored as plain text for lookup")
        for sk in summary.skipped:
            note(f"  跳过 skipped {printable(sk.path)}: {sk.reason}")
    if summary.files == 0:
        raise typer.Exit(2)


def export(
    store: Optional[Path] = StoreOpt,
    passages: bool = typer.Option(False, "--passages", help="also export plain-text documents (kind 'passage')"),
) -> None:
    """Print every record as one JSON object per line.

    Example: mianshi export > bank.jsonl
    """
    from ingest.store import Store

    st = Store(context(store).store_dir)
    for rec in st.iter_records(include_passages=passages):
        emit(rec.model_dump(exclude={"key_points"}))


def sources(store: Optional[Path] = StoreOpt, as_json: bool = JsonOpt) -> None:
    """List ingested documents with their record counts.

    Example: mianshi sources --json
    """
    from ingest.store import Store

    rows = Store(context(store).store_dir).sources()
    if as_json:
        for r in rows:
            emit(r)
        return
    table = Table()
    for col in ("source", "records", "questions", "ingested"):
        table.add_column(col, overflow="fold")
    for r in rows:
        # Text(), not str: a path may contain "[/b]", which Rich would parse as markup.
        table.add_row(Text(printable(r["path"])), str(r["records"]),
                      str(r["questions"]) if not r["plain"] else "plain text", r["ingested_at"])
    out.print(table)


def remove(source: str = typer.Argument(..., help="a source as listed by `mianshi sources`"),
           store: Optional[Path] = StoreOpt) -> None:
    """Remove one source document from the bank.

    Example: mianshi remove corpus/raw/notes.md
    """
    from ingest.build import remove_source

    ctx = context(store)
    n = remove_source(ctx.store, ctx.tokenizer, ctx.settings, source)
    note(f"已删除 removed {printable(source)} ({n} records touched)")
