"""Features of one (question, answer, reference) triple, and the guards that cap a score.

Everything here is cheap text work plus one batched e5 call per answer: the
answer's clauses (and the whole answer) are encoded together; key points,
references and questions are encoded once and kept in LRU caches keyed by text.
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher

import numpy as np

from ingest.chunk import split_sentences
from ingest.keypoints import key_points as extract_key_points

MAX_CLAUSES = 8
COVER_SIM = 0.87  # the model's coverage feature: a looser cut scored better in grouped CV on train than HIT_SIM
HIT_SIM = 0.93  # e5 passage–passage cosine above which a key point counts as covered (read off the train split)
HIT_SIM_EN = 0.86  # cross-lingual cosines run ~0.07 lower
HIT_TOKENS = 0.5  # …or this share of the key point's own terms (beyond the question's) appears in the answer

# The order is the model's input order: grader_model.json stores weights by these names.
FEATURE_NAMES: tuple[str, ...] = (
    "kp_mean", "kp_cover", "kp_max", "kp_min", "kp_gain", "ans_ref", "rel_q", "ref_q", "lex_recall",
    "lex_precision", "bigram_recall", "len_ratio", "log_len", "contradiction", "english",
)


@dataclass
class Features:
    kp_mean: float = 0.0        # mean over key points of the best clause cosine
    kp_cover: float = 0.0       # share of key points whose best cosine clears HIT_SIM
    kp_max: float = 0.0
    kp_min: float = 0.0
    kp_gain: float = 0.0        # mean of (best clause cosine − the key point's cosine to the question itself)
    ans_ref: float = 0.0        # whole answer vs whole reference
    rel_q: float = 0.0          # answer vs question (query embedding)
    ref_q: float = 0.0          # reference vs question: how close a *right* answer sits to the question
    lex_recall: float = 0.0     # reference content tokens found in the answer
    lex_precision: float = 0.0  # answer content tokens found in the reference or question
    bigram_recall: float = 0.0  # reference CJK/ASCII character bigrams (not in the question) found in the answer
    len_ratio: float = 0.0      # log2(answer/reference length), clipped to [-3, 2]
    log_len: float = 0.0        # log2 of the answer's length in units
    contradiction: float = 0.0  # count of polarity flips on a term shared with the reference
    english: float = 0.0
    hits: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def vector(self) -> list[float]:
        d = asdict(self)
        return [float(d[n]) for n in FEATURE_NAMES]


# ---------------------------------------------------------------- text helpers

_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
_CLAUSE_SPLIT = re.compile(r"(?<=[,，、;；:：])|\s+[—–-]+\s+|(?<=\))\s")


def is_english(text: str) -> bool:
    """Mostly Latin letters: the answer is written in English (feedback follows it)."""
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    return latin > 0 and cjk * 4 < latin


def feedback_in_english(answer: str) -> bool:
    """Reply in English to an English sentence; a bare "BN" or "pass" is not a choice of language."""
    return is_english(answer) and len(re.findall(r"[A-Za-z]+", answer)) >= 3


def text_units(text: str) -> float:
    """Length in comparable units: an English word carries about as much as 1.7 Chinese characters."""
    return len(_CJK.findall(text)) + 1.7 * len(re.findall(r"[A-Za-z]+|\d+", text))


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


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


# ---------------------------------------------------------------- contradiction cues

_FIX = "解决|缓解|防止|避免|减少|减小|降低|抑制|克服|减轻|消除|solves?|prevents?|reduces?|avoids?|mitigates?|fix(?:es)?"
_CAUSE = "导致|造成|引起|加剧|引发|增加|增大|带来|会出现|causes?|leads? to|increases?|introduces?"
_POLARITY = re.compile(rf"(?P<neg>不会|不能|无法|没有|并不|不|cannot|can't|does not|doesn't|won't|not)?\s*"
                       rf"(?:(?P<fix>{_FIX})|(?P<cause>{_CAUSE}))\s*(?:了)?\s*(?P<obj>[^，,。；;、\s]{{2,12}})", re.I)


def _polar_claims(text: str, tokenizer) -> dict[str, int]:
    """Map object term → +1 (fixed/reduced) or −1 (caused/increased), negation flips the sign."""
    out: dict[str, int] = {}
    for m in _POLARITY.finditer(text):
        sign = 1 if m.group("fix") else -1
        if m.group("neg"):
            sign = -sign
        for tok in tokenizer.tokens(m.group("obj"))[:2]:
            out.setdefault(tok, sign)
    return out


def contradictions(reference: str, answer: str, tokenizer) -> list[str]:
    ref, ans = _polar_claims(reference, tokenizer), _polar_claims(answer, tokenizer)
    return [t for t, s in ans.items() if t in ref and ref[t] != s]


# ---------------------------------------------------------------- guards

_DONT_KNOW = re.compile(
    r"^\W*(?:我?(?:也)?(?:真的)?(?:不知道|不清楚|不会|不了解|不懂|没学过|忘了|想不起来)|跳过|略|pass|skip|"
    r"no idea|(?:i\s*)?don'?t know|(?:i\s*)?do not know|dont know|not sure|idk|i have no idea|n/?a|不确定|无)(?:[\W\s]|了|呢|啊|吧|诶|哈)*$",
    re.I,
)
_INJECTION = re.compile(
    r"忽略(?:之前|以上|前面|上面|所有|全部)?.{0,8}(?:指令|指示|规则|要求|提示|评分标准)|"
    r"(?:给|打|评)(?:我|这个回答|本回答|这个答案|他|它)?(?:打|给|评)?\s*(?:[5５五]\s*分|满分|最高分)|"
    r"(?:输出|直接给|判为?)\s*(?:满分|[5５五]分)|"
    r"(?:评分|打分|评|判|给分)\s*(?:为|成|是)?\s*[5５五]\s*分|系统提示|评分系统|评分模型|阅卷|"
    r"\[\s*system\s*\]|<\s*/?\s*system\s*>|system\s*prompt|^\s*system\s*:|"
    r"ignore\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|earlier)?\s*(?:instructions|rules|rubric|prompts?)|"
    r"as\s+the\s+(?:grader|grading\s+model|judge|evaluator)|"
    r"(?:note|message)\s+to\s+the\s+(?:grader|grading|judge|evaluator)|"
    r"(?:grader|grading\s+model|judge|evaluator)\s*[:,]?\s*(?:must|should|please)|"
    r"(?:give|award|assign|output|rate)\s+(?:this|me|it|the)?\s*(?:answer|candidate|response)?\s*"
    r"(?:a\s+|the\s+)?(?:label\s+|score\s+(?:of\s+)?)?(?:5|five|full\s+marks?|the\s+maximum|top\s+score)|"
    r"(?:score|label|grade|rating|分数|评分|得分)\s*[\"'”]?\s*[:：=]\s*[\"'“]?\s*[5５五](?:\s*/\s*5)?(?!\.\d)",
    re.I,
)
_STATEMENT = re.compile(r"[是的了会能用让使把被对从在有为将要]|因为|所以|可以|就是|如果|通过|\b(?:is|are|was|be|can|will|"
                        r"does|do|has|have|make|makes|use|uses|because|so|by|when|if|lets?|gives?)\b", re.I)


def looks_like_dont_know(answer: str) -> bool:
    return bool(_DONT_KNOW.match(answer.strip()))


def injection_spans(answer: str) -> list[str]:
    return [m.group(0) for m in _INJECTION.finditer(answer)]


def strip_injection(answer: str) -> str:
    """The answer without the sentences that address the grader: graded on its content only."""
    kept = [s for s in split_sentences(answer) if not _INJECTION.search(s)]
    return " ".join(kept) if kept else ""


def is_keyword_pile(answer: str, tokens: list[str]) -> bool:
    """Three or more bare terms separated by spaces/commas, with no word that makes a statement."""
    # English terms contain spaces ("early stopping"): split English text at commas only.
    sep = r"[,，、;；/|]+" if is_english(answer) else r"[\s,，、;；/|]+"
    pieces = [p for p in re.split(sep, answer.strip()) if p.strip()]
    if len(pieces) < 3 or len(tokens) < 3:
        return False
    if any(len(p) > 8 and not p.isascii() for p in pieces):
        return False
    if is_english(answer):
        return not _STATEMENT.search(answer) and all(len(p.split()) <= 2 for p in pieces)
    return not _STATEMENT.search(answer) or all(len(p) <= 6 for p in pieces) and not re.search(r"[。.!?！？]", answer)


def is_one_word(answer: str) -> bool:
    text = answer.strip(" 。.!！?？")
    if re.search(r"[\s,，、;；]", text):
        return False
    return len(text) <= 4 if _CJK.search(text) else len(text) <= 20


def copy_ratio(question: str, answer: str) -> float:
    """Character similarity of the answer to the question, ignoring punctuation and filler particles."""
    def strip(s: str) -> str:
        return re.sub(r"[\W_]|到底|究竟|呢|吗|啊|请问|一下", "", normalize(s).lower())

    q, a = strip(question), strip(answer)
    if not q or not a:
        return 0.0
    return SequenceMatcher(None, q, a, autojunk=False).ratio()


def repetition(tokens: list[str]) -> float:
    """1 − unique/total over content tokens and over bigrams, whichever is worse."""
    if len(tokens) < 12:
        return 0.0
    uni = 1 - len(set(tokens)) / len(tokens)
    bigrams = list(zip(tokens, tokens[1:]))
    bi = 1 - len(set(bigrams)) / len(bigrams)
    return max(uni, bi)


# ---------------------------------------------------------------- embedding cache


class EmbedCache:
    """LRU of L2-normalised vectors keyed by (kind, text); one batched encode per call for the misses."""

    def __init__(self, embedder, size: int = 4096) -> None:
        self.embedder = embedder
        self.size = size
        self._d: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    def get(self, texts: list[str], kind: str = "passage") -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if (kind, t) not in self._d]
        if missing:
            enc = self.embedder.encode_queries if kind == "query" else self.embedder.encode_documents
            for t, v in zip(missing, enc(missing)):
                self._d[(kind, t)] = v
        out = []
        for t in texts:
            self._d.move_to_end((kind, t))
            out.append(self._d[(kind, t)])
        while len(self._d) > self.size:
            self._d.popitem(last=False)
        dim = getattr(self.embedder, "dim", 0)
        return np.stack(out) if out else np.zeros((0, dim), dtype=np.float32)


# ---------------------------------------------------------------- extraction


@dataclass
class AnswerView:
    """The answer's parts computed once and reused for every reference."""

    text: str
    clause_vecs: np.ndarray
    answer_vec: np.ndarray
    rel_q: float
    tokens: list[str]


