"""The `mianshi` command line: parses, calls the library, formats, and turns errors into messages.

stdout carries only results (JSON in --json modes and export); progress,
logs and warnings go to stderr so output pipes cleanly into jq.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from ingest.errors import InputError, MianshiError
from typer.core import TyperGroup

class _Group(TyperGroup):
    """Turns library errors into one-line messages and exit codes, for every command and sub-command."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except MianshiError as exc:
            typer.echo(f"错误 error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("已中断 interrupted", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:
            # Exit/usage exceptions (typer ships its own click) carry exit codes and help: let them through.
            if type(exc).__module__.startswith(("typer", "click")):
                raise
            typer.echo(f"内部错误 internal error: {type(exc).__name__}: {exc} — please report it", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_Group,
    help="面试 Mianshi — practice deep-learning interviews from a question bank built from your documents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
@app.callback()
def _global(
    chroma_url: Optional[str] = typer.Option(
        None, "--chroma-url", help="use a Chroma server (e.g. http://127.0.0.1:8000) instead of the embedded store"
    ),
    llm: Optional[str] = typer.Option(
        None, "--llm", help="LLM backend: none (default) | openai | ollama | local; see MIANSHI_LLM_* settings"
    ),
) -> None:
    """面试 Mianshi — practice deep-learning interviews from a question bank built from your documents."""
    if chroma_url:
        # Settings is the only reader of the environment: hand the option over through it.
        os.environ["MIANSHI_CHROMA_URL"] = chroma_url
    if llm:
        os.environ["MIANSHI_LLM"] = llm


eval_app = typer.Typer(cls=_Group, help="Measure lookup and grading quality on the eval sets in evals/.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

StoreOpt = typer.Option(None, "--store", help="store directory (default: $MIANSHI_HOME or ./.mianshi)")
JsonOpt = typer.Option(False, "--json", help="print JSON only on stdout")


def _ctx(store: Optional[Path]):
    from bot.context import build_context

    return build_context(store)


def _printable(text: str) -> str:
    """File names may hold newlines or escapes: show them escaped so each message stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _emit(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


class _Bars:
    """Draws the library's progress callbacks as rich bars on stderr."""

    LABELS = {"read": "读取解析 reading", "embed": "向量化 embedding"}

    def __enter__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=err, transient=False,
        )
        self.progress.__enter__()
        self.tasks: dict[str, int] = {}
        return self

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(self.LABELS.get(stage, stage), total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)

    def __exit__(self, *exc):
        self.progress.__exit__(*exc)


@app.command()
def ingest(
    paths: Optional[list[Path]] = typer.Argument(None, help="files or directories (.txt .md .html); default corpus/raw"),
    store: Optional[Path] = StoreOpt,
    rebuild: bool = typer.Option(False, "--rebuild", help="build a fresh store and swap it in when done"),
    as_json: bool = JsonOpt,
) -> None:
    """Build or update the question bank from documents.

    Example: mianshi ingest corpus/raw my_notes.md --store .mianshi
    """
    import shutil

    from ingest.pipeline import discover, ingest_paths, rebuild_dir, swap_in
    from ingest.store import store_exists

    ctx = _ctx(store)
    paths = paths or [Path("corpus/raw")]
    discover(paths)  # fail on bad paths before anything is opened or created
    target = rebuild_dir(ctx.store_dir) if rebuild else ctx.store_dir
    existed = store_exists(target)
    st = ctx.open_store(create=True, path=target)
    try:
        with _Bars() as bars:
            s = ctx.settings
            summary = ingest_paths(
                paths, st, ctx.tokenizer, max_bytes=int(s.max_file_mb * 1e6),
                chunk_chars=s.chunk_chars, chunk_overlap=s.chunk_overlap, progress=bars,
            )
    finally:
        st.close()
    if summary.files == 0 and not existed:
        shutil.rmtree(target, ignore_errors=True)  # nothing was readable: leave no empty store behind
    elif rebuild:
        swap_in(target, ctx.store_dir)
    if as_json:
        _emit(summary.model_dump())
    else:
        err.print(
            f"导入完成 done: {summary.files} files ({summary.unchanged} unchanged), {summary.records} records, "
            f"{summary.choice} choice, {summary.unanswered} unanswered, {summary.duplicates_merged} duplicates merged, "
            f"{summary.chunks_embedded} chunks embedded, {summary.chunks_removed} removed"
        )
        for p in summary.plain_docs:
            err.print(f"  注意 note: no Q&A recognised in {_printable(p)} — stored as plain text for lookup",
                      markup=False, highlight=False)
        for sk in summary.skipped:
            err.print(f"  跳过 skipped {_printable(sk.path)}: {sk.reason}", markup=False, highlight=False)
    if summary.files == 0:
        raise typer.Exit(2)


@app.command()
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
    ctx = _ctx(store)
    retriever = ctx.retriever
    for q in queries:
        hits = [c.hit() for c in retriever.search(q, k=k)]
        if as_json:
            _emit({"query": q, "hits": [h.model_dump() for h in hits]})
            continue
        table = Table(title=q, show_lines=False)
        for col in ("#", "score", "question", "answer", "source"):
            table.add_column(col, overflow="fold")
        for i, h in enumerate(hits, 1):
            table.add_row(str(i), f"{h.score:.4f}", h.question, h.answer[:120], h.source)
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


@app.command()
def ask(
    query: str = typer.Argument(..., help="a question, e.g. BN层有什么用"),
    as_json: bool = JsonOpt,
    store: Optional[Path] = StoreOpt,
) -> None:
    """Answer from the bank with cited sources, or say the bank does not cover it.

    Example: mianshi ask "转置卷积是什么" --json
    """
    from bot.ask import ask as do_ask, load_calibration

    if not query.strip():
        raise InputError("请输入问题 give a question to look up")
    ctx = _ctx(store)
    result = do_ask(ctx.retriever, query, load_calibration(ctx.embedder.name))
    if as_json:
        _emit(result.model_dump())
        return
    out.print(result.answer, markup=False, highlight=False)
    for s in result.sources:
        out.print(f"  来源 source: {s.source}  ({s.id})", markup=False, highlight=False)


@app.command()
def export(
    store: Optional[Path] = StoreOpt,
    passages: bool = typer.Option(False, "--passages", help="also export plain-text documents (kind 'passage')"),
) -> None:
    """Print every record as one JSON object per line.

    Example: mianshi export > bank.jsonl
    """
    from ingest.store import Store

    st = Store(_ctx(store).store_dir)
    for rec in st.iter_records(include_passages=passages):
        _emit(rec.model_dump(exclude={"key_points"}))


@app.command()
def sources(store: Optional[Path] = StoreOpt, as_json: bool = JsonOpt) -> None:
    """List ingested documents with their record counts.

    Example: mianshi sources --json
    """
    from ingest.store import Store

    rows = Store(_ctx(store).store_dir).sources()
    if as_json:
        for r in rows:
            _emit(r)
        return
    table = Table()
    for col in ("source", "records", "questions", "ingested"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["path"], str(r["records"]), str(r["questions"]) if not r["plain"] else "plain text",
                      r["ingested_at"])
    out.print(table)


@app.command()
def remove(source: str = typer.Argument(..., help="a source as listed by `mianshi sources`"),
           store: Optional[Path] = StoreOpt) -> None:
    """Remove one source document from the bank.

    Example: mianshi remove corpus/raw/notes.md
    """
    from ingest.pipeline import Ingestor, IngestSummary

    ctx = _ctx(store)
    ing = Ingestor(ctx.store, ctx.tokenizer, max_bytes=int(ctx.settings.max_file_mb * 1e6))
    n = ing.remove_source(source)
    ing.sync_vectors(IngestSummary())
    err.print(f"已删除 removed {source} ({n} records touched)")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="interface to listen on"),
    port: int = typer.Option(7860, "--port", help="TCP port"),
    store: Optional[Path] = StoreOpt,
) -> None:
    """Start the web app.

    Example: mianshi serve --port 7860
    """
    from bot.app import launch

    err.print(f"面试 Mianshi: http://{host}:{port}  (Ctrl+C 停止 to stop)", markup=False, highlight=False)
    launch(_ctx(store), host=host, port=port)


