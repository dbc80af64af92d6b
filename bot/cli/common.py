"""What every command module shares: the error-handling group, the consoles, options and progress bars.

stdout carries only results (JSON in --json modes and export); progress, notes and errors go to stderr so
output pipes cleanly into jq. Text from users or documents is printed with markup off.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from typer.core import TyperGroup

from ingest.errors import MianshiError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

StoreOpt = typer.Option(None, "--store", help="store directory (default: $MIANSHI_HOME or ./.mianshi)")
JsonOpt = typer.Option(False, "--json", help="print JSON only on stdout")


class ErrorGroup(TyperGroup):
    """Turns library errors into one-line messages and exit codes, for every command and sub-command.

    ``--debug`` (or MIANSHI_DEBUG=1) lets the original exception through, traceback and all.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader of stdout went away (`mianshi export | head`): stop quietly, like other Unix tools.
            _silence_stdout()
            raise typer.Exit(0) from None
        except Exception as exc:
            # Exit/usage exceptions (typer ships its own click) carry exit codes and help: let them through.
            if type(exc).__module__.startswith(("typer", "click")) or _debug(ctx):
                raise
            if isinstance(exc, MianshiError):
                typer.echo(f"错误 error: {exc}", err=True)
                raise typer.Exit(exc.exit_code) from None
            typer.echo(f"内部错误 internal error: {type(exc).__name__}: {exc} — rerun with --debug to see the "
                       f"traceback, and please report it", err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            typer.echo("已中断 interrupted", err=True)
            raise typer.Exit(130) from None


def _silence_stdout() -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _debug(ctx) -> bool:
    if ctx.meta.get("mianshi.debug"):
        return True
    from bot.settings import Settings

    try:
        return Settings().debug
    except Exception:  # a broken environment must not hide the error being reported
        return False


def sub_app(help: str) -> typer.Typer:
    """A command group with the same error handling as the top level."""
    return typer.Typer(cls=ErrorGroup, help=help, no_args_is_help=True, rich_markup_mode=None)


def context(store: Optional[Path], *, job: str = "query"):
    from bot.context import build_context

    return build_context(store, job=job)


def printable(text: str) -> str:
    """File names may hold newlines or escapes: show them escaped so each message stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def emit(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def row(*fields: str) -> None:
    """One tab-separated line on stdout, untouched by Rich (for `cut` and `awk`)."""
    sys.stdout.write("\t".join(printable(f) for f in fields) + "\n")


def note(text: str) -> None:
    """One line on stderr, printed as plain text (file names and document text may contain [markup])."""
    err.print(text, markup=False, highlight=False)


def say(text: str) -> None:
    """A result on stdout, printed as plain text."""
    out.print(text, markup=False, highlight=False)


class Bars:
    """Draws the library's progress callbacks as rich bars on stderr."""

    LABELS = {"read": "读取解析 reading", "embed": "向量化 embedding", "states": "读取题目 reading questions", "grade": "评分 grading"}

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