def view_answer(cache: EmbedCache, tokenizer, question: str, answer: str) -> AnswerView:
    parts = clauses(answer)
    # Whole answer + clauses in one batch: one model call per answer, not cached (answers rarely repeat).
    if answer.strip():
        vecs = cache.embedder.encode_documents([answer, *parts])
    else:
        vecs = np.zeros((1, cache.get([question], "query").shape[1]), np.float32)
    qv = cache.get([question], "query")[0]
    return AnswerView(text=answer, clause_vecs=vecs[1:] if len(parts) else vecs[:1], answer_vec=vecs[0],
                      rel_q=float(vecs[0] @ qv), tokens=tokenizer.tokens(answer))


def _hits(points: list[str], sims: np.ndarray, tokenizer, q_tokens: set[str], ans_tokens: set[str],
          threshold: float) -> list[bool]:
    out = []
    for p, s in zip(points, sims):
        own = set(tokenizer.tokens(p)) - q_tokens
        lexical = bool(own) and len(own & ans_tokens) / len(own) >= HIT_TOKENS
        out.append(bool(s >= threshold) or lexical)
    return out


def _bigrams(text: str) -> set[str]:
    t = re.sub(r"[^\w]|_", "", normalize(text).lower())
    return {t[i : i + 2] for i in range(len(t) - 1)}


