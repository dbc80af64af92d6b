"""Grade an interview answer 0–5 against reference answers, offline.

The rubric's wording (docs, eval labels, feedback and the LLM judge use it) is ``bot.texts.RUBRIC``.

Guards run first and cap the score; the fitted scorer (``bot.grading.model``) scores the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from bot.grading import features as gf
from bot.lang import is_english
from bot.grading.model import LinearOrdinalScorer, ModelParams, ScoreInput, Scorer, load_params
from bot.grading.schema import CAP1_FLAGS, ZERO_FLAGS, Grade
from bot.texts import FLAG_TEXT, RUBRIC

COPY_RATIO = 0.75
# The off-topic guard's threshold on relevance (max of answer–question and answer–reference cosine, plus a
# fitted shift for English answers, whose cross-lingual cosines sit lower) is fitted on the train split and
# stored in grader_model.json; these are only the fallback when a model file carries none.
OFFTOPIC_DEFAULT = 0.86
ENGLISH_SHIFT_DEFAULT = 0.085
PADDING_REP = 0.6
PADDING_REP_LONG = 0.4
QUESTION_MATCH = 0.92  # question_dense above which a bank record is taken to be the same question
NO_REFERENCE_CAP = 2.0

_LETTERS = re.compile(r"(?<![A-Za-z])([A-Fa-f])(?![A-Za-z])")
_LETTER_RUN = re.compile(r"(?<![A-Za-z])([A-Fa-f]{1,6})(?![A-Za-z])")


def parse_choice(answer: str) -> set[str]:
    """Letters an MCQ answer picks: "C", "选C", "答案是A和D", "AD", "a, d"."""
    text = gf.normalize(answer)
    runs = _LETTER_RUN.findall(text)
    if len(runs) == 1:
        return set(runs[0].upper())
    # Several separate tokens: keep only single letters so words like "ad hoc" or "cafe" do not count.
    return {m.upper() for m in _LETTERS.findall(text)}


@dataclass
class _Best:
    score: float = -1.0
    features: gf.Features | None = None
    reference_id: str | None = None
    contradictions: list[str] = field(default_factory=list)


def relevance(f: gf.Features, english_shift: float) -> float:
    """How related the answer is to the question or its reference, on the Chinese answers' scale."""
    return max(f.rel_q, f.ans_ref) + (english_shift if f.english else 0.0)


