"""Guards that need no model: empty, don't-know, the question restated, a term pile, padding.

Manipulation (text addressed to the grader) is ``bot.grading.manipulation``.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from bot.grading.text import CJK, normalize, text_units
from bot.lang import is_english

# One clause that only says "I don't know / skip / next one" (fillers allowed around it).
_DONT_KNOW_CLAUSE = re.compile(
    r"^(?:我|这个|这题|这道题|真的|也|实在|暂时|抱歉|sorry|um+|hmm+|well|,|\s)*"
    r"(?:(?:不太|不怎么|不是很|没太|没怎么)(?:知道|清楚|了解|懂|会|熟悉)|不知道|不清楚|不会|不了解|不懂|不确定|"
    r"没(?:有)?(?:学|听|接触|用|见|看|研究|复习|准备)过|没(?:准备|复习|注意过?)|忘了|想不起来|记不清|说不上来|答不上来|"
    r"跳过|略|过|换一题|下一题|"
    r"pass|skip|next|no idea|(?:i\s*)?(?:don'?t|do not) know|dont know|not sure|idk|i have no idea|n/?a|无|"
    r"(?:i\s*)?(?:can'?t|cannot) remember|"
    r"(?:i\s*)?(?:haven'?t|have not|never) (?:learned|studied|covered|used|seen|heard of|looked at)(?: [\w-]+){0,4}(?: yet)?)"
    r"(?:了|呢|啊|吧|诶|哈|哦|呀|please|sorry|\s)*$", re.I)
_DONT_KNOW_UNITS = 30  # longer answers say something besides "I don't know"

_STATEMENT = re.compile(r"[是的了会能用让使把被对从在有为将要]|因为|所以|可以|就是|如果|通过|\b(?:is|are|was|be|can|will|"
                        r"does|do|has|have|make|makes|use|uses|because|so|by|when|if|lets?|gives?)\b", re.I)
# A question that asks for a list ("有哪些", "三个优点", "what are the methods"): a bare enumeration answers it.
_ASKS_LIST = re.compile(r"哪些|哪几|几种|几个|几类|[一二两三四五六七八九十\d]+(?:个|种|类|点|条|大)|列举|方法|方式|手段|技巧|优点|缺点|"
                        r"优缺点|优势|作用|原因|类型|种类|策略|trick|\b(?:what are|list|name|which|methods?|ways?|types?|"
                        r"advantages?|reasons?|kinds?)\b", re.I)

# "How do you X" is answered by a list of methods too, when the answer is written as one ("L2、Dropout、BN").
_ASKS_HOW = re.compile(r"如何|怎么|怎样|防止|避免|解决|缓解|\bhow (?:to|do|can|would)\b", re.I)
# Marks of a compact statement rather than a pile of terms: a definition or condition ("池化：…", "太小：…；太大：…"),
# a formula (=, ∩, ‖g‖, p(y|x)), an order or a choice ("先 warmup，再 …", "A 和 B").
_STRUCTURE = re.compile(r"[：:；;=≈→←⇒∩∪‖<>≤≥^（(]|和|或|与|及|先.+再")


def looks_like_dont_know(answer: str) -> bool:
    text = answer.strip()
    if not text or text_units(text) > _DONT_KNOW_UNITS:
        return False
    parts = [p for p in re.split(r"[,，。.!！?？;；、…~～\n]+", text) if p.strip()]
    return any(_DONT_KNOW_CLAUSE.match(p.strip()) for p in parts)


def term_pieces(answer: str) -> list[str]:
    # English terms contain spaces ("early stopping"): split English text at commas only.
    sep = r"[,，、;；/|]+" if is_english(answer) else r"[\s,，、;；/|]+"
    return [p for p in re.split(sep, answer.strip(" 。.!！")) if p.strip()]


def is_term_list(answer: str, tokens: list[str]) -> bool:
    """Three or more bare terms separated by spaces/commas, with no word or mark that makes a statement."""
    if _STRUCTURE.search(answer):
        return False
    pieces = term_pieces(answer)
    if len(pieces) < 3 or len(tokens) < 3:
        return False
    if any(len(p) > 8 and not p.isascii() for p in pieces):
        return False
    if is_english(answer):
        return not _STATEMENT.search(answer) and all(len(p.split()) <= 2 for p in pieces)
    return not _STATEMENT.search(answer) or all(len(p) <= 6 for p in pieces) and not re.search(r"[。.!?！？]", answer)


def asks_for_list(question: str) -> bool:
    return bool(_ASKS_LIST.search(question))


def is_keyword_pile(question: str, answer: str, tokens: list[str], point_share: float) -> bool:
    """A term list that does not answer the question: the question asks for no list (nor asks how, with the terms
    written as an enumeration), or the terms name fewer than half of the key points (``point_share``: the share of
    key points one of whose own terms is named)."""
    if not is_term_list(answer, tokens):
        return False
    asks = asks_for_list(question) or bool(re.search(r"[、，,]", answer) and _ASKS_HOW.search(question))
    return not asks or point_share < 0.5


def is_one_word(answer: str) -> bool:
    text = answer.strip(" 。.!！?？")
    if re.search(r"[\s,，、;；]", text):
        return False
    return len(text) <= 4 if CJK.search(text) else len(text) <= 20


def copy_ratio(question: str, answer: str) -> float:
    """Character similarity of the answer to the question, ignoring punctuation and filler particles."""
    def strip(s: str) -> str:
        return re.sub(r"[\W_]|到底|究竟|呢|吗|啊|请问|一下", "", normalize(s).lower())

    q, a = strip(question), strip(answer)
    if not q or not a:
        return 0.0
    return SequenceMatcher(None, q, a, autojunk=False).ratio()


def restates_question(question: str, answer: str, tokens: list[str], question_tokens: set[str]) -> bool:
    """The answer is the question again: near-identical characters, or nothing but the question's own terms
    ("为什么X高效？因为X是高效的")."""
    if copy_ratio(question, answer) >= 0.75 and len(answer) <= 1.6 * len(question) + 4:
        return True
    own = [t for t in tokens if t not in question_tokens]
    return len(tokens) >= 3 and len(set(own)) <= 1 and len(answer) <= 2.5 * len(question) + 10


def repetition(tokens: list[str]) -> float:
    """1 − unique/total over content tokens and over bigrams, whichever is worse."""
    if len(tokens) < 12:
        return 0.0
    uni = 1 - len(set(tokens)) / len(tokens)
    bigrams = list(zip(tokens, tokens[1:]))
    bi = 1 - len(set(bigrams)) / len(bigrams)
    return max(uni, bi)
