"""The LLM roles' lifecycle: built once (on a warm-up thread or on first use), their status for the UI."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable, Literal

from bot.interview.state import error_text

if TYPE_CHECKING:  # the offline path never imports the LLM layer
    from bot.llm.roles import LLMRoles

Status = Literal["offline", "starting", "ready", "failed"]


class RolesLifecycle:
    """``roles`` (LLM wording; None = offline) or ``factory``, which may start a local model server: it runs
    once, on first use or from ``warm()``."""

    def __init__(self, roles: LLMRoles | None = None, factory: Callable[[], LLMRoles] | None = None) -> None:
        self._roles = roles
        self._factory = factory
        self._lock = threading.Lock()
        self.error: str | None = None  # why the LLM backend could not be built; the engine is then offline

    @property
    def configured(self) -> bool:
        """False for an offline engine, which then touches no lock on any step."""
        return self._roles is not None or self._factory is not None or self.error is not None

    @property
    def roles(self) -> LLMRoles | None:
        """The LLM roles, building them on first use (may block while a local model server starts).

        A factory that fails is not retried: every answer would otherwise wait for another failed start.
        The engine stays offline and ``error`` says why.
        """
        if self._roles is None and self._factory is not None:
            with self._lock:
                if self._roles is None and self._factory is not None:
                    try:
                        self._roles = self._factory()
                    except Exception as exc:  # a missing model, a server that did not come up, a bad setting
                        self.error = error_text(exc)
                    finally:
                        self._factory = None
        return self._roles

    def status(self) -> tuple[Status, str]:
        """Where the LLM backend stands, without waiting for it: (state, label or error) for the UI."""
        if self._roles is not None and self._roles.enabled:
            return "ready", self._roles.label
        if self.error:
            return "failed", self.error
        if self._factory is not None:
            return "starting", ""
        return "offline", ""

    def active(self) -> tuple[LLMRoles | None, str | None]:
        """The roles to use for one step, and why there are none (``llm_starting`` / ``llm_failed``) if that is
        worth telling the user. Never waits on a start-up another thread (the warm-up) is running: that step
        just stays offline."""
        if self._roles is None and self._factory is not None and self._lock.locked():
            return None, "llm_starting"
        roles = self.roles
        if roles is not None and roles.enabled:
            return roles, None
        return None, ("llm_failed" if self.error else None)

    def warm(self) -> threading.Thread | None:
        """Build the roles on a daemon thread (the web app calls this at launch so the first page never waits)."""
        if self._factory is None:
            return None
        t = threading.Thread(target=lambda: self.roles, name="mianshi-llm-warmup", daemon=True)
        t.start()
        return t
