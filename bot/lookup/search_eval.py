"""Lookup quality on the dev set: hit@k, MRR and abstention, plus threshold calibration."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field

from bot.lookup.ask import CALIBRATION, Calibration, is_relevant
from bot.lookup.rerank import DEPTH, FEATURES, RERANK_PATH, Reranker, RerankModel, save_reranker
from bot.lookup.retrieval import Candidate, Retriever, rerank_rows
from bot.jsonl import read_models
from ingest.schema import Strict


class SearchRow(Strict):
    query: str
    expect: list[str]
    split: str
    tags: list[str] = Field(default_factory=list)


class Miss(Strict):
    query: str
    expect: list[str]
    got: list[str]


class SearchReport(Strict):
    split: str
    embedder: str
    in_bank: int
    off_topic: int
    hit1: float
    hit3: float
    mrr: float
    answered_correctly: float = Field(description="in-bank queries answered (not abstained) with a right record")
    abstain_accuracy: float = Field(description="off-topic queries that abstained")
    misses: list[Miss]
    wrongly_answered: list[str]


def load_rows(path: Path) -> list[SearchRow]:
    return read_models(path, SearchRow, missing=f"找不到评测集 no eval set at {path} — give one with --data")


def _matches(c: Candidate, expect: list[str]) -> bool:
    """An expectation is a piece of the right record's question, or ``=question`` for the whole of it (for a
    short question such as "防止过拟合" that many other questions contain). Question text, not record ids,
    so an eval set survives parser changes that re-key records."""
    q = c.record.question.strip()
    return any(q == e[1:].strip() if e.startswith("=") else e in q for e in expect)


def _run(retriever: Retriever, rows: list[SearchRow]) -> list[tuple[SearchRow, list[Candidate]]]:
    return [(r, retriever.search(r.query, k=5)) for r in rows]


def select(rows: list[SearchRow], split: str, tag: str | None = None) -> list[SearchRow]:
    """Rows of one split ("all" for both), optionally only those carrying ``tag``."""
    return [r for r in rows if (split == "all" or r.split == split) and (tag is None or tag in r.tags)]


def evaluate(retriever: Retriever, rows: list[SearchRow], split: str, embedder: str,
             cal: Calibration | None = None, tag: str | None = None) -> SearchReport:
    from bot.lookup.ask import load_calibration

    cal = cal or load_calibration(embedder)
    rows = select(rows, split, tag)
    results = _run(retriever, rows)
    inbank = [(r, c) for r, c in results if r.expect]
    off = [(r, c) for r, c in results if not r.expect]
    hit1 = hit3 = rr = answered = 0.0
    misses = []
    for r, cands in inbank:
        rank = next((i for i, c in enumerate(cands) if _matches(c, r.expect)), None)
        if rank is not None:
            hit1 += rank == 0
            hit3 += rank < 3
            rr += 1 / (rank + 1)
        if rank is None or rank >= 3:
            misses.append(Miss(query=r.query, expect=r.expect, got=[c.record.question for c in cands[:3]]))
        relevant = [c for c in cands if is_relevant(c, cal)]
        answered += bool(relevant) and _matches(relevant[0], r.expect)
    abstained = [not any(is_relevant(c, cal) for c in cands) for _, cands in off]
    n = max(len(inbank), 1)
    return SearchReport(
        split=split, embedder=embedder, in_bank=len(inbank), off_topic=len(off),
        hit1=round(hit1 / n, 4), hit3=round(hit3 / n, 4), mrr=round(rr / n, 4),
        answered_correctly=round(answered / n, 4),
        abstain_accuracy=round(sum(abstained) / max(len(off), 1), 4),
        misses=misses,
        wrongly_answered=[r.query for (r, _), ok in zip(off, abstained) if not ok],
    )


def fit_reranker(banks: list[tuple[Retriever, list[SearchRow]]], split: str = "dev",
                 path: Path = RERANK_PATH) -> RerankModel | None:
    """Fit the reranker on the in-bank rows of ``split`` over every bank: each query's fused top ``DEPTH``
    candidates are rows, the right records positives. None when the embedder has no token states. The
    retrievers use the new model afterwards."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    model_name = getattr(banks[0][0].store.embedder, "states_model", None)
    if model_name is None:
        return None
    blank = Reranker(RerankModel(states_model=model_name, mean=[0.0] * len(FEATURES), scale=[1.0] * len(FEATURES),
                                 weights=[0.0] * len(FEATURES), bias=0.0, fitted_on="unfitted"))
    xs, ys, queries = [], [], 0
    for ret, rs in banks:
        ret.reranker = blank  # alignments measured, fused order kept
        for r in select([r for r in rs if r.expect], split):
            cands = ret.search(r.query, k=DEPTH, rerank=False)
            if not cands:
                continue
            queries += 1
            xs.append(rerank_rows(cands))
            ys += [_matches(c, r.expect) for c in cands]
    x, y = np.vstack(xs), np.array(ys, dtype=int)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    # C=0.1: the same held-out hit@3 as C=1 in grouped cross-validation (evals/reports/search.md), smaller weights.
    fit = LogisticRegression(C=0.1, class_weight="balanced", max_iter=2000).fit((x - mean) / scale, y)
    model = RerankModel(states_model=model_name, mean=mean.round(6).tolist(), scale=scale.round(6).tolist(),
                        weights=fit.coef_[0].round(6).tolist(), bias=round(float(fit.intercept_[0]), 6),
                        fitted_on=f"{split} split, {queries} queries over {len(banks)} bank(s)")
    save_reranker(model, path)
    for ret, _ in banks:
        ret.reranker = Reranker(model)
    return model


