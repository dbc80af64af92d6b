"""``InterviewEngine``: the one object callers hold, a facade over the interview's parts.

- ``state``: the pydantic state models, ``planner``: which questions, ``steps``: the state transitions,
  ``loader``: the shared grader, ``lifecycle`` and ``voice``: the LLM roles, ``journal``: history writes.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable, Iterator

from bot.interview.history import History
from bot.interview.journal import Journal
from bot.interview.lifecycle import RolesLifecycle, Status
from bot.interview.loader import Grader, GraderLoader
from bot.interview.planner import QuestionPlanner
from bot.interview.state import Interview, InterviewConfig, Kinds, Summary
from bot.interview.steps import InterviewSteps, summarize
from ingest.schema import Record
from ingest.store import Store

if TYPE_CHECKING:  # the offline path never imports the LLM layer
    from bot.llm.roles import LLMRoles


class InterviewEngine:
    """Runs interviews over a store.

    Pass ``grader_factory`` instead of ``grader`` to load the grading model on the first answer, which keeps
    the web app's cold start free of it. Likewise ``roles`` (LLM wording; None = offline) or ``roles_factory``,
    which may start a local model server: it runs once, on first use or from ``warm_roles()``.
    """

    def __init__(self, store: Store, grader: Grader | None = None, history: History | None = None, *,
                 grader_factory: Callable[[], Grader] | None = None, roles: LLMRoles | None = None,
                 roles_factory: Callable[[], LLMRoles] | None = None) -> None:
        self.store = store
        self.history = history
        self._grader = GraderLoader(grader, grader_factory)
        self._llm = RolesLifecycle(roles, roles_factory)
        self.planner = QuestionPlanner(store, history)
        self.journal = Journal(history)
        self._steps = InterviewSteps(self.planner, self._grader, self._llm, self.journal)

    @property
    def grader(self) -> Grader:
        return self._grader.grader

    # --- LLM roles ----------------------------------------------------------------------
    @property
    def roles(self) -> LLMRoles | None:
        return self._llm.roles

    @property
    def roles_error(self) -> str | None:
        return self._llm.error

    def roles_status(self) -> tuple[Status, str]:
        return self._llm.status()

    def active_roles(self) -> tuple[LLMRoles | None, str | None]:
        return self._llm.active()

    def warm_roles(self) -> threading.Thread | None:
        return self._llm.warm()

    # --- setup --------------------------------------------------------------------------
    def pool(self, kinds: Kinds = "mixed", topics: list[str] | None = None) -> list[Record]:
        return self.planner.pool(kinds, topics)

    def plan(self, config: InterviewConfig) -> list[Record]:
        return self.planner.plan(config)

    def start(self, config: InterviewConfig) -> Interview:
        return self._steps.start(config)

    # --- steps --------------------------------------------------------------------------
    def submit(self, iv: Interview, answer: str | list[str]) -> Interview:
        """Grade the answer to the current question or follow-up."""
        steps = self._steps.submit(iv, answer, stream=False)
        while True:  # not streaming: the generator never yields, it only returns the new state
            try:
                next(steps)
            except StopIteration as stop:
                return stop.value

    def submit_stream(self, iv: Interview, answer: str | list[str]) -> Iterator[tuple[bool, Interview]]:
        """``submit``, with the LLM's feedback streamed: yields ``(False, partial)`` while the reply grows (the
        chat so far plus a grade bubble with the text streamed so far; show it, do not keep it), then one
        ``(True, final)``: exactly what ``submit`` returns for the same replies (the validated text, or the
        grader's own feedback with a notice, replaces what was streamed)."""
        steps = self._steps.submit(iv, answer, stream=True)
        while True:
            try:
                partial = next(steps)
            except StopIteration as stop:
                yield True, stop.value
                return
            yield False, partial

    def skip(self, iv: Interview) -> Interview:
        return self._steps.skip(iv)

    def hint(self, iv: Interview) -> Interview:
        return self._steps.hint(iv)

    def end(self, iv: Interview) -> Interview:
        return self._steps.end(iv)

    def summary(self, iv: Interview) -> Summary:
        return summarize(iv)
