"""Swapped roles: an answer that says of A what the reference says of B, and of B what it says of A.

"BN 按 channel 分组，GN 在 batch 维度上归一化" uses every word of "BN 在 batch 维度上归一化，GN 按 channel 分组",
so overlap, cosines and the pair head all call it right. What tells them apart is which term each statement is
attached to. For a pair of contrastable terms (a pivot pair) that both texts name, each text's clauses are cut
at the pivots and every piece is given to the pivot that owns it; the reference's pieces then say which words
belong to a and which to b, and the answer's pieces either keep that attachment or cross it.

Pivots are terms worth contrasting: named methods from the glossary and names with a digit (BN, GN, L1, L2,
ResNet-50), and minimal pairs whose one differing character is an opposite (太低/太高, 低层/高层, 难分/易分,
交集/并集). Generic terms (学习率, 梯度) are not pivots: two of them in one answer are not two roles to swap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import combinations

from ingest.chunk import split_sentences

# Distinguishing words attached to the other pivot must outnumber those attached to their own (plus one) this
# many times. On the 1,572 hand rows a margin of one word more also called 7 answers labelled 4–5 (a right
# answer that reorders "3×3 … 5×5" or "低层 … 高层"); this ratio called 7, all labelled 1. sealed6, after its run,
# showed a right answer capped through 输入/输出 (a relation in one reference clause) — hence ``_related`` and the
# negated clauses: on the 1,941 hand rows with sealed6, 6 calls, all labelled 1.
SWAP_RATIO = 2
MAX_PIVOTS = 8  # candidate pivots per pair of texts (rarest first): at most 28 pairs are compared
_CLAUSE = re.compile(r"[,，、:：]|\s[—–-]+\s")
# A clause that negates says what a term is not ("GN 不在 batch 维度上…"): its words are not attached to the term.
_NEGATES = re.compile(r"不(?!仅|但|断|同|少|久|过|论|一样|止|管)|没有|没|并非|无法|\bnot\b|n't\b|\bnever\b|\bno\b", re.I)


@dataclass(frozen=True)
class Swap:
    a: str
    b: str
    clause: str  # the answer clause that holds most of the crossed words
    words: frozenset[str]  # the crossed words (stemmed): which key points the swap concerns


# Characters that make opposite words when one replaces the other in an otherwise equal word.
_OPPOSITE_CHARS = ("高低", "大小", "多少", "快慢", "长短", "深浅", "上下", "前后", "正负", "难易", "交并", "左右",
                   "内外", "强弱", "增减", "升降", "早晚", "粗细", "宽窄", "密疏", "稠稀", "新旧", "首尾", "入出",
                   "编解", "过欠", "真假", "阳阴", "显隐", "硬软", "开关", "有无", "同异", "静动", "串并")
_OPPOSITE: dict[str, set[str]] = {}
for _x, _y in _OPPOSITE_CHARS:
    _OPPOSITE.setdefault(_x, set()).add(_y)
    _OPPOSITE.setdefault(_y, set()).add(_x)


def stem(tok: str) -> str:
    """English inflections (squares/squared) meet at a five-letter prefix; other words are kept whole."""
    return tok[:5] if tok.isascii() and len(tok) > 5 else tok


def occurs(pivot: str, tok: str) -> bool:
    """Whether token ``tok`` names ``pivot``. jieba glues particles on ("太高时", "太低会"), and the glossary makes
    "L1 regularization" one term ("l1正则化"): a CJK pivot inside a word, or a name leading one, still counts."""
    if tok == pivot:
        return True
    if not pivot.isascii():
        return pivot in tok
    return tok.startswith(pivot) and not tok[len(pivot):len(pivot) + 1].isascii()


def _opposite_pairs(vocab: list[str]) -> set[str]:
    """Two-character pieces of words that turn into each other by an opposite character (太低/太高 inside
    "太低时" and "太高则"), both present."""
    pieces = {w[i:i + 2] for w in vocab if not w.isascii() for i in range(len(w) - 1)}
    out = set()
    for u in pieces:
        for i, ch in enumerate(u):
            for o in _OPPOSITE.get(ch, ()):
                v = u[:i] + o + u[i + 1:]
                if v in pieces:
                    out |= {u, v}
    return out


def pivots(answer: list[list[str]], reference: list[list[str]], terms: frozenset[str]) -> list[str]:
    """Terms both texts name that are worth contrasting, at most MAX_PIVOTS (``terms``: as ``find_swaps``)."""
    a_toks = [t for c in answer for t in c]
    r_toks = [t for c in reference for t in c]

    def both(p: str) -> bool:
        return any(occurs(p, t) for t in a_toks) and any(occurs(p, t) for t in r_toks)

    vocab = sorted(set(a_toks) | set(r_toks))
    named = {t for t in vocab if t.isascii() and (t in terms or any(c.isdigit() for c in t) and any(c.isalpha() for c in t))}
    named |= _opposite_pairs(vocab)
    found = [p for p in named if both(p)]
    # Rare pivots first: a term named once on each side carries one statement each.
    found.sort(key=lambda p: (sum(occurs(p, t) for t in r_toks), p))
    return found[:MAX_PIVOTS]


def _contexts(sentences: Segments, a: str, b: str, drop: set[str]) -> dict[str, set[str]]:
    """Words each pivot owns. In a clause, the first pivot owns what precedes it and each pivot what follows it
    up to the next; a clause naming neither continues the sentence's last pivot ("太低时，训练进展缓慢")."""
    ctx: dict[str, set[str]] = {a: set(), b: set()}
    for sentence in sentences:
        owner = None
        for text, clause in sentence:
            if _NEGATES.search(text):
                owner = None
                continue
            marks = [(i, a if occurs(a, t) else b) for i, t in enumerate(clause) if occurs(a, t) or occurs(b, t)]
            if not marks:
                if owner:
                    ctx[owner] |= {stem(t) for t in clause if t not in drop}
                continue
            for k, (i, p) in enumerate(marks):
                start = 0 if k == 0 else i + 1
                end = marks[k + 1][0] if k + 1 < len(marks) else len(clause)
                ctx[p] |= {stem(t) for j, t in enumerate(clause[start:end], start) if j != i and t not in drop}
            owner = marks[-1][1]
    return ctx


