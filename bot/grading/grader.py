"""Grade an interview answer 0–5 against reference answers, offline.

Order: multiple choice by rule; manipulation → 0; the no-model guards (empty, don't know, restated); then the
features (clause alignment, coverage, contrast with the bank's other questions) and the fitted scorer; then
the rubric's caps: a term pile or padding ≤ 1, swapped roles in the central claim ≤ 1 (next to right points
≤ 2; the other contradiction cues only feed the scorer, see ``bot.grading.align.CAPPING``), an answer that fits
another bank question better ≤ 1. Rubric text: ``bot.texts.RUBRIC``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ingest.errors import ModelLoadError

from bot.grading import guards
from bot.grading.cache import EmbedCache
from bot.grading.contrast import DEFAULT_CHUNKING, ContrastSet, contrast_features, reference_chunks
from bot.grading.choice import grade_choice, parse_choice
from bot.grading.features import Features, features, view_answer
from bot.grading.feedback import compose
from bot.grading.manipulation import ManipulationModel, load_model
from bot.grading.model import FeatureScorer, ModelParams, ScoreInput, Scorer, load_params
from bot.grading.pairhead import PairScorer, load_pair_scorer
from bot.grading.points import reference_points
from bot.grading.schema import CAP1_FLAGS, ZERO_FLAGS, Grade, Wrong
from bot.grading.text import normalize
from bot.lang import language_of
from bot.texts import FLAG_TEXT

__all__ = ["Grader", "grade_with_bank", "parse_choice", "relevance"]

OFFTOPIC_DEFAULT = 0.86  # fallbacks when a model file carries no fitted guard threshold
ENGLISH_SHIFT_DEFAULT = 0.085
PADDING_REP = 0.6
PADDING_REP_LONG = 0.4
QUESTION_MATCH = 0.92  # question_dense above which a bank record is taken to be the same question
NO_REFERENCE_CAP = 2.0
CONTRA_CENTRAL = 0.5  # contradicted share of the points the answer speaks to at which the central claim is wrong
WRONG_LISTED = 2.5  # score at or below which a negation/number contradiction is listed as wrong
OTHER_MARGIN = -0.02  # dense contrast margin below which (with the lexical one negative too) another question fits


def relevance(f: Features, english_shift: float) -> float:
    """How related the answer is to the question or its reference, on the Chinese answers' scale."""
    return max(f.rel_q, f.ans_ref) + (english_shift if f.english else 0.0)


@dataclass
class _Best:
    score: float = -1.0
    features: Features | None = None
    reference_id: str | None = None


