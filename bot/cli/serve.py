"""`serve`: the web app."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bot.cli.common import StoreOpt, context, note


def register(app: typer.Typer) -> None:
    app.command()(serve)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="interface to listen on"),
    port: int = typer.Option(7860, "--port", help="TCP port"),
    store: Optional[Path] = StoreOpt,
) -> None:
    """Start the web app.

    Example: mianshi serve --port 7860
    """
    from bot.web import launch

    note(f"面试 Mianshi: http://{host}:{port}  (Ctrl+C 停止 to stop)")
    launch(context(store), host=host, port=port)
