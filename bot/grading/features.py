"""Features of one (question, answer, reference) triple: what the fitted scorer sees.

Cheap text work plus one e5 call per answer (the whole answer; references, key points and questions are
encoded once and cached by text). The clause alignment (``bot.grading.align``) decides which key points the
answer supports and which it contradicts; a contradicted point is never counted as covered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bot.grading import cues
from bot.grading.align import NAMED, Alignment, align
from bot.grading.cache import EmbedCache
from bot.grading.swaps import Segments, find_swaps, occurs, segment, stem
from bot.grading.text import bigram_recall, clauses, text_units
from bot.lang import is_english

MAX_ENCODE_CHARS = 600  # an answer is embedded up to this many characters (the lexical features see all of it)
COVER_SIM = 0.87  # the model's coverage feature: a looser cut than HIT_SIM
HIT_SIM = 0.93  # e5 passage–passage cosine above which a key point counts as covered
HIT_SIM_EN = 0.86  # cross-lingual cosines run ~0.07 lower
HIT_TOKENS = 0.5  # …or this share of the key point's own terms (beyond the question's) appears in the answer

# Features every model sees, and the contrast features only a model fitted with a contrast set uses.
# grader_model.json stores weights by these names.
BASE_FEATURES: tuple[str, ...] = (
    "kp_mean", "kp_cover", "kp_max", "kp_min", "kp_gain", "ans_ref", "rel_q", "ref_q", "lex_recall",
    "lex_precision", "bigram_recall", "len_ratio", "log_len", "english", "cl_support", "cl_unsupported",
    "ref_over_q", "kp_over_q", "hit_share", "contra_points", "contra_share", "strong_points", "point_terms", "pair",
)
CONTRAST_FEATURES: tuple[str, ...] = ("ctr_margin", "ctr_rank", "ctr_lex_margin", "ctr_lex_rank")
FEATURE_NAMES: tuple[str, ...] = BASE_FEATURES + CONTRAST_FEATURES


@dataclass
class Features:
    kp_mean: float = 0.0        # mean over key points of the answer's cosine
    kp_cover: float = 0.0       # share of key points whose cosine clears COVER_SIM
    kp_max: float = 0.0
    kp_min: float = 0.0
    kp_gain: float = 0.0        # mean of (cosine − the key point's cosine to the question itself)
    ans_ref: float = 0.0        # whole answer vs whole reference
    rel_q: float = 0.0          # answer vs question (query embedding)
    ref_q: float = 0.0          # reference vs question: how close a *right* answer sits to the question
    lex_recall: float = 0.0     # reference content tokens (beyond the question's) found in the answer
    lex_precision: float = 0.0  # answer content tokens found in the reference or question
    bigram_recall: float = 0.0  # reference character bigrams (not in the question) found in the answer
    len_ratio: float = 0.0      # log2(answer/reference length), clipped to [-3, 2]
    log_len: float = 0.0        # log2 of the answer's length in units
    english: float = 0.0
    cl_support: float = 0.0     # mean over answer clauses of the share of the clause's terms its key point has
    cl_unsupported: float = 0.0  # share of answer clauses that speak to no key point
    ref_over_q: float = 0.0     # centred cosine of the answer to the reference minus to the question
    kp_over_q: float = 0.0      # the same per key point, averaged: content beyond restating the question
    hit_share: float = 0.0      # share of key points covered and not contradicted
    contra_points: float = 0.0  # key points some answer clause contradicts
    contra_share: float = 0.0   # contradicted / (contradicted + supported) key points
    strong_points: float = 0.0  # key points contradicted by a precise cue (direction, antonym, entity, swap)
    cap_points: float = 0.0     # key points contradicted by a cue precise enough to cap the score (swap)
    point_terms: float = 0.0    # share of key points one of whose own terms the answer names
    pair: float = 0.0           # the pair head's score of (answer, reference) token states (bot.grading.pairhead)
    ctr_margin: float = 0.0     # own reference's hubness-corrected cosine − the best other question's
    ctr_rank: float = 0.0       # log2(1 + other questions whose reference sits closer to the answer than its own)
    ctr_lex_margin: float = 0.0  # IDF share of the answer's terms in its own question+reference − best other's
    ctr_lex_rank: float = 0.0   # log2(1 + other questions whose terms explain more of the answer)
    has_contrast: bool = False
    cross_lingual: bool = False  # answer and reference in different languages (zh vs en)
    other_question: str = ""    # the other question the contrast set says the answer fits best
    points: list[str] = field(default_factory=list)
    hits: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    wrong: list[tuple[str, str]] = field(default_factory=list)  # (answer clause, the key point it contradicts)
    wrong_capping: list[tuple[str, str]] = field(default_factory=list)  # the same, capping cues only
    right: list[str] = field(default_factory=list)  # answer clauses that support a covered key point

    def vector(self, names: tuple[str, ...] | list[str] = FEATURE_NAMES) -> list[float]:
        return [float(getattr(self, n)) for n in names]


@dataclass
class AnswerView:
    """The answer's parts computed once and reused for every reference."""

    text: str
    clauses: list[str]
    answer_vec: np.ndarray
    rel_q: float
    tokens: list[str]
    clause_tokens: list[set[str]] = field(default_factory=list)
    directions: list[dict[str, set[int]]] = field(default_factory=list)
    segments: Segments = field(default_factory=list)  # sentences → (clause, tokens), for swapped roles


