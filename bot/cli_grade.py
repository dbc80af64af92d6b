"""`mianshi grade` and `mianshi eval grade` (placeholder until the grading engine lands)."""

from __future__ import annotations


def register(app, eval_app) -> None:
    pass
