"""Grading quality on evals/grade/*.jsonl: fit the scorer on TRAIN, report agreement with human labels.

The test split is held out: ``fit`` never reads its rows. Splits are fixed by question in the data,
and cross-validation on train groups folds by question too, so a question's answers never sit on both
sides of a fold.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from pydantic import Field

from bot.grade_features import FEATURE_NAMES, Features
from bot.grade_model import MODEL_PATH, LinearOrdinalScorer, ModelParams
from bot.grading import CAP1_FLAGS, ZERO_FLAGS, Grader
from ingest.errors import BadInputLine, InputError
from ingest.schema import Strict

EVAL_DIR = Path("evals/grade")
REPORT_DIR = Path("evals/reports")
ADVERSARIAL = "adversarial"
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)


class GradeRow(Strict):
    id: str
    question: str
    reference: str
    answer: str
    label: int = Field(ge=0, le=5)
    reason: str = ""
    tags: list[str] = Field(default_factory=list)
    split: str = Field(pattern="^(train|test)$")

    @property
    def is_choice(self) -> bool:
        # MCQ rows carry the answer key ("C", "AD") as their reference.
        return "choice" in self.tags or bool(re.fullmatch(r"[A-Fa-f]{1,6}", self.reference.strip()))


class GradeReport(Strict):
    split: str
    n: int
    qwk: float
    spearman: float
    pearson: float
    mae: float
    confusion: list[list[int]] = Field(description="rows: human label 0–5, columns: predicted level 0–5")
    per_tag: dict[str, dict[str, float]]
    adversarial_max: float
    adversarial_over_1: list[str]
    latency_ms_mean: float
    latency_ms_p95: float
    worst: list[dict] = Field(default_factory=list)
    cv: dict[str, float] = Field(default_factory=dict)


def load_rows(directory: Path = EVAL_DIR) -> list[GradeRow]:
    files = sorted(Path(directory).glob("*.jsonl"))
    if not files:
        raise InputError(f"找不到评测集 no eval files in {directory} — expected evals/grade/*.jsonl")
    rows: list[GradeRow] = []
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    rows.append(GradeRow.model_validate_json(line))
                except ValueError as exc:
                    raise BadInputLine(n, f"{path.name}: {str(exc).splitlines()[0]}") from None
    return rows


def select(rows: list[GradeRow], split: str) -> list[GradeRow]:
    if split not in ("train", "test", "all"):
        raise InputError(f"unknown split '{split}' — use train, test or all")
    return [r for r in rows if split == "all" or r.split == split]


# ------------------------------------------------------------------ fitting


def _capped(raw: float, flags: list[str]) -> float:
    if ZERO_FLAGS & set(flags):
        return 0.0
    if CAP1_FLAGS & set(flags):
        return min(raw, 1.0)
    return raw


def _choice_score(grader: Grader, r: GradeRow) -> float:
    return grader.grade(r.question, r.answer, [r.reference], kind="choice", correct=r.reference).score


def fit(grader: Grader, rows: list[GradeRow], path: Path = MODEL_PATH, folds: int = 5) -> ModelParams:
    """Fit on the train split only; choose C by grouped CV QWK; write grader_model.json; return the params."""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    train = [r for r in rows if r.split == "train"]  # the test split never reaches this function's model
    inspected = [(r, *grader.inspect(r.question, r.answer, r.reference)) for r in train if not r.is_choice]
    usable = [(r, f) for r, f, flags in inspected if f is not None and not (ZERO_FLAGS | CAP1_FLAGS) & set(flags)]
    x = np.asarray([f.vector() for _, f in usable])
    y = np.asarray([r.label for r, _ in usable])
    groups = np.asarray([r.question for r, _ in usable])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    xs = (x - mean) / scale
    classes = sorted(set(y.tolist()))
    cv = GroupKFold(n_splits=min(folds, len(set(groups))))
    splits = list(cv.split(xs, y, groups))

    def oof_expected(c: float) -> np.ndarray:
        out = np.zeros(len(y))
        for tr, te in splits:
            m = LogisticRegression(C=c, max_iter=2000).fit(xs[tr], y[tr])
            out[te] = m.predict_proba(xs[te]) @ np.asarray(m.classes_, dtype=float)
        return out

    def cv_scores(e: np.ndarray) -> np.ndarray:
        # Calibrate each fold with an isotonic curve fitted on the *other* folds' out-of-fold values.
        pred = np.zeros(len(y))
        for tr, te in splits:
            iso = IsotonicRegression(y_min=0, y_max=5, out_of_bounds="clip").fit(e[tr], y[tr])
            pred[te] = iso.predict(e[te])
        return pred

    best_c, best_q, best_e = C_GRID[0], -2.0, None
    for c in C_GRID:
        e = oof_expected(c)
        q = metrics(y, cv_scores(e))["qwk"]
        if q > best_q:
            best_c, best_q, best_e = c, q, e
    model = LogisticRegression(C=best_c, max_iter=2000).fit(xs, y)
    iso = IsotonicRegression(y_min=0, y_max=5, out_of_bounds="clip").fit(best_e, y)
    # Full-pipeline CV on all train rows: guards and MCQ rules apply to the rows the model never saw.
    oof = dict(zip((r.id for r, _ in usable), cv_scores(best_e)))
    labels, preds = [], []
    for r, f, flags in inspected:
        labels.append(r.label)
        preds.append(_capped(oof.get(r.id, 0.0 if f is None else 1.0), flags))
    for r in train:
        if r.is_choice:
            labels.append(r.label)
            preds.append(_choice_score(grader, r))
    cvm = metrics(np.asarray(labels), np.asarray(preds))
    params = ModelParams(
        features=list(FEATURE_NAMES), mean=mean.tolist(), scale=scale.tolist(),
        classes=[int(c) for c in model.classes_], coef=model.coef_.tolist(), intercept=model.intercept_.tolist(),
        iso_x=[float(v) for v in iso.X_thresholds_], iso_y=[float(v) for v in iso.y_thresholds_],
        C=best_c, trained_on=f"{len(usable)} unguarded open rows of the train split ({len(train)} train rows)",
        cv={k: round(float(v), 4) for k, v in cvm.items()},
    )
    path.write_text(json.dumps(params.model_dump(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    grader.scorer = LinearOrdinalScorer(params)
    return params


# ------------------------------------------------------------------ evaluation


def metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import cohen_kappa_score

    y = np.asarray(y, dtype=float)
    pred = np.asarray(pred, dtype=float)
    rounded = np.clip(np.rint(pred), 0, 5).astype(int)
    flat = len(set(pred.tolist())) < 2 or len(set(y.tolist())) < 2
    return {
        "qwk": float(cohen_kappa_score(y.astype(int), rounded, weights="quadratic", labels=list(range(6)))),
        "spearman": 0.0 if flat else float(spearmanr(y, pred).statistic),
        "pearson": 0.0 if flat else float(pearsonr(y, pred).statistic),
        "mae": float(np.abs(y - pred).mean()),
    }


def evaluate(grader: Grader, rows: list[GradeRow], split: str, cv: dict[str, float] | None = None,
             progress=None) -> tuple[GradeReport, list[tuple[GradeRow, float]]]:
    rows = select(rows, split)
    scored: list[tuple[GradeRow, float]] = []
    times: list[float] = []
    for i, r in enumerate(rows):
        # Latency is per answer with the reference already encoded (the bank's key points are cached once).
        grader.prepare(r.question, [r.reference])
        t0 = time.perf_counter()
        if r.is_choice:
            s = _choice_score(grader, r)
        else:
            s = grader.grade(r.question, r.answer, [r.reference], reference_ids=[r.id]).score
        times.append((time.perf_counter() - t0) * 1000)
        scored.append((r, s))
        if progress:
            progress("grade", i + 1, len(rows))
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
    per_tag = {t: {"n": len(v), "mae": round(float(np.mean([abs(a - b) for a, b in v])), 3),
                   "max_score": round(max(b for _, b in v), 2)} for t, v in sorted(tags.items())}
    adv = [(r, s) for r, s in scored if ADVERSARIAL in r.tags]
    worst = sorted(scored, key=lambda rs: -abs(rs[0].label - rs[1]))[:12]
    return GradeReport(
        split=split, n=len(scored), qwk=round(m["qwk"], 4), spearman=round(m["spearman"], 4),
        pearson=round(m["pearson"], 4), mae=round(m["mae"], 4), confusion=conf, per_tag=per_tag,
        adversarial_max=round(max((s for _, s in adv), default=0.0), 2),
        adversarial_over_1=[r.id for r, s in adv if s > 1],
        latency_ms_mean=round(float(np.mean(times)), 1) if times else 0.0,
        latency_ms_p95=round(float(np.percentile(times, 95)), 1) if times else 0.0,
        worst=[{"id": r.id, "label": r.label, "score": s, "answer": r.answer[:80]} for r, s in worst],
        cv=cv or {},
    ), scored


def format_report(rep: GradeReport) -> str:
    lines = [
        f"# Grading eval — split {rep.split} ({rep.n} rows)",
        "",
        f"- QWK {rep.qwk:.3f} · Spearman {rep.spearman:.3f} · Pearson {rep.pearson:.3f} · MAE {rep.mae:.3f}",
        f"- adversarial max score {rep.adversarial_max:.2f}" + (
            f" (over 1: {', '.join(rep.adversarial_over_1)})" if rep.adversarial_over_1 else " (all ≤ 1)"),
        f"- latency per answer: mean {rep.latency_ms_mean:.0f} ms, p95 {rep.latency_ms_p95:.0f} ms",
    ]
    if rep.cv:
        lines.append("- train CV (grouped by question, from grader_model.json): "
                     + " · ".join(f"{k} {v:.3f}" for k, v in rep.cv.items()))
    lines += ["", "## Confusion (rows: human label, columns: predicted level)", "",
              "| human \\ pred | 0 | 1 | 2 | 3 | 4 | 5 |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {i} | " + " | ".join(str(c) for c in row) + " |" for i, row in enumerate(rep.confusion)]
    lines += ["", "## Per tag", "", "| tag | n | MAE | max score |", "|---|---|---|---|"]
    lines += [f"| {t} | {int(v['n'])} | {v['mae']:.2f} | {v['max_score']:.2f} |" for t, v in rep.per_tag.items()]
    lines += ["", "## Largest disagreements", "", "| id | human | predicted | answer |", "|---|---|---|---|"]
    lines += [f"| {w['id']} | {w['label']} | {w['score']:.2f} | {w['answer'].replace('|', '/').replace(chr(10), ' ')} |"
              for w in rep.worst]
    return "\n".join(lines) + "\n"


def write_report(rep: GradeReport, scored: list[tuple[GradeRow, float]], out_dir: Path = REPORT_DIR) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / f"grade-{rep.split}.md"
    png = out_dir / f"grade-{rep.split}.png"
    _plot(scored, png, rep)
    md.write_text(format_report(rep) + f"\n![predicted vs human]({png.name})\n", encoding="utf-8")
    return md


def _plot(scored: list[tuple[GradeRow, float]], path: Path, rep: GradeReport) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)  # fixed jitter: the same data draws the same picture
    y = np.asarray([r.label for r, _ in scored], dtype=float)
    p = np.asarray([s for _, s in scored])
    adv = np.asarray([ADVERSARIAL in r.tags for r, _ in scored])
    fig, ax = plt.subplots(figsize=(5.5, 5), dpi=110)
    jx = y + rng.uniform(-0.18, 0.18, len(y))
    ax.scatter(jx[~adv], p[~adv], s=14, alpha=0.6, label="answers")
    ax.scatter(jx[adv], p[adv], s=18, alpha=0.8, marker="x", color="crimson", label="adversarial")
    ax.plot([0, 5], [0, 5], color="grey", lw=0.8, ls="--")
    ax.set_xlabel("human label")
    ax.set_ylabel("predicted score")
    ax.set_title(f"{rep.split}: QWK {rep.qwk:.2f}, Spearman {rep.spearman:.2f}, MAE {rep.mae:.2f}")
    ax.set_xlim(-0.5, 5.5)
    ax.set_ylim(-0.3, 5.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def report_json(rep: GradeReport) -> dict:
    return rep.model_dump()


def features_table(grader: Grader, rows: list[GradeRow]) -> list[tuple[GradeRow, Features | None, list[str]]]:
    """For analysis: every row's features and flags (what fit sees)."""
    return [(r, *grader.inspect(r.question, r.answer, r.reference)) for r in rows if not r.is_choice]


class _Unfitted:
    """Placeholder scorer while fitting: features and guards only, no score yet."""

    def score(self, item) -> float:
        return 0.0


def grader_for_fit(embedder, tokenizer) -> Grader:
    return Grader(embedder, tokenizer, scorer=_Unfitted())
