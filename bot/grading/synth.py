"""Synthetic labelled answers from any bank, labels by construction (the rubric's):

- another question's reference as the answer (a same-topic neighbour when the bank has one) → 0
- the question restated → 0
- one key statement reversed (an antonym or direction word swapped, a negation added or removed) with the
  other points kept → 1
- only the first key point (of ≥ 4: 2, else 3) → 2–3
- one key point dropped (of ≥ 3) → 4
- every key point, reordered and rejoined → 5
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from bot.grading.cues import ANTONYMS
from bot.grading.points import reference_points

# Replacements that reverse a statement: antonym pairs both ways (first spelling of each side), plus
# negation added to / removed from a verb.
_SWAPS: list[tuple[re.Pattern, str]] = []
for _a, _b in ANTONYMS:
    _SWAPS.append((re.compile(_a.split("|")[0]), _b.split("|")[0]))
    _SWAPS.append((re.compile(_b.split("|")[0]), _a.split("|")[0]))
_SWAPS += [(re.compile(a), b) for a, b in (
    ("解决", "导致"), ("导致", "解决了"), ("缓解", "加剧"), ("防止", "造成"), ("避免", "引起"), ("减少", "增加"),
    ("增加", "减少"), ("降低", "提高"), ("提高", "降低"), ("加快", "减慢"), ("可以", "不能"), ("能够", "无法"),
    ("不会", "会"), ("不能", "可以"), ("不需要", "需要"), ("没有", "有"), ("是", "不是"), ("有", "没有"),
    ("\\bis\\b", "is not"), ("\\bcan\\b", "cannot"), ("\\breduces\\b", "increases"), ("\\bincreases\\b", "reduces"))]
_JOIN = ["；", "。", "，", "；另外，", "。其次，", "; "]


@dataclass
class SynthRow:
    question: str
    reference: str
    answer: str
    label: int
    kind: str
    group: str  # the bank question the row belongs to (grouped CV)


def reverse(statement: str, rng: random.Random) -> str | None:
    """The statement with one reversal applied, or None when no cue to reverse is found."""
    hits = [(rx, rep) for rx, rep in _SWAPS if rx.search(statement)]
    if not hits:
        return None
    rx, rep = rng.choice(hits)
    return rx.sub(rep, statement, count=1)


def generate(records: list[tuple[str, str, list[str], list[str]]], seed: int = 0,
             per_kind: int = 3) -> list[SynthRow]:
    """``records``: (question, reference, key points or [], topics) of a bank's open questions."""
    rng = random.Random(seed)
    out: list[SynthRow] = []
    recs = [(q, r, reference_points(r, kp or None), set(t)) for q, r, kp, t in records if q.strip() and r.strip()]
    for i, (q, ref, pts, topics) in enumerate(recs):
        add = lambda a, l, k: out.append(SynthRow(q, ref, a, l, k, q))  # noqa: E731
        others = [j for j in range(len(recs)) if j != i]
        near = [j for j in others if recs[j][3] & topics] or others
        for j in rng.sample(near, min(per_kind, len(near))) + rng.sample(others, min(1, len(others))):
            add(recs[j][1][:300], 0, "neighbour")
        add(q, 0, "restated")
        add(f"{q.rstrip('?？')}就是{q.rstrip('?？')}。", 0, "restated")
        if len(pts) >= 1:
            for _ in range(per_kind):
                k = rng.randrange(len(pts))
                flipped = reverse(pts[k], rng)
                if flipped and flipped != pts[k]:
                    kept = [p for n, p in enumerate(pts) if n != k][: rng.choice([0, 1, 2])]
                    add(rng.choice(_JOIN).join([flipped, *kept]), 1, "negated")
        if len(pts) >= 2:
            add(pts[0], 2 if len(pts) >= 4 else 3, "partial")
            add(rng.choice(_JOIN).join(pts[:2]), 3 if len(pts) >= 4 else 4, "partial")
        if len(pts) >= 3:
            for _ in range(min(per_kind, len(pts))):
                k = rng.randrange(len(pts))
                add(rng.choice(_JOIN).join(p for n, p in enumerate(pts) if n != k), 4, "dropped")
        for _ in range(per_kind):
            order = pts[:] if len(pts) < 2 else rng.sample(pts, len(pts))
            add(rng.choice(_JOIN).join(order), 5, "complete")
    return out
