"""Lookup answers from the bank, with sources, and an honest "not in the bank".

Whether the best match is relevant is decided by a small logistic model over
features of the top candidate (best chunk cosine, question cosine, IDF-weighted
share of the query's words it contains, BM25, and the token alignment of query and
question both ways when the backend has token states). Its parameters come from
``bot/lookup/calibration.json``, written by ``mianshi eval search --calibrate`` from
the dev splits of ``evals/search_dev.jsonl`` on the seed bank and, with
``--calibrate-with BIG=evals/search_big_dev.jsonl``, of a several-thousand-record bank
(never a test split).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from pydantic import model_validator

from bot.lang import is_english
from bot.lookup.retrieval import Candidate, Retriever, reference_text
from ingest.errors import ModelLoadError
from ingest.schema import Strict

CALIBRATION = Path(__file__).with_name("calibration.json")
NOT_FOUND_ZH = "题库中没有找到相关问题。"
NOT_FOUND_EN = "The question bank has nothing on this."


FEATURES = ("dense", "question_dense", "coverage", "log_bm25", "missing_idf", "unknown_names", "align_query",
            "align_question")
# The alignments say how much of the query the question itself speaks to. Judged on a bank the model never saw
# (fitted on the big bank's spent sets only, applied to the seed bank's), they raised in-bank queries answered
# with the right record from 0.675 to 0.746 and off-topic abstention from 0.968 to 1.0 (evals/reports/search.md).


class Calibration(Strict):
    """A logistic model of P(the top record answers the query) over standardised features."""

    mean: list[float]
    scale: list[float]
    weights: list[float]
    bias: float
    threshold: float = 0.5
    embedder: str = ""
    fitted_on: str = ""

    @model_validator(mode="after")
    def _one_number_per_feature(self) -> "Calibration":
        # A stale entry with fewer weights than features would otherwise be silently truncated by zip().
        sizes = {"mean": len(self.mean), "scale": len(self.scale), "weights": len(self.weights)}
        if any(n != len(FEATURES) for n in sizes.values()):
            raise ValueError(f"{sizes} do not match the {len(FEATURES)} features {FEATURES}")
        return self


def features(c: Candidate) -> list[float | None]:
    """The model's inputs; None for the alignments when they were not measured (no token states)."""
    aligned = c.align_query != 0.0 or c.align_question != 0.0
    return [c.dense, c.question_dense, c.coverage, math.log1p(c.bm25), c.missing_idf, float(c.unknown_names),
            c.align_query if aligned else None, c.align_question if aligned else None]


def relevance(c: Candidate, cal: Calibration) -> float:
    # An unmeasured feature stands at its training mean: it moves the decision neither way.
    z = cal.bias + sum(w * ((m if x is None else x) - m) / s
                       for w, x, m, s in zip(cal.weights, features(c), cal.mean, cal.scale, strict=True))
    return 1.0 / (1.0 + math.exp(-z))


class Source(Strict):
    id: str
    question: str
    source: str


class AskResult(Strict):
    answer: str
    sources: list[Source]
    grounded: bool


def load_calibration(embedder_name: str, path: Path = CALIBRATION) -> Calibration:
    """The abstention model fitted for this embedder (``default`` for one without its own entry)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Calibration.model_validate(data.get(embedder_name) or data["default"])
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(
            f"lookup calibration {path} has no valid entry for '{embedder_name}' ({exc}) — refit it with "
            f"`MIANSHI_EMBEDDER=... mianshi eval search --calibrate` on a store built with that embedder") from None


def is_relevant(c: Candidate, cal: Calibration) -> bool:
    return relevance(c, cal) >= cal.threshold


def ask(retriever: Retriever, query: str, cal: Calibration, *, max_sources: int = 2) -> AskResult:
    cands = retriever.search(query, k=5)
    relevant = [c for c in cands if is_relevant(c, cal)]
    if not relevant:
        return AskResult(answer=NOT_FOUND_EN if is_english(query) else NOT_FOUND_ZH, sources=[], grounded=False)
    best = relevant[0]
    # A second record is cited only when it is nearly as good: same concept asked in another page.
    chosen = [best] + [c for c in relevant[1:max_sources] if c.dense >= best.dense - 0.02]
    parts, sources = [], []
    for n, c in enumerate(chosen, 1):
        rec = c.record
        body = reference_text(rec) or "(题库中此题没有参考答案 no reference answer in the bank)"
        src = rec.answers[0].where() if rec.answers else ""
        parts.append(f"[{n}] {rec.question}\n{body}")
        sources.append(Source(id=rec.id, question=rec.question, source=src))
    return AskResult(answer="\n\n".join(parts), sources=sources, grounded=True)