def calibrate(retriever: Retriever, rows: list[SearchRow], embedder: str, path: Path = CALIBRATION,
              also: list[tuple[Retriever, list[SearchRow]]] = (), split: str = "dev") -> Calibration:
    """Fit the abstention model on dev splits only: in-bank queries are positives, off-topic negatives.

    ``also`` adds the dev rows of other banks (a few-thousand-record bank beside the seed bank), so the
    decision is fitted on banks of both sizes: with more records the best wrong candidate of an off-topic
    query scores higher, and a threshold fitted on the seed bank alone would answer it. Class weights are
    balanced because off-topic queries are the minority but a wrong confident citation costs more than
    an honest "not in the bank".
    """
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from bot.lookup.ask import features

    dev = []
    for ret, rs in [(retriever, rows), *also]:
        dev += [(r, c[0]) for r, c in _run(ret, select(rs, split)) if c]
    x = np.array([features(c) for _, c in dev], dtype=float)  # an unmeasured feature (None) is nan
    y = np.array([bool(r.expect) for r, _ in dev], dtype=int)
    seen = ~np.isnan(x)
    x = np.where(seen, x, np.nansum(x, axis=0) / np.maximum(seen.sum(axis=0), 1))
    # A feature that never varies (never measured, for a backend without token states) gets weight 0, scale 1.
    mean, std = x.mean(axis=0), x.std(axis=0)
    scale = np.where(std > 1e-6, std, 1.0)
    model = LogisticRegression(C=1.0, class_weight="balanced").fit((x - mean) / scale, y)
    banks = 1 + len(also)
    cal = Calibration(mean=mean.round(6).tolist(), scale=scale.round(6).tolist(),
                      weights=model.coef_[0].round(6).tolist(), bias=round(float(model.intercept_[0]), 6),
                      threshold=0.5, embedder=embedder,
                      fitted_on=f"{split} split, {len(dev)} queries over {banks} bank{'s' if banks > 1 else ''}")
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data[embedder] = cal.model_dump()
    if len(data.get("default", {}).get("weights", ())) != len(cal.weights):  # an entry of an older feature set
        data["default"] = cal.model_dump()
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return cal


def format_report(r: SearchReport) -> str:
    lines = [
        f"lookup eval — split {r.split}, embedder {r.embedder}: {r.in_bank} in-bank, {r.off_topic} off-topic",
        f"  hit@1 {r.hit1:.3f}   hit@3 {r.hit3:.3f}   MRR {r.mrr:.3f}",
        f"  answered with a right record {r.answered_correctly:.3f}   off-topic abstained {r.abstain_accuracy:.3f}",
    ]
    for m in r.misses:
        lines.append(f"  miss: {m.query!r} expected {m.expect} got {m.got}")
    for q in r.wrongly_answered:
        lines.append(f"  answered off-topic: {q!r}")
    return "\n".join(lines)