def _bigram_recall(question: str, reference: str, answer: str) -> float:
    target = _bigrams(reference) - _bigrams(question)
    return len(target & _bigrams(answer)) / len(target) if target else 0.0


def reference_points(reference: str, given: list[str] | None = None) -> list[str]:
    points = [p for p in (given or []) if p.strip()] or extract_key_points(reference)
    return points or ([reference.strip()] if reference.strip() else [])


def features(cache: EmbedCache, tokenizer, question: str, view: AnswerView, reference: str,
             points: list[str]) -> Features:
    kv = cache.get(points)
    ref_vec = cache.get([reference])[0]
    qv = cache.get([question], "query")[0]
    sims = (kv @ view.clause_vecs.T).max(axis=1) if len(points) else np.zeros(0)
    # A key point always resembles its own question; only similarity beyond that says the answer covers it.
    qp = cache.get([question])[0]
    base = kv @ qp if len(points) else np.zeros(0)
    ref_tokens = set(tokenizer.tokens(reference))
    q_tokens = set(tokenizer.tokens(question))
    # Tokens the question already names ("BN", "过拟合") prove nothing about the answer: leave them out.
    target = ref_tokens - q_tokens or ref_tokens
    ans_tokens = set(view.tokens)
    hit = _hits(points, sims, tokenizer, q_tokens, ans_tokens, HIT_SIM_EN if is_english(view.text) else HIT_SIM)
    return Features(
        kp_mean=float(sims.mean()) if len(sims) else 0.0,
        kp_cover=float((sims >= COVER_SIM).mean()) if len(sims) else 0.0,
        kp_max=float(sims.max()) if len(sims) else 0.0,
        kp_min=float(sims.min()) if len(sims) else 0.0,
        kp_gain=float((sims - base).mean()) if len(sims) else 0.0,
        ans_ref=float(view.answer_vec @ ref_vec),
        rel_q=view.rel_q,
        ref_q=float(ref_vec @ qv),
        lex_recall=len(target & ans_tokens) / len(target) if target else 0.0,
        lex_precision=len(ans_tokens & (ref_tokens | q_tokens)) / len(ans_tokens) if ans_tokens else 0.0,
        bigram_recall=_bigram_recall(question, reference, view.text),
        log_len=float(np.log2(text_units(view.text) + 1)),
        len_ratio=float(np.clip(np.log2((text_units(view.text) + 1) / (text_units(reference) + 1)), -3, 2)),
        contradiction=float(len(contradictions(reference, view.text, tokenizer))),
        english=float(is_english(view.text)),
        hits=[p for p, h in zip(points, hit) if h],
        misses=[p for p, h in zip(points, hit) if not h],
    )
