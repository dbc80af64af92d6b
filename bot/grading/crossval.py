"""Honest numbers for a scorer that is fitted on every labelled file: each labelled row is graded, through the
whole grader (guards, caps, contrast), by a model fitted without its question (grouped out-of-fold); each
public set is graded by a model fitted without that set (cross-domain)."""

from __future__ import annotations

from bot.grading.data import GradeRow
from bot.grading.evaluation import grade_rows
from bot.grading.fitting import Inspected, fit_inspected, use
from bot.grading.folds import FOLDS, group_folds
from bot.grading.grader import Grader
from bot.grading.model import ModelParams


def _fixed_choice(params: ModelParams) -> tuple[tuple[str, float], tuple[str, float]]:
    """(model choice, stretch) of the model and of its fallback, as chosen on all rows (an older file without a
    choice was a logistic regression with its C)."""
    fb = params.fallback if params.fallback is not None else params
    return tuple((p.choice or f"lr:{p.C}", p.stretch) for p in (params, fb))


def out_of_fold(grader: Grader, inspected: list[Inspected], sets: dict[str, list[GradeRow]], params: ModelParams,
                fold_heads: list, folds: int = FOLDS,
                progress=None) -> dict[str, tuple[list[tuple[GradeRow, float]], list[float]]]:
    """Every row of ``sets`` graded by a model — scorer and pair head — fitted on the training rows of the
    other questions (``fold_heads``: ``pairfit.rows_out_of_fold``'s heads, one per fold of the same split)."""
    center = list(params.center)
    parts = group_folds([x.row.group for x in inspected], folds)
    if len(fold_heads) != len(parts):
        raise ValueError(f"{len(fold_heads)} pair heads for {len(parts)} folds")
    shipped = grader.pair.head
    out: dict[str, tuple[list, list]] = {name: ([], []) for name in sets}
    try:
        for held, head in zip(parts, fold_heads):
            grader.pair.head = head
            use(grader, fit_inspected([x for x in inspected if x.row.group not in held], center,
                                      _fixed_choice(params)))
            for name, rows in sets.items():
                scored, times = grade_rows(grader, [r for r in rows if r.question in held], progress)
                out[name][0].extend(scored)
                out[name][1].extend(times)
        # Rows no training row shares a question with (multiple choice: graded by rule) need no held-out model.
        grader.pair.head = shipped
        use(grader, params)
        seen = set().union(*parts)
        for name, rows in sets.items():
            scored, times = grade_rows(grader, [r for r in rows if r.question not in seen], progress)
            out[name][0].extend(scored)
            out[name][1].extend(times)
    finally:
        grader.pair.head = shipped
        use(grader, params)
    return out


def cross_domain(grader: Grader, inspected: list[Inspected], name: str, rows: list[GradeRow],
                 params: ModelParams, progress=None) -> tuple[list[tuple[GradeRow, float]], list[float]]:
    """``rows`` (one public set) graded by a model fitted on every training row except that set's."""
    try:
        use(grader, fit_inspected([x for x in inspected if x.row.dataset != name], list(params.center),
                                  _fixed_choice(params)))
        return grade_rows(grader, rows, progress)
    finally:
        use(grader, params)
