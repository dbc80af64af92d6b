"""Features of one (question, answer, reference) triple, and the guards that cap a score.

Everything here is cheap text work plus one batched e5 call per answer: the
answer's clauses (and the whole answer) are encoded together; key points,
references and questions are encoded once and kept in LRU caches keyed by text.
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache

import numpy as np

from bot.lang import is_english
from ingest.chunk import chunk_text, split_sentences
from ingest.keypoints import key_points as extract_key_points

MAX_CLAUSES = 8
MAX_ENCODE_CHARS = 600  # an answer is embedded up to this many characters (the lexical features see all of it)
ENCODE_CLAUSES = False  # also embed each clause (2× the model time); grouped CV on train did not pay for it
CSLS_K = 10  # hubness correction: a reference chunk's mean cosine to its k nearest chunks of other questions
COVER_SIM = 0.87  # the model's coverage feature: a looser cut scored better in grouped CV on train than HIT_SIM
HIT_SIM = 0.93  # e5 passage–passage cosine above which a key point counts as covered (read off the train split)
HIT_SIM_EN = 0.86  # cross-lingual cosines run ~0.07 lower
HIT_TOKENS = 0.5  # …or this share of the key point's own terms (beyond the question's) appears in the answer
CHUNK_CHARS, CHUNK_OVERLAP = 240, 60  # reference chunks for contrast: the same cut ingest stores in Chroma

# Features every model sees, and the contrast features only a model fitted with a contrast set uses.
# grader_model.json stores weights by these names.
BASE_FEATURES: tuple[str, ...] = (
    "kp_mean", "kp_cover", "kp_max", "kp_min", "kp_gain", "ans_ref", "rel_q", "ref_q", "lex_recall",
    "lex_precision", "bigram_recall", "len_ratio", "log_len", "contradiction", "english",
    "cl_support", "cl_unsupported", "polarity_conflict", "ref_over_q", "kp_over_q",
)
CONTRAST_FEATURES: tuple[str, ...] = ("ctr_margin", "ctr_rank", "ctr_lex_margin", "ctr_lex_rank")
# Optional groups ``fit`` may add to the core features (the first 15 of BASE_FEATURES) if grouped CV says so.
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "clause": ("cl_support", "cl_unsupported", "polarity_conflict"),
    "centred": ("ref_over_q", "kp_over_q"),
    "contrast": CONTRAST_FEATURES,
}
FEATURE_NAMES: tuple[str, ...] = BASE_FEATURES + CONTRAST_FEATURES


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
    cl_support: float = 0.0     # mean over answer clauses of the share of the clause's terms its best key point has
    cl_unsupported: float = 0.0  # share of answer clauses that share no term (beyond the question's) with a key point
    polarity_conflict: float = 0.0  # clauses whose direction word (解决/导致, 增大/减小, …) opposes their key point's
    ref_over_q: float = 0.0     # centred cosine of the answer to the reference minus to the question (as a passage)
    kp_over_q: float = 0.0      # the same per key point, averaged: content beyond restating the question
    ctr_margin: float = 0.0     # own reference's hubness-corrected cosine − the best other question's
    ctr_rank: float = 0.0       # log2(1 + other questions whose reference sits closer to the answer than its own)
    ctr_lex_margin: float = 0.0  # IDF share of the answer's terms in its own question+reference − best other's
    ctr_lex_rank: float = 0.0   # log2(1 + other questions whose terms explain more of the answer)
    has_contrast: bool = False
    hits: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def vector(self, names: tuple[str, ...] | list[str] = FEATURE_NAMES) -> list[float]:
        return [float(getattr(self, n)) for n in names]


# ---------------------------------------------------------------- text helpers

_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
_CLAUSE_SPLIT = re.compile(r"(?<=[,，、;；:：])|\s+[—–-]+\s+|(?<=\))\s")


def text_units(text: str) -> float:
    """Length in comparable units: an English word carries about as much as 1.7 Chinese characters."""
    return len(_CJK.findall(text)) + 1.7 * len(re.findall(r"[A-Za-z]+|\d+", text))


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


@lru_cache(maxsize=4096)
def _polar_claims_cached(text: str, tokenizer) -> dict[str, int]:
    return _polar_claims(text, tokenizer)


def contradictions(reference: str, answer: str, tokenizer) -> list[str]:
    ref, ans = _polar_claims_cached(reference, tokenizer), _polar_claims(answer, tokenizer)
    return [t for t, s in ans.items() if t in ref and ref[t] != s]


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
def _directions_cached(text: str) -> dict[str, set[int]]:
    return directions(text)


def opposed(a: dict[str, set[int]], b: dict[str, set[int]]) -> bool:
    """Some family where one side points only one way and the other only the opposite way."""
    return any(len(a[f]) == 1 and len(b.get(f, ())) == 1 and a[f] != b[f] for f in a)


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


# ---------------------------------------------------------------- caches


class EmbedCache:
    """LRU of L2-normalised vectors keyed by (kind, text); one batched encode per call for the misses.

    Also caches jieba tokens of texts that recur (references, key points, questions): segmentation of a
    long reference costs more than the arithmetic of a whole grade.
    """

    def __init__(self, embedder, size: int = 8192) -> None:
        self.embedder = embedder
        self.size = size
        self._d: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._tok: OrderedDict[str, tuple[str, ...]] = OrderedDict()

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

    def put(self, texts: list[str], vecs: np.ndarray, kind: str = "passage") -> None:
        """Vectors computed elsewhere (the store's Chroma collection) so they are not encoded again."""
        for t, v in zip(texts, vecs):
            self._d[(kind, t)] = np.asarray(v, dtype=np.float32)
        while len(self._d) > self.size:
            self._d.popitem(last=False)

    def tokens(self, tokenizer, text: str) -> tuple[str, ...]:
        hit = self._tok.get(text)
        if hit is None:
            hit = self._tok[text] = tuple(tokenizer.tokens(text))
            if len(self._tok) > self.size:
                self._tok.popitem(last=False)
        return hit


def reference_chunks(reference: str) -> list[str]:
    return chunk_text(reference, CHUNK_CHARS, CHUNK_OVERLAP) or ([reference.strip()] if reference.strip() else [])


def question_key(question: str) -> str:
    return re.sub(r"[\W_]", "", normalize(question).lower())


class ContrastSet:
    """Other questions' references. An answer to Q should sit closer to Q's references than to these.

    Dense rows are reference chunks (the cut ingest uses for Chroma) with an owner: a bank record id, or the
    question's text when built from (question, reference) pairs; each chunk carries a hubness penalty (its
    mean cosine to the CSLS_K nearest chunks of other owners) so that short, generic chunks that sit close to
    everything do not win. Lexical rows are each owner's question+reference terms with their IDF over owners.
    ``mask`` leaves out the owners that are the graded question itself (same record id, same question text,
    or sharing a reference chunk).
    """

    def __init__(self, owners: list[str], questions: list[str], texts: list[str], vecs: np.ndarray,
                 terms: dict[str, set[str]]) -> None:
        self.owner_names = sorted(set(owners) | set(terms))
        idx = {o: i for i, o in enumerate(self.owner_names)}
        self.owner = np.asarray([idx[o] for o in owners], dtype=np.int64)
        qk: dict[str, str] = {}
        for o, q in zip(owners, questions):
            qk.setdefault(o, question_key(q))
        self.qkey = [qk.get(o, "") for o in self.owner_names]
        self.texts = texts
        self.vecs = np.asarray(vecs, dtype=np.float32).reshape(len(texts), -1)
        self._by_text: dict[str, set[int]] = {}
        for t, o in zip(texts, self.owner):
            self._by_text.setdefault(t, set()).add(int(o))
        self.penalty = self.hubness(self.vecs, self.owner)
        self.terms = [terms.get(o, set()) for o in self.owner_names]
        df: dict[str, int] = {}
        for ts in self.terms:
            for t in ts:
                df[t] = df.get(t, 0) + 1
        self.df, self.n_docs = df, len(self.terms)

    def hubness(self, vecs: np.ndarray, owner: np.ndarray | None = None,
                keep: np.ndarray | None = None) -> np.ndarray:
        """Mean cosine of each vector to its CSLS_K nearest contrast chunks: of other owners (``owner``: the
        vectors' own owners) and/or of the kept owners only (``keep``: a mask over owners)."""
        out = np.zeros(len(vecs))
        cols = keep[self.owner] if keep is not None else np.ones(len(self.owner), bool)
        for start in range(0, len(vecs), 512):  # blocks: a large bank never needs an n×n matrix at once
            sims = vecs[start : start + 512] @ self.vecs[cols].T
            if owner is not None:
                sims[owner[start : start + 512, None] == self.owner[cols][None, :]] = -np.inf
            for i, row in enumerate(sims):
                row = row[np.isfinite(row)]
                if len(row):
                    k = min(CSLS_K, len(row))
                    out[start + i] = float(np.partition(row, len(row) - k)[-k:].mean())
        return out

    def idf(self, term: str) -> float:
        return float(np.log((self.n_docs + 1) / (self.df.get(term, 0) + 0.5)))

    def __len__(self) -> int:
        return len(self.owner_names)

    @classmethod
    def from_pairs(cls, cache: EmbedCache, tokenizer, pairs: list[tuple[str, str]]) -> "ContrastSet":
        """From (question, reference) pairs: a batch of graded lines, an eval set, a list of bank answers."""
        owners, questions, texts = [], [], []
        terms: dict[str, set[str]] = {}
        seen = set()
        for q, ref in pairs:
            if not (q or "").strip() or not (ref or "").strip():
                continue
            o = question_key(q)
            terms.setdefault(o, set()).update(cache.tokens(tokenizer, q), cache.tokens(tokenizer, ref))
            for piece in reference_chunks(normalize(ref)):
                if (o, piece) not in seen:
                    seen.add((o, piece))
                    owners.append(o)
                    questions.append(q)
                    texts.append(piece)
        vecs = cache.get(texts) if texts else np.zeros((0, getattr(cache.embedder, "dim", 0)), np.float32)
        return cls(owners, questions, texts, vecs, terms)

    @classmethod
    def from_store(cls, store, cache: EmbedCache | None = None) -> "ContrastSet":
        """The bank's answer chunks with the vectors and terms ingest already stored (nothing is re-encoded)."""
        rows, vecs = store.answer_chunk_vectors()
        if cache is not None:
            cache.put([r[1] for r in rows], vecs)
        owners = {r[0] for r in rows}
        ids_all, toks = store.all_tokens()
        terms = {rid: set(t) for rid, t in zip(ids_all, toks) if rid in owners}
        return cls([r[0] for r in rows], [r[2] for r in rows], [r[1] for r in rows], vecs, terms)

    @classmethod
    def merge(cls, *sets: "ContrastSet | None") -> "ContrastSet | None":
        """One set from several (a bank and a batch's own references): owners keep their names."""
        sets = [c for c in sets if c is not None and len(c)]
        if len(sets) < 2:
            return sets[0] if sets else None
        owners, questions, texts, vecs, terms = [], [], [], [], {}
        for c in sets:
            names = [c.owner_names[i] for i in c.owner]
            owners += names
            questions += [c.qkey[i] for i in c.owner]
            texts += c.texts
            vecs.append(c.vecs)
            terms.update({o: t for o, t in zip(c.owner_names, c.terms)})
        return cls(owners, questions, texts, np.vstack(vecs), terms)

    def mask(self, question: str, own_chunks: list[str], own_ids: list[str] = ()) -> np.ndarray:
        """Boolean over owners: True for the *other* questions."""
        qk = question_key(question)
        keep = np.asarray([k != qk and o not in set(own_ids) for k, o in zip(self.qkey, self.owner_names)], bool)
        for t in own_chunks:
            for i in self._by_text.get(t, ()):
                keep[i] = False
        return keep


# ---------------------------------------------------------------- extraction


@dataclass
class AnswerView:
    """The answer's parts computed once and reused for every reference."""

    text: str
    clauses: list[str]
    clause_vecs: np.ndarray | None  # only with ENCODE_CLAUSES
    answer_vec: np.ndarray
    rel_q: float
    tokens: list[str]
    clause_tokens: list[set[str]] = field(default_factory=list)
    directions: list[dict[str, set[int]]] = field(default_factory=list)


def view_answer(cache: EmbedCache, tokenizer, question: str, answer: str) -> AnswerView:
    """One model call per answer (the whole answer, plus its clauses in the same batch with ENCODE_CLAUSES)."""
    parts = clauses(answer) or [answer]
    qv = cache.get([question], "query")[0]
    if answer.strip():
        texts = [answer[:MAX_ENCODE_CHARS], *(parts if ENCODE_CLAUSES and len(parts) > 1 else [])]
        vecs = cache.embedder.encode_documents(texts)
        answer_vec = vecs[0]
        clause_vecs = (vecs[1:] if len(vecs) > 1 else vecs[:1]) if ENCODE_CLAUSES else None
    else:
        answer_vec, clause_vecs = np.zeros(qv.shape[0], np.float32), None
    # Segment clause by clause (the answer's tokens are their concatenation): one jieba pass per answer.
    per_clause = [tokenizer.tokens(p) for p in parts]
    return AnswerView(text=answer, clauses=parts, clause_vecs=clause_vecs, answer_vec=answer_vec,
                      rel_q=float(answer_vec @ qv), tokens=[t for ts in per_clause for t in ts],
                      clause_tokens=[set(ts) for ts in per_clause], directions=[directions(p) for p in parts])


def _bigrams(text: str) -> set[str]:
    t = re.sub(r"[^\w]|_", "", normalize(text).lower())
    return {t[i : i + 2] for i in range(len(t) - 1)}


def _bigram_recall(question: str, reference: str, answer: str) -> float:
    target = _bigrams(reference) - _bigrams(question)
    return len(target & _bigrams(answer)) / len(target) if target else 0.0


def reference_points(reference: str, given: list[str] | None = None) -> list[str]:
    points = [p for p in (given or []) if p.strip()] or extract_key_points(reference)
    return points or ([reference.strip()] if reference.strip() else [])


def contrast_features(cache: EmbedCache, tokenizer, view: AnswerView, question: str, references: list[str],
                      contrast: ContrastSet | None, own_ids: list[str] = ()) -> dict[str, float] | None:
    """Question-level: does the answer sit closer to this question's references than to any other's?"""
    if contrast is None or not len(contrast):
        return None
    own_chunks = [c for r in references for c in reference_chunks(normalize(r))]
    keep = contrast.mask(question, own_chunks, list(own_ids))
    if not own_chunks or not keep.any():
        return None
    a = view.answer_vec
    # Dense, with the hubness correction on both sides (CSLS): a chunk close to everything proves little.
    own = cache.get(own_chunks)
    own_best = float((own @ a - contrast.hubness(own, keep=keep)).max())
    per_owner = np.full(len(contrast), -np.inf)
    np.maximum.at(per_owner, contrast.owner, contrast.vecs @ a - contrast.penalty)
    others = per_owner[keep]
    others = others[np.isfinite(others)]
    # Lexical: which question's terms explain the most of the answer's (IDF-weighted) terms.
    ans = set(view.tokens)
    weight = {t: contrast.idf(t) for t in ans}
    total = sum(weight.values()) or 1.0
    own_terms = set(cache.tokens(tokenizer, question)).union(*(cache.tokens(tokenizer, r) for r in references))
    own_lex = sum(weight[t] for t in ans & own_terms) / total
    other_lex = np.asarray([sum(weight[t] for t in ans & terms) / total
                            for terms, k in zip(contrast.terms, keep) if k and terms])
    return {
        "ctr_margin": own_best - float(others.max()) if len(others) else 0.0,
        "ctr_rank": float(np.log2(1 + (others > own_best).sum())),
        "ctr_lex_margin": own_lex - float(other_lex.max()) if len(other_lex) else 0.0,
        "ctr_lex_rank": float(np.log2(1 + (other_lex > own_lex).sum())),
    }


def _centred(v: np.ndarray, center: np.ndarray | None) -> np.ndarray:
    """Remove the direction every e5 vector shares (fitted on train references) so cosines spread out."""
    if center is None:
        return v
    v = v - center
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def features(cache: EmbedCache, tokenizer, question: str, view: AnswerView, reference: str,
             points: list[str], contrast: dict[str, float] | None = None,
             center: np.ndarray | None = None) -> Features:
    kv = cache.get(points)
    ref_vec = cache.get([reference])[0]
    qv = cache.get([question], "query")[0]
    cvecs = view.clause_vecs if view.clause_vecs is not None else view.answer_vec[None, :]
    sim = kv @ cvecs.T if len(points) else np.zeros((0, len(cvecs)))
    sims = sim.max(axis=1) if len(points) else np.zeros(0)
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
    threshold = HIT_SIM_EN if is_english(view.text) else HIT_SIM
    hit = [bool(s >= threshold) or bool(own) and len(own & ans_tokens) / len(own) >= HIT_TOKENS
           for s, own in zip(sims, point_own)]
    # Clause side: the key point each answer clause shares most terms with, and whether it says the opposite.
    unsupported = conflicts = 0
    support = []
    for j, ct in enumerate(view.clause_tokens):
        if not points or not ct:
            continue
        shared = [len(ct & own) for own in point_own]
        i = int(np.argmax(shared))
        if view.clause_vecs is not None and j < sim.shape[1]:
            i = int(sim[:, j].argmax()) if not shared[i] else i
        support.append(len(ct & point_all[i]) / len(ct))
        if not shared[i]:
            unsupported += 1
        d = view.directions[j]
        if d and ct & point_all[i] and opposed(d, _directions_cached(points[i])):
            conflicts += 1
    ctr = contrast or {}
    ac, qc = _centred(view.answer_vec, center), _centred(qp, center)
    a_q = float(ac @ qc)
    ref_over_q = float(ac @ _centred(ref_vec, center)) - a_q
    kp_over_q = float((_centred(kv, center) @ ac).mean()) - a_q if len(points) else 0.0
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
        cl_support=float(np.mean(support)) if support else 0.0,
        cl_unsupported=unsupported / max(len(support), 1),
        polarity_conflict=float(conflicts),
        ref_over_q=ref_over_q,
        kp_over_q=kp_over_q,
        has_contrast=contrast is not None,
        hits=[p for p, h in zip(points, hit) if h],
        misses=[p for p, h in zip(points, hit) if not h],
        **{k: float(ctr.get(k, 0.0)) for k in CONTRAST_FEATURES},
    )