class Grader:
    """Build once (model loaded, caches warm) and call ``grade`` per answer. Thread-unsafe caches: one per worker.

    ``contrast``: other questions' references, so the grader can tell a right answer to a *different* question
    from a right answer to this one — a ``gf.ContrastSet``, a list of (question, reference) pairs, or a Store
    (its answer chunks and their stored vectors). Without one, the fallback model (no contrast features) scores.
    """

    def __init__(self, embedder, tokenizer, model_params: dict | None = None, scorer: Scorer | None = None,
                 contrast=None) -> None:
        self.tokenizer = tokenizer
        self.cache = gf.EmbedCache(embedder)
        params = None
        if model_params is not None:
            params = ModelParams.model_validate(model_params)
        elif scorer is None or not hasattr(scorer, "offtopic"):
            try:
                params = load_params()
            except Exception:  # a custom scorer without a model file: default guard thresholds
                if scorer is None:
                    raise
        if scorer is None:
            scorer = LinearOrdinalScorer(params)
        self.scorer = scorer
        src = getattr(scorer, "params", None) or params
        self.offtopic = getattr(src, "offtopic", 0.0) or OFFTOPIC_DEFAULT
        self.english_shift = getattr(src, "english_shift", 0.0) or ENGLISH_SHIFT_DEFAULT
        center = getattr(src, "center", None)
        self.center = np.asarray(center, dtype=np.float32) if center else None
        self.contrast: gf.ContrastSet | None = None
        self.contrast_source: object = None  # "caller", or the (store, generation) the bank set came from
        if contrast is not None:
            self.set_contrast(contrast)

    def set_contrast(self, contrast, source: object = "caller") -> None:
        """Replace the contrast set (see the class docstring for what it may be)."""
        self.contrast_source = source if contrast is not None else None
        if contrast is None or isinstance(contrast, gf.ContrastSet):
            self.contrast = contrast
        elif hasattr(contrast, "answer_chunk_vectors"):
            self.contrast = gf.ContrastSet.from_store(contrast, self.cache)
        else:
            self.contrast = gf.ContrastSet.from_pairs(self.cache, self.tokenizer, [tuple(p) for p in contrast])

    # ------------------------------------------------------------ public

    def grade(self, question: str, answer: str, references: list[str], *, kind: str = "open",
              correct: str | None = None, reference_ids: list[str] = (), key_points: list[str] | None = None,
              cap: float | None = None) -> Grade:
        answer = gf.normalize(answer or "")
        english = is_english(answer)
        if kind == "choice":
            return self._grade_choice(answer, correct or (references[0] if references else ""),
                                      list(reference_ids), english)
        flags: list[str] = []
        if gf.injection_spans(answer):
            flags.append("injection")
            answer = gf.strip_injection(answer)  # grade what is left, then the flag sets 0
        early = self.early_flags(question, answer)
        if early:
            flags += [] if flags and early == ["empty"] else early  # nothing left but the injection itself
            return self._finish(0.0, flags, None, [], english, list(reference_ids)[:1])
        view = gf.view_answer(self.cache, self.tokenizer, question, answer)
        best = self._best_reference(question, view, references, list(reference_ids), key_points)
        f = best.features
        flags += self._late_flags(answer, view, f, self.offtopic)
        score = best.score
        if cap is not None:
            score = min(score, cap)
        return self._finish(score, flags, f, best.contradictions, english,
                            [best.reference_id] if best.reference_id else [])

    def prepare(self, question: str, references: list[str], key_points: list[str] | None = None) -> None:
        """Encode a question's references, key points and chunks ahead of time (the per-answer path stays warm)."""
        refs = [r for r in references if r and r.strip()]
        self.cache.get([question], "query")
        self.cache.get([question, *refs, *(p for r in refs for p in gf.reference_points(r, key_points)),
                        *(c for r in refs for c in gf.reference_chunks(gf.normalize(r)))])
        for t in (question, *refs, *(p for r in refs for p in gf.reference_points(r, key_points))):
            self.cache.tokens(self.tokenizer, t)

    def inspect(self, question: str, answer: str, reference: str) -> tuple[gf.Features | None, list[str]]:
        """Features and guard flags for one reference, without scoring: what ``fit`` trains on.

        The off-topic guard is left out of the flags: its threshold is what ``fit`` chooses.
        """
        answer = gf.normalize(answer or "")
        flags = ["injection"] if gf.injection_spans(answer) else []
        if flags:
            answer = gf.strip_injection(answer)
        early = self.early_flags(question, answer)
        if early:
            return None, flags + early
        view = gf.view_answer(self.cache, self.tokenizer, question, answer)
        ctr = gf.contrast_features(self.cache, self.tokenizer, view, question, [reference], self.contrast)
        f = gf.features(self.cache, self.tokenizer, question, view, reference, gf.reference_points(reference), ctr,
                       self.center)
        return f, flags + self._late_flags(answer, view, f, None)

    # ------------------------------------------------------------ stages

    @staticmethod
    def early_flags(question: str, answer: str) -> list[str]:
        """Guards that need no model: an answer that trips one is 0 (or ≤1) whatever it resembles."""
        if not re.sub(r"[\W_]", "", answer):
            return ["empty"]
        if gf.looks_like_dont_know(answer):
            return ["dont_know"]
        if gf.copy_ratio(question, answer) >= COPY_RATIO and len(answer) <= 1.6 * len(question) + 4:
            return ["copy"]
        return []

    def _late_flags(self, answer: str, view: gf.AnswerView, f: gf.Features, offtopic: float | None) -> list[str]:
        flags = []
        if offtopic is not None and relevance(f, self.english_shift) < offtopic:
            flags.append("offtopic")
        if gf.is_one_word(answer):
            flags.append("empty")
        elif gf.is_keyword_pile(answer, view.tokens):
            flags.append("keywords")
        rep = gf.repetition(view.tokens)
        if rep >= PADDING_REP or rep >= PADDING_REP_LONG and len(answer) >= 80 and f.lex_precision < 0.2:
            flags.append("padding")
        return flags

    def _best_reference(self, question: str, view: gf.AnswerView, references: list[str],
                        reference_ids: list[str], key_points: list[str] | None) -> _Best:
        best = _Best()
        given = [r for r in references if r and r.strip()]
        refs = given or [question]
        ctr = (gf.contrast_features(self.cache, self.tokenizer, view, question, given, self.contrast, reference_ids)
               if given else None)
        for i, ref in enumerate(refs):
            points = gf.reference_points(ref, key_points if len(refs) == 1 else None)
            f = gf.features(self.cache, self.tokenizer, question, view, ref, points, ctr, self.center)
            s = self.scorer.score(ScoreInput(question=question, answer=view.text, reference=ref, features=f))
            if s > best.score:
                rid = reference_ids[i] if i < len(reference_ids) else None
                best = _Best(s, f, rid, gf.contradictions(ref, view.text, self.tokenizer))
        return best

    def _grade_choice(self, answer: str, correct: str, reference_ids: list[str], english: bool) -> Grade:
        want = parse_choice(correct)
        got = parse_choice(answer)
        flags = ["injection"] if gf.injection_spans(answer) else []
        ok = bool(want) and got == want and not flags
        score = 5.0 if ok else 0.0
        if english:
            detail = f"you chose {''.join(sorted(got)) or 'nothing'}, the answer is {''.join(sorted(want)) or '?'}"
        else:
            detail = f"你选了{''.join(sorted(got)) or '（未识别到选项）'}，正确答案是{''.join(sorted(want)) or '?'}"
        level = RUBRIC["en" if english else "zh"][int(score)]
        return Grade(score=score, level=int(score), feedback=f"{level}。{detail}" if not english else f"{level}. {detail}",
                     key_points_hit=[], key_points_missed=[], reference_ids=reference_ids, flags=flags)

    def _finish(self, score: float, flags: list[str], f: gf.Features | None, contra: list[str], english: bool,
                reference_ids: list[str]) -> Grade:
        if ZERO_FLAGS & set(flags):
            score = 0.0
        elif CAP1_FLAGS & set(flags):
            score = min(score, 1.0)
        score = round(max(0.0, min(5.0, score)), 2)
        level = int(round(score))
        hits = f.hits if f else []
        misses = f.misses if f else []
        if contra:
            flags = [*flags, "contradiction"]
        if f is not None and f.has_contrast and f.ctr_margin < 0 and f.ctr_lex_margin < 0 and score <= 1.5 \
                and not ZERO_FLAGS & set(flags):
            flags = [*flags, "other_question"]  # both the dense and the term contrast point elsewhere
        return Grade(score=score, level=level, feedback=feedback(level, flags, hits, misses, contra, english),
                     key_points_hit=hits, key_points_missed=misses, reference_ids=reference_ids,
                     flags=list(dict.fromkeys(flags)))


