"""The `mianshi` Typer app: global options, and one module per command group registering its commands."""

from __future__ import annotations

import os
from typing import Optional

import typer

from bot.cli import bank, evals, grade, llm, lookup, records, serve, users
from bot.cli.common import ErrorGroup


def _global(
    ctx: typer.Context,
    chroma_url: Optional[str] = typer.Option(
        None, "--chroma-url", help="use a Chroma server (e.g. http://127.0.0.1:8000) instead of the embedded store"
    ),
    llm_name: Optional[str] = typer.Option(
        None, "--llm", help="LLM backend: none (default) | openai | ollama | local; see MIANSHI_LLM_* settings"
    ),
    debug: bool = typer.Option(False, "--debug", help="show the full traceback of an error (or MIANSHI_DEBUG=1)"),
) -> None:
    """面试 Mianshi — practice deep-learning interviews from a question bank built from your documents."""
    ctx.meta["mianshi.debug"] = debug
    # Settings is the only reader of the environment: hand the options over through it.
    if chroma_url:
        os.environ["MIANSHI_CHROMA_URL"] = chroma_url
    if llm_name:
        os.environ["MIANSHI_LLM"] = llm_name


def build_app() -> typer.Typer:
    app = typer.Typer(
        cls=ErrorGroup,
        help="面试 Mianshi — 用你自己的资料建题库，练习深度学习面试。\n\n"
             "Practice deep-learning interviews from a question bank built from your documents.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        rich_markup_mode=None,
    )
    app.callback()(_global)
    for module in (bank, records, lookup, grade, serve, users, evals, llm):
        module.register(app)
    return app


def main() -> None:
    build_app()(prog_name="mianshi")
