"""Agreement of predicted scores with human labels."""

from __future__ import annotations

import numpy as np


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
