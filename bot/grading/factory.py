"""Graders by name: ``model`` (the fitted offline grader, default) and ``overlap`` (a deterministic baseline)."""

from __future__ import annotations

from ingest.errors import UnknownBackendError


def grader_names() -> list[str]:
    return ["model", "overlap"]


def make_grader(embedder, tokenizer, name: str = "model", *, contrast=None):
    """Build a grader. ``contrast``: a store, ContrastSet or (question, reference) pairs (``model`` only)."""
    key = (name or "model").strip().lower()
    if key == "model":
        from bot.grading.grader import Grader

        return Grader(embedder, tokenizer, contrast=contrast)
    if key == "overlap":
        from bot.grading.overlap import OverlapGrader

        return OverlapGrader(tokenizer)
    raise UnknownBackendError("grader", name, grader_names())
