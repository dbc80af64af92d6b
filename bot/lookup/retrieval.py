"""Hybrid retrieval: BM25 over jieba tokens + dense chunk vectors from Chroma, fused by RRF, then (with a
fitted reranker and a backend with token states) the fused top re-ordered by token alignment (``rerank``).

Both rankings are over records (a record's dense score is its best chunk), so
the caller gets questions with their reference answers, not raw chunks. The
per-record features (best cosine, BM25, query-term coverage) are kept for the
abstention decision in ``bot.lookup.ask``.
"""

from __future__ import annotations

import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from bot.lang import language_of
from bot.lookup.dense import DenseIndex
from bot.lookup.memo import CandidateMemo
from bot.lookup.rerank import DEPTH, Reranker, alignments, feature_rows
from ingest import lexical
from ingest.schema import Hit, Record
from ingest.store import Store
from ingest.tokens import ensure_tokens

RRF_K = 60
LIVE_STATES = 3  # candidates without stored token states that a search reads itself before it gives up reranking
# A Latin token with a capital after its first letter or a digit: GBDT, XGBoost, LoRA, YOLOv3, ResNet50.
_NAME = re.compile(r"(?<![A-Za-z0-9-])(?=[A-Za-z0-9-]*(?:[A-Za-z][A-Z]|\d))[A-Za-z][A-Za-z0-9-]+(?![A-Za-z0-9-])")


@dataclass
class Candidate:
    id: str
    question: str
    kind: str
    score: float
    dense: float = 0.0
    question_dense: float = 0.0
    bm25: float = 0.0  # BM25 and the rarest missing query word's IDF, in units of the bank's largest IDF
    coverage: float = 0.0
    missing_idf: float = 0.0
    unknown_names: int = 0
    align_query: float = 0.0
    align_question: float = 0.0
    features: dict = field(default_factory=dict)
    record: Record | None = None  # read for the candidates a search returns

    def hit(self) -> Hit:
        return Hit(
            id=self.record.id,
            question=self.record.question,
            answer=reference_text(self.record),
            source=self.record.answers[0].where() if self.record.answers else "",
            score=round(self.score, 6),
        )


def rerank_rows(cands: list[Candidate]):
    """The reranker's feature rows of candidates in fused order (alignments measured)."""
    return feature_rows(list(range(len(cands))), [c.coverage for c in cands],
                        [(c.align_query, c.align_question) for c in cands])


def reference_text(record: Record) -> str:
    """The reference answer shown to users: the key and options for MCQs, else the first answer."""
    if record.kind == "choice":
        opts = "\n".join(f"{k}. {v}" for k, v in record.options.items())
        expl = record.answers[0].text if record.answers else ""
        return "\n".join(x for x in (opts, f"正确答案: {record.correct or '?'}", expl) if x)
    return record.answers[0].text if record.answers else ""