Segments = list[list[tuple[str, list[str]]]]


def segment(text: str, tokens) -> Segments:
    """Sentences → clauses as (text, tokens) (``tokens``: the tokenizer's ``tokens``)."""
    return [[(c.strip(), list(tokens(c))) for c in _CLAUSE.split(s) if c.strip()] for s in split_sentences(text)]


def _related(reference: Segments, a: str, b: str) -> bool:
    """Both opposite words in one clause of the reference ("从输入到输出", "输出只取决于当前输入"): a relation between
    them, not two statements, one of each; which words each "owns" there is arbitrary."""
    return any(any(occurs(a, t) for t in c) and any(occurs(b, t) for t in c) for s in reference for _, c in s)


def find_swaps(answer: Segments, reference: Segments, terms: frozenset[str]) -> list[Swap]:
    """Pivot pairs whose statements the answer attaches the other way round. ``answer``/``reference``: from
    ``segment``; ``terms``: the named methods of the glossary (``bot.grading.align.NAMED``)."""
    out = []
    a_clauses = [c for s in answer for _, c in s]
    r_clauses = [c for s in reference for _, c in s]
    found = pivots(a_clauses, r_clauses, terms)
    # Other named terms are not what a statement says of its pivot ("sigmoid、ReLU、tanh" is a list, not claims).
    drop = {t for c in a_clauses + r_clauses for t in c if any(occurs(p, t) for p in found)}
    for a, b in combinations(found, 2):
        if occurs(a, b) or occurs(b, a):
            continue
        if not (a.isascii() and b.isascii()) and _related(reference, a, b):
            continue
        ref = _contexts(reference, a, b, drop)
        own_a, own_b = ref[a] - ref[b], ref[b] - ref[a]  # what the reference says of one and not the other
        if not own_a or not own_b:
            continue
        ans = _contexts(answer, a, b, drop)
        straight = len(ans[a] & own_a) + len(ans[b] & own_b)
        crossed = len(ans[a] & own_b) + len(ans[b] & own_a)
        # Both directions must cross: an answer that merely mentions b next to a's words is not a swap.
        both_cross = bool(ans[a] & own_b) and bool(ans[b] & own_a)
        if both_cross and crossed >= SWAP_RATIO * (straight + 1):
            words = frozenset((ans[a] & own_b) | (ans[b] & own_a))
            clause = max(((text, toks) for s in answer for text, toks in s), default=("", []),
                         key=lambda c: len(words & {stem(t) for t in c[1]}))[0]
            out.append(Swap(a, b, clause, words))
    return out