@eval_app.command("search")
def eval_search(
    split: str = typer.Option("test", "--split", help="dev | test | all"),
    data: Path = typer.Option(Path("evals/search_dev.jsonl"), "--data", help="lookup eval set (JSONL)"),
    calibrate: bool = typer.Option(False, "--calibrate", help="fit abstention thresholds on the dev split first"),
    as_json: bool = JsonOpt,
    store: Optional[Path] = StoreOpt,
) -> None:
    """Report hit@1, hit@3, MRR and abstain accuracy of lookup.

    Example: mianshi eval search --split test
    """
    from bot import search_eval

    if split not in ("dev", "test", "all"):
        raise InputError(f"unknown split '{split}' — use dev, test or all")
    ctx = _ctx(store)
    rows = search_eval.load_rows(data)
    if calibrate:
        cal = search_eval.calibrate(ctx.retriever, rows, ctx.embedder.name)
        err.print(f"calibrated thresholds written to bot/calibration.json: {cal.model_dump()}")
    report = search_eval.evaluate(ctx.retriever, rows, split, ctx.embedder.name)
    if as_json:
        _emit(report.model_dump())
        return
    out.print(search_eval.format_report(report), markup=False, highlight=False)


def main() -> None:
    app(prog_name="mianshi")


def _register_plugins() -> None:
    # Command groups that live in their own modules register themselves here.
    from bot import cli_grade, cli_llm

    cli_grade.register(app, eval_app)
    cli_llm.register(app)


_register_plugins()