class Grader:
    """Build once (models loaded, caches warm) and call ``grade`` per answer. Caches are not thread-safe.

    ``contrast``: other questions' references — a ``ContrastSet``, (question, reference) pairs, or a Store (its
    answer chunks and stored vectors). ``chunking``: the store's (chunk_chars, chunk_overlap) settings.
    """

    def __init__(self, embedder, tokenizer, model_params: dict | None = None, scorer: Scorer | None = None,
                 contrast=None, chunking: tuple[int, int] | None = None,
                 manipulation: ManipulationModel | None = None, pair: PairScorer | None = None) -> None:
        self.tokenizer = tokenizer
        self._pair = pair
        self.cache = EmbedCache(embedder)
        self.chunking = tuple(chunking) if chunking else DEFAULT_CHUNKING
        self.manipulation = manipulation or load_model()
        params = ModelParams.model_validate(model_params) if model_params is not None else None
        if params is None and (scorer is None or not hasattr(scorer, "offtopic")):
            try:
                params = load_params()
            except Exception:  # a custom scorer without a model file: default guard thresholds
                if scorer is None:
                    raise
        self.scorer = scorer or FeatureScorer(params)
        src = getattr(self.scorer, "params", None) or params
        self.offtopic = getattr(src, "offtopic", 0.0) or OFFTOPIC_DEFAULT
        self.english_shift = getattr(src, "english_shift", 0.0) or ENGLISH_SHIFT_DEFAULT
        center = getattr(src, "center", None)
        self.center = np.asarray(center, dtype=np.float32) if center else None
        dim = getattr(embedder, "dim", None)
        if self.center is not None and dim and len(self.center) != dim:
            raise ModelLoadError(
                f"the grading model was fitted on {len(self.center)}-dimensional vectors (e5), but the embedder "
                f"'{getattr(embedder, 'name', '?')}' gives {dim} — set MIANSHI_EMBEDDER=e5, or MIANSHI_GRADER=overlap "
                f"for the model-free baseline, or refit with `mianshi eval grade --fit`")
        self.contrast: ContrastSet | None = None
        self.contrast_source: object = None  # "caller", or the (store, generation) the bank set came from
        if contrast is not None:
            self.set_contrast(contrast)

    def set_contrast(self, contrast, source: object = "caller") -> None:
        """Replace the contrast set (see the class docstring for what it may be)."""
        self.contrast_source = source if contrast is not None else None
        if contrast is None or isinstance(contrast, ContrastSet):
            self.contrast = contrast
        elif hasattr(contrast, "answer_chunk_vectors"):
            self.contrast = ContrastSet.from_store(contrast, self.cache, self.chunking)
        else:
            self.contrast = ContrastSet.from_pairs(self.cache, self.tokenizer, [tuple(p) for p in contrast],
                                                   self.chunking)

    @property
    def pair(self) -> PairScorer:
        """The pair head and its token-state reader, loaded at first use (fast guards need neither)."""
        if self._pair is None:
            self._pair = load_pair_scorer()
        return self._pair

    # ------------------------------------------------------------ public

    def grade(self, question: str, answer: str, references: list[str], *, kind: str = "open",
              correct: str | None = None, reference_ids: list[str] = (), key_points: list[str] | None = None,
              cap: float | None = None) -> Grade:
        raw = normalize(answer or "")
        lang = language_of(raw)
        if kind == "choice":
            return grade_choice(raw, correct or (references[0] if references else ""), references,
                                list(reference_ids), lang, self.manipulation)
        spans = self.manipulation.spans(raw)
        if spans:
            return self._finish(0.0, ["injection"], None, lang, list(reference_ids)[:1], reason=spans[0])
        early = self.early_flags(question, raw)
        if early:
            return self._finish(0.0, early, None, lang, list(reference_ids)[:1])
        view = view_answer(self.cache, self.tokenizer, question, raw)
        best = self._best_reference(question, view, references, list(reference_ids), key_points)
        f = best.features
        flags = self._late_flags(question, raw, view, f, self.offtopic)
        score = best.score if cap is None else min(best.score, cap)
        return self._finish(score, flags, f, lang, [best.reference_id] if best.reference_id else [])

    def prepare(self, question: str, references: list[str], key_points: list[str] | None = None) -> None:
        """Encode a question's references, key points and chunks ahead of time (the per-answer path stays warm)."""
        refs = [r for r in references if r and r.strip()]
        pts = [p for r in refs for p in reference_points(r, key_points)]
        self.cache.get([question], "query")
        self.cache.get([question, *refs, *pts, *(c for r in refs for c in reference_chunks(normalize(r), self.chunking))])
        for t in (question, *refs, *pts):
            self.cache.tokens(self.tokenizer, t)
        for r in refs:
            self.pair.states(r)

    def inspect(self, question: str, answer: str, reference: str,
                pair: float | None = None) -> tuple[Features | None, list[str]]:
        """Features and guard flags for one reference, without scoring: what ``fit`` trains on.
        The off-topic guard is left out of the flags: its threshold is what ``fit`` chooses. ``pair``: the
        pair head's score when the caller has it (an out-of-fold score while fitting)."""
        raw = normalize(answer or "")
        if self.manipulation.spans(raw):
            return None, ["injection"]
        early = self.early_flags(question, raw)
        if early:
            return None, early
        view = view_answer(self.cache, self.tokenizer, question, raw)
        ctr = contrast_features(self.cache, self.tokenizer, view, question, [reference], self.contrast)
        if pair is None:
            pair = self.pair.score(view.text, reference)
        f = features(self.cache, self.tokenizer, question, view, reference, reference_points(reference), ctr,
                     self.center, pair)
        return f, self._late_flags(question, raw, view, f, None)

    # ------------------------------------------------------------ stages

    def early_flags(self, question: str, answer: str) -> list[str]:
        """Guards that need no model: an answer that trips one is 0 whatever it resembles."""
        if not re.sub(r"[\W_]", "", answer):
            return ["empty"]
        if guards.looks_like_dont_know(answer):
            return ["dont_know"]
        q_tokens = set(self.cache.tokens(self.tokenizer, question))
        if guards.restates_question(question, answer, self.tokenizer.tokens(answer), q_tokens):
            return ["copy"]
        return []

    def _late_flags(self, question: str, answer: str, view, f: Features, offtopic: float | None) -> list[str]:
        flags = []
        if offtopic is not None and relevance(f, self.english_shift) < offtopic:
            flags.append("offtopic")
        if guards.is_one_word(answer) and f.hit_share < 0.5:
            flags.append("empty")
        elif guards.is_keyword_pile(question, answer, view.tokens, f.point_terms):
            flags.append("keywords")
        rep = guards.repetition(view.tokens)
        if rep >= PADDING_REP or rep >= PADDING_REP_LONG and len(answer) >= 80 and f.lex_precision < 0.2:
            flags.append("padding")
        return flags

    def _best_reference(self, question: str, view, references: list[str], reference_ids: list[str],
                        key_points: list[str] | None) -> _Best:
        best = _Best()
        given = [r for r in references if r and r.strip()]
        refs = given or [question]
        ctr = (contrast_features(self.cache, self.tokenizer, view, question, given, self.contrast, reference_ids)
               if given else None)
        for i, ref in enumerate(refs):
            points = reference_points(ref, key_points if len(refs) == 1 else None)
            f = features(self.cache, self.tokenizer, question, view, ref, points, ctr, self.center,
                         self.pair.score(view.text, ref) if given else 0.0)
            s = self.scorer.score(ScoreInput(question=question, answer=view.text, reference=ref, features=f))
            if s > best.score:
                best = _Best(s, f, reference_ids[i] if i < len(reference_ids) else None)
        return best

    def _finish(self, score: float, flags: list[str], f: Features | None, lang: str, reference_ids: list[str],
                reason: str = "") -> Grade:
        other, wrong = None, []
        if f is not None:
            touched = f.contra_points + f.hit_share * len(f.points)
            if f.cap_points and f.cap_points / max(touched, 1) >= CONTRA_CENTRAL:
                score = min(score, 1.0)  # the central claim is wrong or reversed
            elif f.cap_points:
                score = min(score, 2.0)  # a significant error next to right points
            # Other cues are less precise: listed as wrong only when the scorer agrees the answer is weak.
            wrong = f.wrong if score <= WRONG_LISTED else f.wrong_capping
            if wrong:
                flags = [*flags, "contradiction"]
            # Across languages the margins favour any reference in the answer's own language (cross-lingual
            # cosines run lower): on the hand rows every answer capped that way deserved 1–5, so no cap there.
            if (f.has_contrast and f.other_question and f.ctr_margin < OTHER_MARGIN and f.ctr_lex_margin < 0
                    and not f.hits and not f.cross_lingual):
                other = f.other_question
                score = min(score, 1.0)
                flags = [*flags, "other_question"]
        if ZERO_FLAGS & set(flags):
            score = 0.0
        elif CAP1_FLAGS & set(flags):
            score = min(score, 1.0)
        score = round(max(0.0, min(5.0, score)), 2)
        level = int(round(score))
        zero = bool(ZERO_FLAGS & set(flags))
        g = Grade(score=score, level=level, feedback="", reference_ids=reference_ids,
                  flags=list(dict.fromkeys(flags)), reason=reason, answers_other=other,
                  key_points_hit=[] if f is None or zero else f.hits,
                  key_points_missed=[] if f is None else (f.misses if not zero else f.points),
                  right=[] if f is None or zero else f.right,
                  wrong=[] if f is None or zero else [Wrong(answer=a, reference=r) for a, r in wrong],
                  missing=[] if f is None or zero else f.misses)
        return g.model_copy(update={"feedback": compose(g, lang)})


