"""The `mianshi` command line. It parses, calls the library's public names, formats, and turns errors into
messages; nothing else lives here."""

from bot.cli.app import build_app, main

__all__ = ["build_app", "main"]
