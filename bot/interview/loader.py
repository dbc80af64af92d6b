"""The grader an engine shares between sessions: given, or loaded once on the first answer."""

from __future__ import annotations

import threading
from typing import Callable, Protocol

from bot.grading.schema import Grade


class Grader(Protocol):
    def grade(self, question: str, answer: str, references: list[str], *, kind: str = "open",
              correct: str | None = None, reference_ids=(), key_points: list[str] | None = None,
              cap: float | None = None) -> Grade: ...


class GraderLoader:
    """Holds a grader, or a factory that loads one on first use (the web app's cold start stays free of the
    grading model), and serialises grading."""

    def __init__(self, grader: Grader | None = None, factory: Callable[[], Grader] | None = None) -> None:
        if grader is None and factory is None:
            raise ValueError("InterviewEngine needs a grader or a grader_factory")
        self._grader = grader
        self._factory = factory
        self._load_lock = threading.Lock()
        # The grader's embedding caches are not thread-safe, and grading is CPU-bound anyway: one at a time.
        self._grade_lock = threading.Lock()

    @property
    def grader(self) -> Grader:
        if self._grader is None:
            with self._load_lock:  # two sessions answering at once must not load the model twice
                if self._grader is None:
                    self._grader = self._factory()
        return self._grader

    def grade(self, question: str, answer: str, references: list[str], **kw) -> Grade:
        with self._grade_lock:
            return self.grader.grade(question, answer, references, **kw)
