"""`serve`: the web app."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bot.cli.common import StoreOpt, context, note
from bot.texts import CLI_HELP


def register(app: typer.Typer) -> None:
    app.command(short_help=CLI_HELP["serve"])(serve)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="interface to listen on"),
    port: int = typer.Option(7860, "--port", help="TCP port"),
    store: Optional[Path] = StoreOpt,
    auth: Optional[Path] = typer.Option(
        None, "--auth", help="accounts file (mianshi users add): a shared server with logins, private history and "
                             "admin-only bank changes (default: $MIANSHI_AUTH; none = a personal machine)"),
) -> None:
    """Start the web app.

    Example: mianshi serve --port 7860 --auth users.json
    """
    from bot.web import launch
    from bot.web.auth import UserFile

    ctx = context(store)
    auth = auth or ctx.settings.auth
    # A broken or empty accounts file stops here, before anything listens: never an open server by mistake.
    users = UserFile(auth).require_users() if auth is not None else None
    mode = "  登录模式 login required" if users is not None else ""
    _require_free(host, port)
    note(f"面试 Mianshi: http://{host}:{port}{mode}  (Ctrl+C 停止 to stop)")
    launch(ctx, host=host, port=port, users=users)


def _require_free(host: str, port: int) -> None:
    """Fail before the URL is printed: Gradio would report a busy port only as an OSError, after it."""
    import socket

    from bot.errors import PortInUseError

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a closing socket is no obstacle
        try:
            s.bind((host, port))
        except OSError:
            raise PortInUseError(host, port) from None
