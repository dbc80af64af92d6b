"""What an interview writes to history: its session, each graded turn once, its end.

History is a convenience: a failed write never blocks an interview, it shows as an error message and the
unsaved turns are retried on the next step.
"""

from __future__ import annotations

from bot.interview.history import AnswerRecord, History
from bot.interview.state import Interview, Message, error_text


class Journal:
    """Writes interviews to ``history``; with None, an engine keeps no history and every call is a no-op."""

    def __init__(self, history: History | None) -> None:
        self.history = history

    def start(self, iv: Interview) -> None:
        if self.history is None:
            return
        try:
            self.history.start_session(iv.id, iv.config.user, iv.config.model_dump())
        except Exception as exc:
            self._failed(iv, exc)

    def flush(self, iv: Interview) -> None:
        """Save every unsaved turn; ids make retries safe, and a failure is retried on the next step."""
        if self.history is None:
            return
        for t in iv.turns:
            if t.saved:
                continue
            try:
                self.history.save_answer(AnswerRecord.of(t, session_id=iv.id, user=iv.config.user))
                t.saved = True
            except Exception as exc:
                self._failed(iv, exc)
                return

    def end(self, iv: Interview) -> None:
        if self.history is None:
            return
        try:
            self.history.end_session(iv.id)
        except Exception:  # the summary is already shown; a missing end time is harmless
            pass

    @staticmethod
    def _failed(iv: Interview, exc: Exception) -> None:
        iv.messages.append(Message(role="assistant", kind="error", text=iv.t("save_error", err=error_text(exc))))
