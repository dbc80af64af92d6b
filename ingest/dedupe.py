"""Decide when two question texts are the same question.

Two questions are merged when their canonical keys are equal, or when the
character-bigram Jaccard similarity of the keys is at least ``THRESHOLD`` and
they name the same numbers and Latin terms (so "L1正则" never merges with "L2正则").
The canonical key drops numbering, punctuation, polite filler that pages add
("请你简要介绍一下", "什么是") and unifies spellings (1*1/1×1 → 1x1). Both
rules are deliberately conservative: merging two different questions loses a
question; missing a merge only costs a near-duplicate in the interview pool.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

THRESHOLD = 0.72

_FILLER = re.compile(
    r"(请你|请|简要|简单|详细|介绍一下|解释一下|说明一下|说一下|谈一下|讲一下|一下|什么是|是什么|是怎样的|"
    r"有什么|有哪些|的作用是什么|为什么|在深度学习中|深度学习中|深度学习当中|深度学习里|一般|通常|"
    r"please|briefly|explain|describe|what is|what are|the|an?\b)",
    re.I,
)
_SPELLING = [
    (re.compile(r"(\d)\s*[*×xX]\s*(\d)"), r"\1x\2"),
    (re.compile(r"卷积核"), "卷积"),
    (re.compile(r"fine[\s-]?tuning", re.I), "finetuning"),
    (re.compile(r"batch\s*normalization", re.I), "bn"),
    (re.compile(r"批归一化|批量归一化|批标准化"), "bn"),
]
_NON_WORD = re.compile(r"[\W_]+")


def canonical_key(question: str) -> str:
    text = unicodedata.normalize("NFKC", question).lower()
    for pattern, repl in _SPELLING:
        text = pattern.sub(repl, text)
    text = _FILLER.sub("", text)
    text = re.sub(r"\(.*?\)", "", text)  # parenthetical glosses: "finetuning (微调)"
    text = _NON_WORD.sub("", text).replace("的", "")
    return text or _NON_WORD.sub("", question.lower())


def record_id(question: str) -> str:
    return hashlib.sha1(canonical_key(question).encode()).hexdigest()[:16]


_ASCII_RUN = re.compile(r"[a-z0-9]+")


def signature(key: str) -> tuple[str, ...]:
    """Numbers and Latin terms of a key: "L1" vs "L2" or "第3层" vs "第4层" are different questions."""
    return tuple(_ASCII_RUN.findall(key))


def bigrams(key: str) -> set[str]:
    return {key[i : i + 2] for i in range(len(key) - 1)} or {key}


def similarity(a: str, b: str) -> float:
    ga, gb = bigrams(a), bigrams(b)
    return len(ga & gb) / len(ga | gb)


class KeyIndex:
    """In-memory index of existing record keys; finds the record a new question should merge into."""

    def __init__(self, items: list[tuple[str, str]] | None = None) -> None:
        self.by_key: dict[str, str] = {}
        self.postings: dict[str, set[str]] = {}
        self.keys: dict[str, str] = {}
        # Only keys with the same numbers and Latin terms may merge: grouping by that signature keeps
        # lookups cheap in big banks where common bigrams ("的关", digits) appear in most keys.
        self.by_sig: dict[tuple[str, ...], set[str]] = {}
        for rid, key in items or []:
            self.add(rid, key)

    def add(self, rid: str, key: str) -> None:
        self.by_key.setdefault(key, rid)
        self.keys[rid] = key
        self.by_sig.setdefault(signature(key), set()).add(rid)
        for g in bigrams(key):
            self.postings.setdefault(g, set()).add(rid)

    def remove(self, rid: str) -> None:
        key = self.keys.pop(rid, None)
        if key is None:
            return
        if self.by_key.get(key) == rid:
            del self.by_key[key]
        self.by_sig.get(signature(key), set()).discard(rid)
        for g in bigrams(key):
            self.postings.get(g, set()).discard(rid)

    def find(self, key: str) -> str | None:
        if key in self.by_key:
            return self.by_key[key]
        group = self.by_sig.get(signature(key), set())
        if not group:
            return None
        grams = sorted(bigrams(key), key=lambda g: len(self.postings.get(g, ())))
        # Any record with Jaccard ≥ THRESHOLD shares most bigrams, so it must appear in the
        # postings of the few rarest ones: checking those bounds the work on big banks.
        need = max(1, len(grams) - int(THRESHOLD * len(grams)) + 1)
        candidates: set[str] = set()
        for g in grams[:need]:
            candidates |= self.postings.get(g, set()) & group if len(group) < 64 else self.postings.get(g, set())
        best, best_sim = None, THRESHOLD
        n = len(grams)
        for rid in candidates if len(candidates) <= len(group) else group:
            other = self.keys[rid]
            # Jaccard ≥ t needs |B| ≥ t·|A|, and a key of length L has at most L - 1 distinct bigrams.
            if len(other) - 1 < THRESHOLD * n or rid not in group:
                continue
            sim = similarity(key, other)
            if sim >= best_sim:
                best, best_sim = rid, sim
        return best
