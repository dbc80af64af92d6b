"""Accounts for a shared server (`mianshi serve --auth FILE`): scrypt-hashed passwords in a JSON file.

Without ``--auth`` the app runs as on a personal machine: a name box, no passwords. With it, Gradio asks
for a login, the user *is* who logged in (history and exports are theirs alone) and only admins may change
the bank. The file holds no plain passwords; ``mianshi users add`` writes it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from ingest.errors import InputError
from ingest.schema import Strict

# scrypt cost: ~50 ms and 16 MB per check on one core — slow for a guesser, fine for a login.
_N, _R, _P = 2**14, 8, 1


class AuthFileError(InputError):
    """The accounts file is missing or malformed."""


class Account(Strict):
    name: str = Field(min_length=1, max_length=40)
    role: Literal["admin", "user"] = "user"
    password: str = Field(description="scrypt$N$r$p$salt$hash (base64)")


class Accounts(Strict):
    users: list[Account] = Field(default_factory=list)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${_N}${_R}${_P}${b64(salt)}${b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


class UserFile:
    """The accounts of one server, read from and written to ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.accounts = self._load()

    def _load(self) -> Accounts:
        if not self.path.exists():
            return Accounts()
        try:
            return Accounts.model_validate(json.loads(self.path.read_text(encoding="utf-8")))
        except (OSError, ValueError, ValidationError) as exc:
            raise AuthFileError(f"账户文件无法读取 cannot read the accounts file {self.path} ({type(exc).__name__}) — "
                                f"recreate it with `mianshi users add NAME --file {self.path}`") from None

    def require_users(self) -> "UserFile":
        if not self.accounts.users:
            raise AuthFileError(f"账户文件中没有用户 no accounts in {self.path} — add one with "
                                f"`mianshi users add NAME --admin --file {self.path}`")
        return self

    def _find(self, name: str) -> Account | None:
        return next((a for a in self.accounts.users if a.name == name), None)

    def names(self) -> list[tuple[str, str]]:
        return [(a.name, a.role) for a in self.accounts.users]

    def add(self, name: str, password: str, *, admin: bool = False) -> None:
        name = (name or "").strip()
        if not name or len(name) > 40 or any(not c.isprintable() for c in name):
            raise InputError("用户名无效 invalid user name — use 1–40 printable characters")
        if len(password) < 8:
            raise InputError("密码太短 password too short — use at least 8 characters")
        account = Account(name=name, role="admin" if admin else "user", password=hash_password(password))
        self.accounts.users = [a for a in self.accounts.users if a.name != name] + [account]
        self._save()

    def remove(self, name: str) -> None:
        if self._find(name) is None:
            raise InputError(f"没有这个用户 no user '{name}' in {self.path} — `mianshi users list` shows them")
        self.accounts.users = [a for a in self.accounts.users if a.name != name]
        self._save()

    def authenticate(self, name: str, password: str) -> bool:
        account = self._find((name or "").strip())
        if account is None:
            verify_password(password or "", hash_password("timing"))  # same cost for unknown names
            return False
        return verify_password(password or "", account.password)

    def is_admin(self, name: str | None) -> bool:
        account = self._find(name or "")
        return account is not None and account.role == "admin"

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(self.accounts.model_dump_json(indent=2) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