def _short(p: str, n: int = 40) -> str:
    return p if len(p) <= n else p[: n - 1] + "…"


def feedback(level: int, flags: list[str], hits: list[str], misses: list[str], contra: list[str],
             english: bool) -> str:
    """Rubric level, then what was right, then what was missing or wrong: a few short lines."""
    i = 1 if english else 0
    lines = [RUBRIC["en" if english else "zh"][level]]
    for fl in flags:
        if fl in FLAG_TEXT:
            lines.append(("Note: " if english else "注意：") + FLAG_TEXT[fl][i])
    if contra:
        lines.append((f"Possible contradiction with the reference about: {', '.join(contra)}" if english
                      else f"可能与参考答案矛盾：{'、'.join(contra)}"))
    graded = not (ZERO_FLAGS & set(flags))
    if graded and hits:
        lines.append(("Covered: " if english else "答到的要点：") + ("; " if english else "；").join(_short(h) for h in hits[:4]))
    if graded and misses:
        lines.append(("Missing: " if english else "缺少的要点：") + ("; " if english else "；").join(_short(m) for m in misses[:4]))
    return "\n".join(lines)


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
            return grader.grade(question, answer, [rec.correct or ""], kind="choice", correct=rec.correct,
                                reference_ids=[rec.id])
        refs = [a.text for a in rec.answers if a.text.strip()]
        if refs:
            return grader.grade(question, answer, refs, reference_ids=[rec.id] * len(refs),
                                key_points=rec.key_points or None)
    g = grader.grade(question, answer, [], cap=NO_REFERENCE_CAP)
    english = is_english(answer)
    note = FLAG_TEXT["no_reference"][1 if english else 0]
    return g.model_copy(update={"feedback": f"{g.feedback}\n{note}", "flags": [*g.flags, "no_reference"],
                                "reference_ids": []})
