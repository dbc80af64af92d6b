"""`users add|remove|list`: accounts for a shared server (`mianshi serve --auth FILE`)."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.cli.common import note, row, sub_app
from bot.texts import CLI_HELP

FileOpt = typer.Option(..., "--file", help="the accounts file (JSON; hashed passwords only)")


def register(app: typer.Typer) -> None:
    users = sub_app("Accounts for `mianshi serve --auth FILE`: each user sees only their own history; admins "
                    "may change the bank.\n\nExample: mianshi users add alice --admin --file users.json")
    for name, fn in (("add", add), ("remove", remove), ("list", list_users)):
        users.command(name, short_help=CLI_HELP[f"users {name}"])(fn)
    app.add_typer(users, name="users", short_help=CLI_HELP["users"])


def add(name: str = typer.Argument(..., help="user name (what they type to log in)"), file: Path = FileOpt,
        admin: bool = typer.Option(False, "--admin", help="may upload, edit and delete bank content"),
        password: str = typer.Option(None, prompt=True, hide_input=True, confirmation_prompt=True,
                                     help="at least 8 characters (asked for when not given)")) -> None:
    """Add a user or set a new password.

    Example: mianshi users add alice --admin --file users.json
    """
    from bot.web.auth import UserFile

    UserFile(file).add(name, password, admin=admin)
    note(f"已保存 saved {name} ({'admin' if admin else 'user'}) → {file}")


def remove(name: str = typer.Argument(..., help="user name"), file: Path = FileOpt) -> None:
    """Remove a user (their history stays in the store).

    Example: mianshi users remove alice --file users.json
    """
    from bot.web.auth import UserFile

    UserFile(file).remove(name)
    note(f"已删除 removed {name}")


def list_users(file: Path = FileOpt) -> None:
    """List users and their roles.

    Example: mianshi users list --file users.json
    """
    from bot.web.auth import UserFile

    for name, role in UserFile(file).names():
        row(name, role)
