"""Sentence-aware, overlapping chunks for retrieval (Chinese and English)."""

from __future__ import annotations

import re

# Split after Chinese sentence enders, semicolons and newlines, and after English
# sentence enders followed by a space (so "3.5" and "e.g." inside a word stay whole).
_SENT_END = re.compile(r"(?<=[。！？；!?;\n])|(?<=\.)\s+")


def split_sentences(text: str) -> list[str]:
    parts = [p.strip() for p in _SENT_END.split(text)]
    return [p for p in parts if p]


def chunk_text(text: str, size: int = 240, overlap: int = 60) -> list[str]:
    """Pack whole sentences into chunks of about ``size`` characters.

    Consecutive chunks share their last sentences up to ``overlap`` characters,
    so an idea that straddles a boundary is still found whole in one chunk.
    A sentence longer than ``size`` is cut into windows of ``size`` with the same overlap.
    """
    text = text.strip()
    if not text:
        return []
    if len(text) <= size:
        return [text]
    sentences: list[str] = []
    for s in split_sentences(text):
        if len(s) <= size:
            sentences.append(s)
        else:
            step = max(size - overlap, 1)
            sentences.extend(s[i : i + size] for i in range(0, len(s) - overlap, step))
    chunks: list[str] = []
    current: list[str] = []
    length = 0
    for s in sentences:
        if current and length + len(s) > size:
            chunks.append(" ".join(current))
            # Carry the tail sentences into the next chunk as overlap.
            carry: list[str] = []
            carried = 0
            for prev in reversed(current):
                if carried + len(prev) > overlap:
                    break
                carry.insert(0, prev)
                carried += len(prev)
            current, length = carry, carried
        current.append(s)
        length += len(s)
    if current:
        tail = " ".join(current)
        if not chunks or tail not in chunks[-1]:
            chunks.append(tail)
    return chunks
