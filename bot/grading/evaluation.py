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

from bot.grading.features import Features
from bot.grading.model import MODEL_PATH, LinearOrdinalScorer, ModelParams
from bot.grading.grader import Grader
from bot.grading.schema import CAP1_FLAGS, ZERO_FLAGS
from ingest.errors import InputError
from bot.errors import BadInputLine
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


def contrast_pairs(rows: list[GradeRow]) -> list[tuple[str, str]]:
    """Every open question's reference in the eval set (both splits: the bank's content, never a label or an
    answer). Each answer is contrasted with the references of the *other* questions."""
    return list(dict.fromkeys((r.question, r.reference) for r in rows if not r.is_choice))


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def fit_ordinal(xs: np.ndarray, y: np.ndarray, c: float, n_classes: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative-link (all-threshold) ordinal logistic regression, L2 on the weights: P(y ≤ k) = σ(θ_k − w·x)."""
    from scipy.optimize import minimize

    n, d = xs.shape
    k1 = n_classes - 1

    def unpack(p):
        return p[:d], np.cumsum(np.r_[p[d], np.exp(p[d + 1:])])

    def nll(p):
        w, th = unpack(p)
        eta = xs @ w
        ext = np.r_[-np.inf, th, np.inf]
        hi, lo = ext[y + 1] - eta, ext[y] - eta
        fh, fl = _sigmoid(hi), _sigmoid(lo)
        pr = np.maximum(fh - fl, 1e-12)
        dh, dl = fh * (1 - fh), fl * (1 - fl)  # densities (0 at ±inf)
        loss = -np.log(pr).sum() + 0.5 / c * w @ w
        g_eta = (dh - dl) / pr  # d(−log p)/dη
        gw = xs.T @ g_eta + w / c
        g_th = np.zeros(k1)
        np.add.at(g_th, np.minimum(y, k1 - 1), -(dh / pr) * (y < k1))
        np.add.at(g_th, np.maximum(y - 1, 0), (dl / pr) * (y > 0))
        # θ = cumsum([a, e^b1, e^b2, …]): dθ_j/da = 1, dθ_j/db_m = e^b_m for j ≥ m
        ga = g_th.sum()
        gb = np.array([g_th[m:].sum() * np.exp(p[d + m]) for m in range(1, k1)])
        return loss, np.r_[gw, ga, gb]

    p0 = np.r_[np.zeros(d), -2.0, np.zeros(k1 - 1)]
    res = minimize(nll, p0, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return unpack(res.x)


class _Model:
    """One candidate combiner: fit on rows, expected class for rows."""

    def __init__(self, kind: str, c: float) -> None:
        self.kind, self.c = kind, c

    def fit(self, xs: np.ndarray, y: np.ndarray) -> "_Model":
        if self.kind == "ordinal":
            self.w, self.th = fit_ordinal(xs, y, self.c)
        else:
            from sklearn.linear_model import LogisticRegression

            self.m = LogisticRegression(C=self.c, max_iter=3000).fit(xs, y)
        return self

    def expected(self, xs: np.ndarray) -> np.ndarray:
        if self.kind == "ordinal":
            cum = _sigmoid(self.th[None, :] - (xs @ self.w)[:, None])
            p = np.diff(np.hstack([np.zeros((len(xs), 1)), cum, np.ones((len(xs), 1))]), axis=1)
            return p @ np.arange(p.shape[1], dtype=float)
        return self.m.predict_proba(xs) @ np.asarray(self.m.classes_, dtype=float)

    def params(self) -> dict:
        if self.kind == "ordinal":
            return {"kind": "ordinal", "classes": list(range(len(self.th) + 1)), "coef": [self.w.tolist()],
                    "intercept": self.th.tolist()}
        return {"kind": "multinomial", "classes": [int(c) for c in self.m.classes_], "coef": self.m.coef_.tolist(),
                "intercept": self.m.intercept_.tolist()}


MODEL_GRID = tuple((k, c) for k in ("multinomial", "ordinal") for c in C_GRID)


class _Design:
    """The train rows' features once, and grouped-CV machinery over them.

    ``augmented``: (source question, features) of train answers labelled ≥ 4 graded against a *different*
    train question — by the rubric an irrelevant answer, label 0. They only ever join the training side of a
    fold (grouped with the question the answer came from, so its text never straddles a fold) and are never
    scored: CV metrics are on real rows only.
    """

    def __init__(self, inspected, augmented, folds: int) -> None:
        self.inspected = inspected  # (row, features | None, flags without offtopic)
        self.augmented = augmented or []
        self.folds = folds
        self.repeats = 3

    def run(self, names: tuple[str, ...], kind: str, c: float, offtopic: float, shift: float,
            final: bool = False, augment: bool = False):
        """Out-of-fold full-pipeline predictions for every inspected row (guards applied), plus optionally the
        model refitted on all usable rows. Rows below the off-topic threshold are guarded to 0 and not fitted."""
        from sklearn.isotonic import IsotonicRegression
        from sklearn.model_selection import GroupKFold

        from bot.grading.grader import relevance

        usable = [(r, f) for r, f, flags in self.inspected
                  if f is not None and not (ZERO_FLAGS | CAP1_FLAGS) & set(flags)
                  and relevance(f, shift) >= offtopic]
        aug = [(q, f) for q, f in self.augmented if relevance(f, shift) >= offtopic] if augment else []
        x = np.asarray([f.vector(names) for _, f in usable])
        y = np.asarray([r.label for r, _ in usable])
        groups = np.asarray([r.question for r, _ in usable])
        xa = np.asarray([f.vector(names) for _, f in aug]).reshape(len(aug), len(names))
        ga = np.asarray([q for q, _ in aug])
        mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
        xs, xas = (x - mean) / scale, (xa - mean) / scale
        # Repeated grouped K-fold: the same question's answers never straddle a fold; question-to-fold
        # assignments are reshuffled each repeat (fixed seeds) so one lucky split does not pick the model.
        uq = sorted(set(groups))
        e_all, pred_all = [], []
        for rep in range(self.repeats):
            perm = {q: i for i, q in enumerate(np.random.default_rng(rep).permutation(uq))}
            g = np.asarray([perm[q] for q in groups])
            splits = list(GroupKFold(n_splits=min(self.folds, len(uq))).split(xs, y, g))
            e = np.zeros(len(y))
            for tr, te in splits:
                held = set(groups[te])
                extra = np.asarray([q not in held for q in ga], dtype=bool)
                xt = np.vstack([xs[tr], xas[extra]]) if extra.any() else xs[tr]
                yt = np.r_[y[tr], np.zeros(int(extra.sum()), dtype=int)]
                e[te] = _Model(kind, c).fit(xt, yt).expected(xs[te])
            pred = np.zeros(len(y))
            for tr, te in splits:  # calibrate each fold with an isotonic curve fitted on the other folds' OOF values
                iso = IsotonicRegression(y_min=0, y_max=5, out_of_bounds="clip").fit(e[tr], y[tr])
                pred[te] = iso.predict(e[te])
            e_all.append(e)
            pred_all.append(pred)
        labels, preds = [], [[] for _ in pred_all]
        oofs = [dict(zip((r.id for r, _ in usable), pred)) for pred in pred_all]
        for r, f, flags in self.inspected:
            fl = list(flags)
            if f is not None and relevance(f, shift) < offtopic:
                fl.append("offtopic")
            labels.append(r.label)
            for k, oof in enumerate(oofs):
                preds[k].append(_capped(oof.get(r.id, 0.0 if f is None else 1.0), fl))
        e = np.mean(e_all, axis=0)
        out = {"labels": np.asarray(labels), "preds": np.asarray(preds[0]), "all_preds": np.asarray(preds),
               "n_usable": len(usable), "n_augmented": len(aug)}
        if final:
            model = _Model(kind, c).fit(np.vstack([xs, xas]) if len(aug) else xs,
                                        np.r_[y, np.zeros(len(aug), dtype=int)])
            iso = IsotonicRegression(y_min=0, y_max=5, out_of_bounds="clip").fit(e, y)
            out["params"] = dict(features=list(names), mean=mean.tolist(), scale=scale.tolist(), **model.params(),
                                 iso_x=[float(v) for v in iso.X_thresholds_],
                                 iso_y=[float(v) for v in iso.y_thresholds_], C=c)
        return out


def other_question_rows(grader: Grader, train: list[GradeRow], seed: int = 0) -> list[tuple[str, Features]]:
    """Each train answer labelled ≥ 4 graded against one other train question (seeded choice): label 0."""
    rng = np.random.default_rng(seed)
    qs = sorted({(r.question, r.reference) for r in train if not r.is_choice})
    out = []
    for r in train:
        if r.is_choice or r.label < 4:
            continue
        others = [p for p in qs if p[0] != r.question]
        q, ref = others[int(rng.integers(len(others)))]
        f, flags = grader.inspect(q, r.answer, ref)
        if f is not None and not (ZERO_FLAGS | CAP1_FLAGS) & set(flags):
            out.append((r.question, f))
    return out


def _criterion(run) -> tuple[float, float]:
    """Mean QWK over the CV repeats (then lower MAE): what model choices maximise."""
    ms = [metrics(run["labels"], p) for p in run["all_preds"]]
    return round(float(np.mean([m["qwk"] for m in ms])), 4), -round(float(np.mean([m["mae"] for m in ms])), 4)


def train_center(grader: Grader, train: list[GradeRow]) -> list[float]:
    """Mean e5 passage vector of the train questions and their references' chunks (the shared direction)."""
    from bot.grading.features import reference_chunks

    texts = list(dict.fromkeys([*(r.question for r in train if not r.is_choice),
                                *(c for r in train if not r.is_choice for c in reference_chunks(r.reference))]))
    return [round(float(v), 6) for v in grader.cache.get(texts).mean(axis=0)]


def english_shift(inspected) -> float:
    """How much lower cross-lingual relevance sits: median over good (label ≥ 3) Chinese answers minus
    median over good English ones, on train."""
    good = [(f.english, max(f.rel_q, f.ans_ref)) for r, f, _ in inspected if f is not None and r.label >= 3]
    zh = [v for e, v in good if not e]
    en = [v for e, v in good if e]
    return float(np.median(zh) - np.median(en)) if zh and en else 0.0


def offtopic_candidates(inspected, shift: float) -> list[float]:
    """Midpoints between consecutive relevance values of the train rows, up to the lowest relevance of any
    answer labelled ≥ 2: a guard that sets 0 may never zero an answer a human found partly right (and 0 = off)."""
    from bot.grading.grader import relevance

    floor = min((relevance(f, shift) for r, f, _ in inspected if f is not None and r.label >= 2), default=1.0)
    vals = sorted({round(relevance(f, shift), 4) for _, f, _ in inspected if f is not None})
    low = [v for v in vals if v < floor] + [round(floor, 4)]
    return [0.0] + [(a + b) / 2 for a, b in zip(low, low[1:])]


def offtopic_threshold(inspected, shift: float) -> tuple[float, float, int]:
    from bot.grading.grader import relevance

    cand = [(relevance(f, shift), r.label) for r, f, flags in inspected
            if f is not None and not (ZERO_FLAGS | CAP1_FLAGS) & set(flags)]
    pos = sum(1 for _, l in cand if l == 0) or 1
    neg = sum(1 for _, l in cand if l > 0) or 1
    scored = []
    for t in offtopic_candidates(inspected, shift):
        tp = sum(1 for v, l in cand if v < t and l == 0)
        fp = sum(1 for v, l in cand if v < t and l > 0)
        scored.append((round(tp / pos - fp / neg, 6), t))
    best = max(j for j, _ in scored)
    tied = [t for j, t in scored if j == best]
    return tied[len(tied) // 2], best, len(tied)


def fit(grader: Grader, rows: list[GradeRow], path: Path = MODEL_PATH, folds: int = 5, log=None) -> ModelParams:
    """Fit on the train split only, every choice by grouped CV on train; write grader_model.json.

    Every answer labelled ≥ 4 graded against another train question may join training as a label-0 row
    (whether it does is a CV choice too; see ``_Design``). Chosen in turn: the centring vector and the English relevance shift (train means/medians), the
    off-topic threshold (max Youden J for "labelled 0" over thresholds that zero no train answer labelled ≥ 2;
    ties → the middle of the tied run), then the feature groups and the combiner (multinomial or ordinal logistic,
    and C) for the model with contrast features and for the fallback without them.
    """
    from itertools import combinations

    from bot.grading.features import BASE_FEATURES, FEATURE_GROUPS, FEATURE_NAMES

    log = log or (lambda *a: None)
    train = [r for r in rows if r.split == "train"]  # the test split never reaches this function's model
    center = train_center(grader, train)
    grader.center = np.asarray(center, dtype=np.float32)
    grader.set_contrast(contrast_pairs(rows))
    inspected = [(r, *grader.inspect(r.question, r.answer, r.reference)) for r in train if not r.is_choice]
    design = _Design(inspected, other_question_rows(grader, train), folds)
    shift = english_shift(inspected)
    # 1. the off-topic guard: a classifier of "labelled 0" on relevance, its threshold at max Youden's J
    #    (TPR − FPR) over the unguarded train rows, ties → the middle of the tied run
    offtopic, j, tied = offtopic_threshold(inspected, shift)
    log(f"english shift {shift:.3f}; off-topic threshold {offtopic:.4f} (Youden J {j:.3f}, {tied} tied; "
        f"CV {_criterion(design.run(FEATURE_NAMES, 'multinomial', 1.0, offtopic, shift))})")

    core = BASE_FEATURES[:15]

    def choose(groups: list[str], required: tuple[str, ...] = (), augment=(False, True)):
        runs = []
        for n in range(len(groups) + 1):
            for extra in combinations(groups, n):
                if not set(required) <= set(extra):
                    continue
                names = core + tuple(f for g in extra for f in FEATURE_GROUPS[g])
                for k, c in MODEL_GRID:
                    for aug in augment:
                        runs.append((_criterion(design.run(names, k, c, offtopic, shift, augment=aug)),
                                     extra, names, k, c, aug))
        crit, extra, names, k, c, aug = max(runs, key=lambda t: t[0])
        log(f"core+{'+'.join(extra) or 'nothing'}: {k} C={c}{' + other-question rows' if aug else ''} CV {crit}")
        return design.run(names, k, c, offtopic, shift, final=True, augment=aug)

    # The main model must use the contrast features (that is what it is for); the fallback may not.
    main = choose(list(FEATURE_GROUPS), required=("contrast",))
    fallback = choose([g for g in FEATURE_GROUPS if g != "contrast"], augment=(False,))

    choice = [(r.label, _choice_score(grader, r)) for r in train if r.is_choice]

    def with_choices(run):
        """Full-pipeline grouped-CV metrics on every train row (guards, MCQ rule), averaged over the repeats."""
        labels = np.asarray(list(run["labels"]) + [l for l, _ in choice])
        ms = [metrics(labels, np.asarray(list(p) + [s for _, s in choice])) for p in run["all_preds"]]
        return {k: round(float(np.mean([m[k] for m in ms])), 4) for k in ms[0]}

    trained_on = (f"{main['n_usable']} unguarded open rows of the train split ({len(train)} train rows)"
                  + (f" + {main['n_augmented']} other-question rows (label 0)" if main["n_augmented"] else ""))
    params = ModelParams(
        **main["params"], offtopic=offtopic, english_shift=shift, center=center, trained_on=trained_on,
        cv=with_choices(main),
        fallback=ModelParams(**fallback["params"], offtopic=offtopic, english_shift=shift, trained_on=trained_on,
                             cv=with_choices(fallback)),
    )
    path.write_text(json.dumps(params.model_dump(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    grader.scorer = LinearOrdinalScorer(params)
    grader.offtopic, grader.english_shift = offtopic, shift
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
             progress=None, contrast: bool = True) -> tuple[GradeReport, list[tuple[GradeRow, float]]]:
    """Grade the split's rows. ``contrast``: the other questions' references in the eval set are the contrast
    set (as a bank would be); False grades with the fallback model, as when no bank is available."""
    grader.set_contrast(contrast_pairs(rows) if contrast else None)
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
