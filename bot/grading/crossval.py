"""Honest numbers for a scorer that is fitted on every labelled file: each labelled row is graded, through the
whole grader (guards, caps, contrast), by a model fitted without its question (grouped out-of-fold); each
public set is graded by a model fitted without that set (cross-domain)."""

from __future__ import annotations

from collections import defaultdict

from bot.grading.data import GradeRow
from bot.grading.evaluation import grade_rows
from bot.grading.fitting import Inspected, fit_inspected, use
from bot.grading.grader import Grader
from bot.grading.model import ModelParams

FOLDS = 5


def _fixed_c(params: ModelParams) -> tuple[float, float]:
    return params.C, params.fallback.C if params.fallback is not None else params.C


def _folds(groups: list[str], n: int) -> list[set[str]]:
    """Groups dealt round-robin by size (largest first) so folds hold similar numbers of rows."""
    sizes: dict[str, int] = defaultdict(int)
    for g in groups:
        sizes[g] += 1
    folds: list[set[str]] = [set() for _ in range(n)]
    load = [0] * n
    for g in sorted(sizes, key=lambda k: (-sizes[k], k)):
        i = min(range(n), key=lambda k: (load[k], k))
        folds[i].add(g)
        load[i] += sizes[g]
    return folds


def out_of_fold(grader: Grader, inspected: list[Inspected], sets: dict[str, list[GradeRow]], params: ModelParams,
                folds: int = FOLDS, progress=None) -> dict[str, tuple[list[tuple[GradeRow, float]], list[float]]]:
    """Every row of ``sets`` graded by a model fitted on the training rows of the other questions."""
    center = list(params.center)
    parts = _folds([x.row.group for x in inspected], folds)
    out: dict[str, tuple[list, list]] = {name: ([], []) for name in sets}
    try:
        for held in parts:
            use(grader, fit_inspected([x for x in inspected if x.row.group not in held], center, _fixed_c(params)))
            for name, rows in sets.items():
                scored, times = grade_rows(grader, [r for r in rows if r.question in held], progress)
                out[name][0].extend(scored)
                out[name][1].extend(times)
        # Rows no training row shares a question with (multiple choice: graded by rule) need no held-out model.
        use(grader, params)
        seen = set().union(*parts)
        for name, rows in sets.items():
            scored, times = grade_rows(grader, [r for r in rows if r.question not in seen], progress)
            out[name][0].extend(scored)
            out[name][1].extend(times)
    finally:
        use(grader, params)
    return out


def cross_domain(grader: Grader, inspected: list[Inspected], name: str, rows: list[GradeRow],
                 params: ModelParams, progress=None) -> tuple[list[tuple[GradeRow, float]], list[float]]:
    """``rows`` (one public set) graded by a model fitted on every training row except that set's."""
    try:
        use(grader, fit_inspected([x for x in inspected if x.row.dataset != name], list(params.center),
                                  _fixed_c(params)))
        return grade_rows(grader, rows, progress)
    finally:
        use(grader, params)