def view_answer(cache: EmbedCache, tokenizer, question: str, answer: str) -> AnswerView:
    """One model call per answer (its first MAX_ENCODE_CHARS characters)."""
    parts = clauses(answer) or [answer]
    qv = cache.get([question], "query")[0]
    answer_vec = (cache.embedder.encode_documents([answer[:MAX_ENCODE_CHARS]])[0] if answer.strip()
                  else np.zeros(qv.shape[0], np.float32))
    # Segment clause by clause (the answer's tokens are their concatenation): one jieba pass per answer.
    per_clause = [tokenizer.tokens(p) for p in parts]
    return AnswerView(text=answer, clauses=parts, answer_vec=answer_vec, rel_q=float(answer_vec @ qv),
                      tokens=[t for ts in per_clause for t in ts], clause_tokens=[set(ts) for ts in per_clause],
                      directions=[cues.directions(p) for p in parts],
                      segments=segment(answer, lambda c: cache.tokens(tokenizer, c)))


def _centred(v: np.ndarray, center: np.ndarray | None) -> np.ndarray:
    """Remove the direction every e5 vector shares (fitted on train references) so cosines spread out."""
    if center is None:
        return v
    v = v - center
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def features(cache: EmbedCache, tokenizer, question: str, view: AnswerView, reference: str,
             points: list[str], contrast: dict | None = None, center: np.ndarray | None = None,
             pair: float = 0.0) -> Features:
    kv = cache.get(points)
    ref_vec = cache.get([reference])[0]
    qv = cache.get([question], "query")[0]
    sims = kv @ view.answer_vec if len(points) else np.zeros(0)
    # A key point always resembles its own question; only similarity beyond that says the answer covers it.
    qp = cache.get([question])[0]
    base = kv @ qp if len(points) else np.zeros(0)
    ref_tokens = set(cache.tokens(tokenizer, reference))
    q_tokens = set(cache.tokens(tokenizer, question))
    # Tokens the question already names ("BN", "过拟合") prove nothing about the answer: leave them out.
    target = ref_tokens - q_tokens or ref_tokens
    ans_tokens = set(view.tokens)
    point_all = [set(cache.tokens(tokenizer, p)) for p in points]
    point_own = [t - q_tokens for t in point_all]
    al: Alignment = align(view.clauses, view.clause_tokens, view.directions, points, point_all, q_tokens)
    for sw in find_swaps(view.segments, segment(reference, lambda c: cache.tokens(tokenizer, c)), NAMED):
        # The key points that name a swapped term and hold a crossed word: not every point naming BN.
        for i, pt in enumerate(point_all):
            if any(occurs(sw.a, t) or occurs(sw.b, t) for t in pt) and sw.words & {stem(t) for t in pt}:
                al.mark(sw.clause, i, "swap")
    threshold = HIT_SIM_EN if is_english(view.text) else HIT_SIM
    hit = [i not in al.contradicted and (bool(s >= threshold) or i in al.supported and bool(own)
                                         and len(own & ans_tokens) / len(own) >= HIT_TOKENS)
           for i, (s, own) in enumerate(zip(sims, point_own))]
    named = [bool(own & ans_tokens) for own in point_own]
    support, unsupported = [], 0
    for lk, ct in zip(al.links, view.clause_tokens):
        if lk.point < 0:
            unsupported += 1
            support.append(0.0)
        elif ct:
            support.append(len(ct & point_all[lk.point]) / len(ct))
    ctr = contrast or {}
    ac, qc = _centred(view.answer_vec, center), _centred(qp, center)
    a_q = float(ac @ qc)
    n_contra, n_sup = len(al.contradicted), len(al.supported)
    right = [lk.clause for lk in al.links if lk.verdict == "supports" and hit[lk.point]]
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
        bigram_recall=bigram_recall(question, reference, view.text),
        log_len=float(np.log2(text_units(view.text) + 1)),
        len_ratio=float(np.clip(np.log2((text_units(view.text) + 1) / (text_units(reference) + 1)), -3, 2)),
        english=float(is_english(view.text)),
        cl_support=float(np.mean(support)) if support else 0.0,
        cl_unsupported=unsupported / max(len(view.clauses), 1),  # marked swaps add links beyond the clauses
        ref_over_q=float(ac @ _centred(ref_vec, center)) - a_q,
        kp_over_q=float((_centred(kv, center) @ ac).mean()) - a_q if len(points) else 0.0,
        hit_share=sum(hit) / len(points) if points else 0.0,
        contra_points=float(n_contra),
        contra_share=n_contra / (n_contra + n_sup) if n_contra + n_sup else 0.0,
        point_terms=sum(named) / len(points) if points else 0.0,
        pair=pair,
        has_contrast=contrast is not None,
        cross_lingual=is_english(view.text) != is_english(reference),
        other_question=str(ctr.get("other_question", "")),
        points=list(points),
        hits=[p for p, h in zip(points, hit) if h],
        misses=[p for i, (p, h) in enumerate(zip(points, hit)) if not h and i not in al.contradicted],
        wrong=al.wrong_pairs(points),
        wrong_capping=al.wrong_pairs(points, capping_only=True),
        strong_points=float(len(al.strong)),
        cap_points=float(len(al.capping)),
        right=list(dict.fromkeys(right)),
        **{k: float(ctr.get(k, 0.0)) for k in CONTRAST_FEATURES},
    )
