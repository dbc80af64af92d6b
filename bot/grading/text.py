"""Text helpers the grader shares: normalisation, clauses, length units, character bigrams."""

from __future__ import annotations

import re
import unicodedata

from ingest.chunk import split_sentences

MAX_CLAUSES = 8

CJK = re.compile(r"[\u4e00-\u9fff]")
_CLAUSE_SPLIT = re.compile(r"(?<=[,，、;；:：])|\s+[—–-]+\s+|(?<=\))\s")


def text_units(text: str) -> float:
    """Length in comparable units: an English word carries about as much as 1.7 Chinese characters."""
    return len(CJK.findall(text)) + 1.7 * len(re.findall(r"[A-Za-z]+|\d+", text))


# Markup carries no content in an interview answer, but its tokens ("script", "src", "window") pull the
# embedding towards code-like references: drop script/style blocks and tags before any feature is computed.
_MARKUP_BLOCK = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_TAG = re.compile(r"</?[A-Za-z][^<>]{0,300}>")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return _TAG.sub(" ", _MARKUP_BLOCK.sub(" ", text)).strip()


def clauses(text: str, cap: int = MAX_CLAUSES) -> list[str]:
    """Sentences split at clause punctuation, adjacent short ones merged, at most ``cap``."""
    parts: list[str] = []
    for sent in split_sentences(text):
        for p in _CLAUSE_SPLIT.split(sent):
            p = p.strip(" ,，、;；:：。")
            if p:
                parts.append(p)
    merged: list[str] = []
    for p in parts:
        # A 2–4 character fragment ("参数少") embeds poorly alone: glue it to its neighbour.
        if merged and (len(p) < 6 or len(merged[-1]) < 6):
            merged[-1] = f"{merged[-1]}，{p}"
        else:
            merged.append(p)
    while len(merged) > cap:  # merge the shortest adjacent pair until within the cap
        i = min(range(len(merged) - 1), key=lambda j: len(merged[j]) + len(merged[j + 1]))
        merged[i : i + 2] = [f"{merged[i]}，{merged[i + 1]}"]
    return merged


def bigrams(text: str) -> set[str]:
    t = re.sub(r"[^\w]|_", "", normalize(text).lower())
    return {t[i : i + 2] for i in range(len(t) - 1)}


def bigram_recall(question: str, reference: str, answer: str) -> float:
    target = bigrams(reference) - bigrams(question)
    return len(target & bigrams(answer)) / len(target) if target else 0.0