def _bank_contrast(grader: Grader, store) -> None:
    """Give the grader the bank's other answers as its contrast set (the vectors Chroma already holds),
    rebuilt when the store changes, unless the caller gave the grader a contrast set of its own."""
    key = (id(store), getattr(store, "generation", 0))
    if grader.contrast_source not in (None, key) and not isinstance(grader.contrast_source, tuple):
        return
    if grader.contrast_source != key:
        grader.set_contrast(store, source=key)


def grade_with_bank(grader: Grader, retriever, question: str, answer: str) -> Grade:
    """Find the question in the bank (strict match on the question text) and grade against its answers.

    Without a match the answer is graded for relevance to the question only, capped at NO_REFERENCE_CAP,
    and the feedback says so; ``reference_ids`` is then empty.
    """
    _bank_contrast(grader, retriever.store)
    cands = [c for c in retriever.search(question, k=5) if c.record.kind != "passage"]
    match = max(cands, key=lambda c: c.question_dense, default=None)
    if match is not None and match.question_dense >= QUESTION_MATCH:
        rec = match.record
        if rec.kind == "choice":
            return grader.grade(question, answer, [a.text for a in rec.answers if a.text.strip()], kind="choice",
                                correct=rec.correct, reference_ids=[rec.id])
        refs = [a.text for a in rec.answers if a.text.strip()]
        if refs:
            return grader.grade(question, answer, refs, reference_ids=[rec.id] * len(refs),
                                key_points=rec.key_points or None)
    g = grader.grade(question, answer, [], cap=NO_REFERENCE_CAP)
    note = FLAG_TEXT["no_reference"][1 if language_of(answer) == "en" else 0]
    return g.model_copy(update={"feedback": f"{g.feedback}\n{note}", "flags": [*g.flags, "no_reference"],
                                "reference_ids": []})
