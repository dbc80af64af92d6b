"""Our own JSON-lines files (eval sets): one strict pydantic model per line, errors that name file and line."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from bot.errors import BadInputLine
from ingest.errors import InputError

M = TypeVar("M", bound=BaseModel)


def read_models(path: Path, model: type[M], *, missing: str) -> list[M]:
    """Every non-blank line of ``path`` as ``model``; ``missing`` is the message when the file is absent."""
    if not path.is_file():
        raise InputError(missing)
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(model.model_validate_json(line))
            except ValueError as exc:
                raise BadInputLine(n, f"{path.name}: {str(exc).splitlines()[0]}") from None
    return rows
