"""Graders by name: ``model`` (the fitted offline grader, default) and ``overlap`` (a deterministic baseline)."""

from __future__ import annotations

from ingest.errors import UnknownBackendError


def grader_names() -> list[str]:
    return ["model", "overlap"]


def make_grader(embedder, tokenizer, name: str = "model", *, contrast=None, chunking: tuple[int, int] | None = None):
    """Build a grader. ``contrast``: a store, ContrastSet or (question, reference) pairs; ``chunking``: the
    store's (chunk_chars, chunk_overlap) settings (``model`` only)."""
    key = (name or "model").strip().lower()
    if key == "model":
        from bot.grading.grader import Grader

        return Grader(embedder, tokenizer, contrast=contrast, chunking=chunking)
    if key == "overlap":
        from bot.grading.overlap import OverlapGrader

        return OverlapGrader(tokenizer)
    raise UnknownBackendError("grader", name, grader_names())
