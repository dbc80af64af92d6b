"""`record show|edit|delete|flag|unflag` and `record flags`: fix single records of the bank by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bot.cli.common import JsonOpt, StoreOpt, context, emit, note, row, sub_app
from bot.texts import CLI_HELP
from ingest.errors import InputError


def register(app: typer.Typer) -> None:
    rec = sub_app("Show, edit, delete or flag single records; edits and deletions survive re-ingest.\n\n"
                  "Example: mianshi record edit 00225bbd510ce6f2 --answer \"…\"")
    for name, fn in (("show", show), ("edit", edit), ("delete", delete), ("flag", flag), ("unflag", unflag),
                     ("flags", flags)):
        rec.command(name, short_help=CLI_HELP[f"record {name}"])(fn)
    app.add_typer(rec, name="record", short_help=CLI_HELP["record"])


RecordId = typer.Argument(..., help="record id, as printed by `mianshi export` or `mianshi search --json`")


def show(record_id: str = RecordId, store: Optional[Path] = StoreOpt) -> None:
    """Print one record as JSON.

    Example: mianshi record show 00225bbd510ce6f2
    """
    from ingest.editing import get_record

    emit(get_record(context(store).store, record_id).model_dump())


def edit(
    record_id: str = RecordId,
    question: Optional[str] = typer.Option(None, "--question", help="new question text (default: keep)"),
    answer: Optional[str] = typer.Option(None, "--answer", help="new answer text (default: keep)"),
    store: Optional[Path] = StoreOpt,
) -> None:
    """Replace a record's question and/or answer; the original is kept with the edit.

    Example: mianshi record edit 00225bbd510ce6f2 --question "什么是损失函数？"
    """
    from ingest.editing import edit_record, get_record

    if question is None and answer is None:
        raise InputError("没有要修改的内容 nothing to change — give --question TEXT and/or --answer TEXT")
    ctx = context(store)
    rec = get_record(ctx.store, record_id)
    current = "\n\n".join(a.text for a in rec.answers)
    new = edit_record(ctx.store, ctx.tokenizer, ctx.settings, record_id,
                      rec.question if question is None else question, current if answer is None else answer)
    note(f"已修改 edited {record_id}: {new.question}")


def delete(record_id: str = RecordId, store: Optional[Path] = StoreOpt,
           yes: bool = typer.Option(False, "--yes", help="do not ask for confirmation")) -> None:
    """Delete one record (its document stays; re-ingest does not bring the record back).

    Example: mianshi record delete 00225bbd510ce6f2 --yes
    """
    from ingest.editing import delete_record, get_record

    ctx = context(store)
    rec = get_record(ctx.store, record_id)
    if not yes and not typer.confirm(f"删除 delete「{rec.question}」?", err=True):
        raise typer.Exit(1)
    delete_record(ctx.store, ctx.tokenizer, ctx.settings, record_id)
    note(f"已删除 deleted {record_id}")


def flag(record_id: str = RecordId, reason: str = typer.Option("", "--reason", help="what is wrong with it"),
         store: Optional[Path] = StoreOpt) -> None:
    """Report a problem: the record is left out of interviews until it is unflagged.

    Example: mianshi record flag 00225bbd510ce6f2 --reason "答案不完整"
    """
    from ingest.editing import flag_record

    flag_record(context(store).store, record_id, reason)
    note(f"已标记 flagged {record_id}")


def unflag(record_id: str = RecordId, store: Optional[Path] = StoreOpt) -> None:
    """Mark a flagged record as reviewed: interviews ask it again.

    Example: mianshi record unflag 00225bbd510ce6f2
    """
    from ingest.editing import unflag_record

    if not unflag_record(context(store).store, record_id):
        note(f"注意 note: {record_id} was not flagged")
        return
    note(f"已取消标记 unflagged {record_id}")


def flags(store: Optional[Path] = StoreOpt, as_json: bool = JsonOpt) -> None:
    """List flagged records.

    Example: mianshi record flags --json
    """
    flagged = context(store).store.flags()
    if not flagged and not as_json:
        note("没有被标记的题目 no flagged records")
    for f in flagged:
        if as_json:
            emit(f.model_dump())
        else:
            row(f.record_id, f.question, f.reason, f.flagged_by, f.flagged_at)
