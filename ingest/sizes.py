"""File sizes as users read them: decimal megabytes, one unit everywhere (CLI, app, messages)."""

from __future__ import annotations

MB = 1_000_000


def mb_to_bytes(mb: float) -> int:
    return int(round(mb * MB))


def format_mb(n_bytes: float) -> str:
    """``20_000_000`` → ``"20 MB"``; three decimals below 1 MB so a small limit never prints as "0 MB"."""
    digits = 3 if n_bytes < MB else 1
    return f"{n_bytes / MB:.{digits}f}".rstrip("0").rstrip(".") + " MB"
