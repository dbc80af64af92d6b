"""Lookup commands: `search` and `ask`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from bot.cli.common import JsonOpt, StoreOpt, context, emit, out, say
from bot.texts import CLI_HELP
from ingest.errors import InputError


def register(app: typer.Typer) -> None:
    app.command(short_help=CLI_HELP["search"])(search)
    app.command(short_help=CLI_HELP["ask"])(ask)


def search(
    query: Optional[str] = typer.Argument(None, help="what to look up"),
    input: Optional[Path] = typer.Option(None, "--input", help="file with one query per line"),
    k: int = typer.Option(5, "--k", min=1, max=100, help="number of records to return"),
    as_json: bool = JsonOpt,
    store: Optional[Path] = StoreOpt,
) -> None:
    """Hybrid (BM25 + vector) search over the bank; returns records.

    Example: mianshi search "BN层有什么用" --k 3 --json
    """
    queries = _queries(query, input)
    retriever = context(store).retriever
    for q in queries:
        hits = [c.hit() for c in retriever.search(q, k=k)]
        if as_json:
            emit({"query": q, "hits": [h.model_dump() for h in hits]})
            continue
        # Text() cells: bank text may contain "[/b]" or other Rich markup.
        table = Table(title=Text(q), show_lines=False)
        for col in ("#", "score", "question", "answer", "source"):
            table.add_column(col, overflow="fold")
        for i, h in enumerate(hits, 1):
            table.add_row(str(i), f"{h.score:.4f}", Text(h.question), Text(h.answer[:120]), Text(h.source))
        out.print(table)


def _queries(query: Optional[str], input: Optional[Path]) -> list[str]:
    if input is not None:
        if not input.exists():
            raise InputError(f"找不到文件 no such file: {input}")
        qs = [ln.strip() for ln in input.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
        if not qs:
            raise InputError(f"{input} has no queries — put one query per line")
        return qs
    if not query or not query.strip():
        raise InputError("请输入查询 give a QUERY or --input FILE")
    return [query]


def ask(
    query: str = typer.Argument(..., help="a question, e.g. BN层有什么用"),
    as_json: bool = JsonOpt,
    store: Optional[Path] = StoreOpt,
) -> None:
    """Answer from the bank with cited sources, or say the bank does not cover it.

    Example: mianshi ask "转置卷积是什么" --json
    """
    from bot.lookup import ask as do_ask, load_calibration

    if not query.strip():
        raise InputError("请输入问题 give a question to look up")
    ctx = context(store)
    result = do_ask(ctx.retriever, query, load_calibration(ctx.embedder.name))
    if as_json:
        emit(result.model_dump())
        return
    say(result.answer)
    for s in result.sources:
        say(f"  来源 source: {s.source}  ({s.id})")
