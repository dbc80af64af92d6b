"""Grading quality: grade labelled rows and measure agreement with the human labels, overall, per answer kind
(tag) and per dataset; latency per answer. Data: ``bot.grading.data``; fitting: ``bot.grading.fitting``."""

from __future__ import annotations

import random
import time
from collections import defaultdict

import numpy as np
from pydantic import Field

from bot.grading.data import GradeRow
from bot.grading.fitting import TrainRow
from bot.grading.grader import Grader
from bot.grading.metrics import metrics
from bot.grading.synth import generate
from ingest.schema import Strict

ADVERSARIAL = "adversarial"
PUBLIC_SAMPLE = 400  # rows per public set per run: enough for a stable Pearson, minutes not hours on 2 cores


class GradeReport(Strict):
    name: str
    n: int
    qwk: float
    spearman: float
    pearson: float
    mae: float
    confusion: list[list[int]] = Field(description="rows: human label 0–5, columns: predicted level 0–5")
    per_tag: dict[str, dict[str, float]]
    adversarial_max: float
    latency_ms_p50: float
    latency_ms_p95: float
    worst: list[dict] = Field(default_factory=list)


def bank_records(store) -> list[tuple[str, str, list[str], list[str]]]:
    """(question, first reference, key points, topics) of every answered open bank record."""
    out = []
    for rec in store.records_by(kinds=("open",)):
        refs = [a.text for a in rec.answers if a.text.strip()]
        if refs:
            out.append((rec.question, refs[0], list(rec.key_points), list(rec.topics)))
    return out


def synthetic_rows(records, seed: int = 0, per_kind: int = 3) -> list[TrainRow]:
    return [TrainRow(s.question, s.reference, s.answer, s.label, s.group, f"synthetic:{s.kind}", "synthetic")
            for s in generate(records, seed=seed, per_kind=per_kind)]


def sample(rows: list[GradeRow], n: int = PUBLIC_SAMPLE, seed: int = 0) -> list[GradeRow]:
    return rows if len(rows) <= n else random.Random(seed).sample(rows, n)


def grade_rows(grader: Grader, rows: list[GradeRow], progress=None) -> tuple[list[tuple[GradeRow, float]], list[float]]:
    """Each row graded against its own reference (as given in the row); latency per answer, references warm."""
    scored, times = [], []
    for i, r in enumerate(rows):
        if r.is_choice:
            t0 = time.perf_counter()
            s = grader.grade(r.question, r.answer, [r.reference], kind="choice", correct=r.reference).score
        else:
            grader.prepare(r.question, [r.reference])
            t0 = time.perf_counter()
            s = grader.grade(r.question, r.answer, [r.reference], reference_ids=[r.id]).score
        times.append((time.perf_counter() - t0) * 1000)
        scored.append((r, s))
        if progress:
            progress("grade", i + 1, len(rows))
    return scored, times


def report(name: str, scored: list[tuple[GradeRow, float]], times: list[float]) -> GradeReport:
    y = np.asarray([r.label for r, _ in scored])
    p = np.asarray([s for _, s in scored])
    m = metrics(y, p)
    conf = [[0] * 6 for _ in range(6)]
    for r, s in scored:
        conf[r.label][int(np.clip(round(s), 0, 5))] += 1
    tags: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for r, s in scored:
        for t in r.tags:
            tags[t].append((r.label, s))
    per_tag = {t: {"n": len(v), "label_mean": round(float(np.mean([a for a, _ in v])), 2),
                   "pred_mean": round(float(np.mean([b for _, b in v])), 2),
                   "mae": round(float(np.mean([abs(a - b) for a, b in v])), 3),
                   "max_score": round(max(b for _, b in v), 2)} for t, v in sorted(tags.items())}
    adv = [s for r, s in scored if ADVERSARIAL in r.tags]
    worst = sorted(scored, key=lambda rs: -abs(rs[0].label - rs[1]))[:10]
    return GradeReport(
        name=name, n=len(scored), qwk=round(m["qwk"], 4), spearman=round(m["spearman"], 4),
        pearson=round(m["pearson"], 4), mae=round(m["mae"], 4), confusion=conf, per_tag=per_tag,
        adversarial_max=round(max(adv, default=0.0), 2),
        latency_ms_p50=round(float(np.percentile(times, 50)), 1) if times else 0.0,
        latency_ms_p95=round(float(np.percentile(times, 95)), 1) if times else 0.0,
        worst=[{"id": r.id, "label": r.label, "score": round(s, 2), "answer": r.answer[:70]} for r, s in worst],
    )


def bank_latency(grader: Grader, retriever, rows: list[GradeRow]) -> tuple[float, float]:
    """ms per answer on the bank path (no reference given: the question is looked up), p50 and p95."""
    from bot.grading.grader import grade_with_bank

    for r in rows[:3]:
        grade_with_bank(grader, retriever, r.question, r.answer)  # warm: contrast set, caches
    times = []
    for r in rows:
        t0 = time.perf_counter()
        grade_with_bank(grader, retriever, r.question, r.answer)
        times.append((time.perf_counter() - t0) * 1000)
    return round(float(np.percentile(times, 50)), 1), round(float(np.percentile(times, 95)), 1)
