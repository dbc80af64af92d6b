"""The app's named exceptions, beside the bank's (``ingest.errors``). Every message says how to fix it."""

from __future__ import annotations

from ingest.errors import InputError, MianshiError


class BadInputLine(InputError):
    """One line of a JSONL input is malformed."""

    def __init__(self, lineno: int, reason: str) -> None:
        super().__init__(f"line {lineno}: {reason}")
        self.lineno = lineno


class LLMError(MianshiError):
    """An LLM backend is misconfigured or unreachable at start-up (per-call failures fall back offline)."""
