"""Cue lexicons: direction words, antonyms and negators the clause alignment uses to tell a claim that says
the opposite of the reference from one that agrees with it."""

from __future__ import annotations

import re
from functools import lru_cache

_FIX = "解决|缓解|防止|避免|减少|减小|降低|抑制|克服|减轻|消除|solves?|prevents?|reduces?|avoids?|mitigates?|fix(?:es)?"
_CAUSE = "导致|造成|引起|加剧|引发|增加|增大|带来|会出现|causes?|leads? to|increases?|introduces?"
# Direction words in two families; a clause and the key point it matches best should not point opposite ways
# ("加快收敛" vs "减慢收敛", "prevents overfitting" vs "causes overfitting"). A negation just before flips it.
_DIRECTION = {
    "effect": (_FIX, _CAUSE),
    "change": ("增大|增加|提高|提升|加快|加速|变大|变多|更大|更多|更快|更高|扩大|升高|上升|放大|"
               "increases?|raises?|faster|larger|higher|more|speeds? up|enlarges?|grows?",
               "减小|减少|降低|下降|减慢|变慢|变小|变少|更小|更少|更慢|更低|缩小|衰减|"
               "decreases?|lowers?|reduces?|slower|smaller|fewer|less|slows? down|shrinks?"),
}
_DIR_RE = {fam: re.compile(rf"(?P<neg>不会|不能|无法|没有|并不|不|cannot|can't|does not|doesn't|won't|not)?\s*"
                           rf"(?:(?P<pos>{pos})|(?P<neg_dir>{neg}))", re.I)
           for fam, (pos, neg) in _DIRECTION.items()}


def directions(text: str) -> dict[str, set[int]]:
    """Family → signs of the direction words in ``text`` (+1 fix/increase, −1 cause/decrease)."""
    out: dict[str, set[int]] = {}
    for fam, rx in _DIR_RE.items():
        for m in rx.finditer(text):
            sign = 1 if m.group("pos") else -1
            out.setdefault(fam, set()).add(-sign if m.group("neg") else sign)
    return out


@lru_cache(maxsize=8192)
def directions_cached(text: str) -> dict[str, set[int]]:
    return directions(text)


def opposed(a: dict[str, set[int]], b: dict[str, set[int]]) -> bool:
    """Some family where one side points only one way and the other only the opposite way."""
    return any(len(a[f]) == 1 and len(b.get(f, ())) == 1 and a[f] != b[f] for f in a)


# Antonym pairs: a clause that says one side where its key point says the other contradicts it. Multi-character
# forms only: a bare 大/小 or 前/后 occurs inside too many unrelated words (大小, 最大池化, 前向传播).
ANTONYMS: tuple[tuple[str, str], ...] = (
    ("训练阶段|训练时|训练过程中|训练中|training time|during training|at training", "测试阶段|测试时|推理时|推断时|预测时|"
     "inference|test time|at test|during testing"),
    ("非线性|nonlinear|non-linear", "线性(?!代数)|linear"),
    ("更大|变大|越大|较大|增大|larger|bigger|greater", "更小|变小|越小|较小|减小|smaller|lower"),
    ("更多|变多|越多|较多|more", "更少|变少|越少|较少|fewer|less"),
    ("更快|加快|加速|faster|speeds? up", "更慢|减慢|变慢|slower|slows? down"),
    ("更高|提高|升高|higher", "更低|降低|lower"),
    ("局部", "全局"), ("local", "global"),
    ("稀疏|sparse", "稠密|密集|dense"),
    ("有监督|监督学习|supervised", "无监督|unsupervised"),
    ("保留|保持|keeps?|preserves?|retains?", "丢失|丢掉|丢弃|损失了|loses?|discards?"),
    ("可学习|学习得到|学出来|学到的|learned|learnable", "人为设定|人工设定|预先设定|提前设定|手动设定|固定的|hand-?crafted|fixed"),
    ("相同|一样|同一|same", "不同|不一样|different"),
    ("深层|更深|deeper", "浅层|更浅|shallower"),
    ("之前|以前|before", "之后|以后|after"),
    ("上升|增长|rises?", "下降|衰减|falls?|drops?"),
    ("串行|sequential", "并行|parallel"),
    ("必须|需要|requires?|needs?", "不需要|无需|不必|doesn'?t need|no need"),
    ("正则化效果|regulari[sz]ing", "过拟合更严重"),
)
_ANT_RE = [(re.compile(a, re.I), re.compile(b, re.I)) for a, b in ANTONYMS]

# A negator right before a term; 不仅/不断/不同/无论/非常 and friends are not negations.
NEGATOR = re.compile(r"(?<![并])(?:不(?!仅|但|断|同|少|久|过|论|一样|止|管)|没有|没|无(?!论|监督)|非(?!常|线性)|未|并非|"
                     r"\bnot\b|\bno\b|\bnever\b|\bwithout\b|n't\b|\bcannot\b)", re.I)
NEGATION_SPAN = 3  # characters before a term in which a negator negates it


def _sides(text: str) -> list[tuple[bool, bool]]:
    """Per antonym pair: (says side a, says side b), with the longer side taking its match first."""
    out = []
    for ra, rb in _ANT_RE:
        a_spans = [m.span() for m in ra.finditer(text)]
        b_spans = [m.span() for m in rb.finditer(text)]
        # "非线性" contains "线性": a match inside a longer match of the other side does not count.
        b_spans = [s for s in b_spans if not any(x[0] <= s[0] and s[1] <= x[1] and x != s for x in a_spans)]
        a_spans = [s for s in a_spans if not any(x[0] <= s[0] and s[1] <= x[1] and x != s for x in b_spans)]
        out.append((bool(a_spans), bool(b_spans)))
    return out


@lru_cache(maxsize=8192)
def antonym_sides(text: str) -> tuple[tuple[bool, bool], ...]:
    return tuple(_sides(text.lower()))


def antonym_clash(a: str, b: str) -> bool:
    """One text says only one side of an antonym pair, the other only the other side."""
    for (a1, a2), (b1, b2) in zip(antonym_sides(a), antonym_sides(b)):
        if (a1 and not a2 and b2 and not b1) or (a2 and not a1 and b1 and not b2):
            return True
    return False


def negated(text: str, term: str) -> bool | None:
    """Whether ``term`` occurs in ``text`` right after a negator, every time it occurs (None: it does not occur,
    or occurs both ways — the text says both, no clear polarity)."""
    low, t = text.lower(), term.lower()
    seen = set()
    start = low.find(t)
    while start >= 0:
        window = low[max(0, start - NEGATION_SPAN) : start + len(t)]  # the term itself lets 不同/不仅 be told apart
        m = [x for x in NEGATOR.finditer(window) if x.start() < len(window) - len(t)]
        seen.add(bool(m))
        start = low.find(t, start + 1)
    return next(iter(seen)) if len(seen) == 1 else None


# "否则叠多少层都还是线性的" argues for 非线性 by its opposite: a clause about what happens otherwise says the
# other side of an antonym pair on purpose.
_COUNTERFACTUAL = re.compile(r"不然|否则|要不然|如果没有|若没有|如果不|若不|没有它|不加(?!思索)|不用的话|otherwise"
                             r"|without (?:it|them|this)|if (?:we|you) (?:don't|do not)", re.I)


def counterfactual(text: str) -> bool:
    return bool(_COUNTERFACTUAL.search(text))


_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")


def numbers(text: str) -> set[str]:
    return set(_NUMBER.findall(text))
