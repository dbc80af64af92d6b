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


class PortInUseError(MianshiError):
    """The web app's port is taken."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"端口已被占用 port {port} on {host} is already in use — stop the other server or pick "
                         f"another one with --port N")
        self.port = port