class Retriever:
    """Hybrid search over one store. Build once per process and share it (it caches per store generation)."""

    # Reciprocal-rank fusion weights of the rankings: records by best chunk cosine, by question-chunk
    # cosine, by BM25, and by best cosine among chunks in the other language than the query's. The
    # question-chunk ranking stays off: on dev it raised hit@3 on the 3.8k-record bank (0.743 -> 0.788) but
    # cost more on the seed bank (0.934 -> 0.882). The cross-language ranking is on: e5 puts same-language
    # text ~0.05 closer, so an English query's best Chinese record sat below a dozen loosely related English
    # ones, where BM25 cannot see it either; with it the right record is in the top 20 for 0.936 of the
    # spent big-bank queries instead of 0.915 (evals/reports/search.md).
    weights = {"dense": 1.0, "question_dense": 0.0, "lex": 1.0, "dense_cross": 1.0}

    def __init__(self, store: Store, tokenizer, reranker: Reranker | None = None) -> None:
        self.store = store
        self.tokenizer = tokenizer
        model = getattr(store.embedder, "states_model", None)
        # States of another model than the reranker was fitted on would give it meaningless alignments.
        self.reranker = reranker if reranker is not None and reranker.states_model == model else None
        self._lex = None
        self._generation = -1
        self._pool = None
        self._tokens_checked = False
        self.dense = DenseIndex(store)
        self.memo = CandidateMemo(store)

    def _refresh(self) -> None:
        if not self._tokens_checked:
            # A store built under an older glossary gets its tokens re-made once, before BM25 loads them.
            ensure_tokens(self.store, self.tokenizer)
            self._tokens_checked = True
        gen = self.store.generation
        if gen != self._generation:
            self._lex = lexical.load(self.store)
            self.memo.reset()
            self._generation = gen

    @property
    def lex(self) -> lexical.LexicalIndex:
        self._refresh()
        return self._lex

    def _encode_async(self, query: str) -> Future:
        """Start the query encode on a worker thread: the encoder releases the GIL, so the lexical side
        (segmentation, BM25, name lookup) runs on the other core meanwhile instead of after it."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="query-encode")
        if self.reranker is not None:  # one forward pass gives the vector and the token states
            return self._pool.submit(self.store.embedder.query_with_states, query)
        return self._pool.submit(lambda: (self.store.embedder.encode_queries([query])[0], None))

    def search(self, query: str, k: int = 5, *, include_passages: bool = True, rerank: bool = True) -> list[Candidate]:
        """The best ``k`` records. ``rerank=False`` keeps the fused order (the reranker's own fit needs it) but
        still measures the alignments when a reranker is loaded."""
        query = query.strip()
        if not query:
            return []
        depth = max(30, 6 * k)
        want = max(k, DEPTH) if self.reranker is not None else k
        pending = self._encode_async(query)
        try:
            self._refresh()
            lex = self._lex
            qtokens = self.tokenizer.tokens(query)
            lex_hits = lex.top(qtokens, depth)
            unknown = self._unknown_names(query, lex)
            # While the encode runs: read the lexical leaders, most of which end up in the fused top too.
            likely = [rid for rid, _ in lex_hits[: max(k * 3, want)]]
            fields = self.memo.rank_fields(likely)
            states = ({} if self.reranker is None else
                      self.memo.question_states(likely, self.store.embedder.states_model))
        finally:
            vec, qstates = pending.result()
        dense_best: dict[str, float] = {}
        qdense_best: dict[str, float] = {}
        other = "en" if language_of(query) == "zh" else "zh"
        chunk_hits, cross_hits = self.dense.query(vec, depth * 3, lang=other if self.weights.get("dense_cross") else None)
        cross_best: dict[str, float] = {}
        for _, rid, sim in cross_hits:
            cross_best.setdefault(rid, sim)
        roles = self.dense.roles([c for c, _, _ in chunk_hits])
        for cid, rid, sim in chunk_hits:
            if sim > dense_best.get(rid, -1.0):
                dense_best[rid] = sim
            if roles.get(cid) == "question" and sim > qdense_best.get(rid, -1.0):
                qdense_best[rid] = sim
        rankings = {
            "dense": sorted(dense_best, key=dense_best.get, reverse=True),
            "question_dense": sorted(qdense_best, key=qdense_best.get, reverse=True),
            "lex": [rid for rid, _ in lex_hits],
            "dense_cross": list(cross_best),
        }
        fused: dict[str, float] = {}
        for name, ranking in rankings.items():
            w = self.weights.get(name, 0.0)
            for rank, rid in enumerate(ranking if w else ()):
                fused[rid] = fused.get(rid, 0.0) + w / (RRF_K + rank + 1)
        top = sorted(fused, key=fused.get, reverse=True)
        rest = [rid for rid in top[: max(k * 3, want + 5)] if rid not in fields]
        fields.update(self.memo.rank_fields(rest))
        lex_score = dict(lex_hits)
        qset = set(qtokens)
        out: list[Candidate] = []
        for rid in top:
            if rid not in fields:
                continue
            question, kind, rtokens = fields[rid]
            if not include_passages and kind == "passage":
                continue
            out.append(
                Candidate(
                    id=rid,
                    question=question,
                    kind=kind,
                    score=fused[rid],
                    dense=dense_best.get(rid, 0.0),
                    question_dense=qdense_best.get(rid, 0.0),
                    bm25=lex_score.get(rid, 0.0) / lex.idf_max,
                    coverage=self._coverage(qset, rtokens, lex),
                    missing_idf=max((lex.idf(t) for t in qset - rtokens), default=0.0) / lex.idf_max,
                    unknown_names=unknown,
                )
            )
            if len(out) == want:
                break
        if qstates is not None and out:
            self._rerank(out, qstates, states, rerank)
        out = out[:k]
        records = {r.id: r for r in self.store.get_records([c.id for c in out])}
        for c in out:
            c.record = records.get(c.id)
        return [c for c in out if c.record is not None]

    def _rerank(self, cands: list[Candidate], qstates, stored: dict, reorder: bool) -> None:
        """Measure each candidate's token alignment with the query and, with ``reorder``, sort by the reranker."""
        emb = self.store.embedder
        missing = [c.id for c in cands if c.id not in stored]
        stored = {**stored, **self.memo.question_states(missing, emb.states_model)}
        if sum(c.id not in stored for c in cands) > LIVE_STATES:
            return  # a store not re-ingested since states existed: the fused order, at the fused speed
        # A question edited since the last ingest has no stored states: read it now (a few ms each).
        per = [stored[c.id] if c.id in stored else emb.question_states(c.question) for c in cands]
        for c, (aq, ac) in zip(cands, alignments(qstates, per)):
            c.align_query, c.align_question = aq, ac
        if not reorder:
            return
        for c, s in zip(cands, self.reranker.scores(rerank_rows(cands))):
            c.score = float(s)
        cands.sort(key=lambda c: c.score, reverse=True)

    @staticmethod
    def _coverage(qset: set[str], rtokens: set[str], lex: lexical.LexicalIndex) -> float:
        """IDF-weighted share of the query's words found in the record.

        Weighting by IDF makes a missing specific term ("XGBoost", "LoRA") count for much more
        than a missing generic one ("原理", "区别"), which is what separates a near-miss topic
        the bank does not cover from a paraphrase of one it does.
        """
        if not qset:
            return 0.0
        total = sum(lex.idf(t) for t in qset)
        return sum(lex.idf(t) for t in qset & rtokens) / total if total else 0.0

    def _unknown_names(self, query: str, lex: lexical.LexicalIndex) -> int:
        """How many model/method names in the query (XGBoost, LoRA, YOLOv3, GBDT) the bank never mentions.

        Names are Latin tokens written with capitals or digits; ordinary English words are not counted,
        since a colloquial query is full of words the bank does not use. A name the bank has never seen
        is strong evidence that the question is about something the bank does not cover.
        """
        vocab = lex.vocab
        count = 0
        for name in set(_NAME.findall(query)):
            if not any(t in vocab for t in self.tokenizer.tokens(name)):
                count += 1
        return count
