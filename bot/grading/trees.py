"""Boosted trees for the scorer: fitted with scikit-learn's HistGradientBoostingClassifier, stored as plain
arrays in grader_model.json and evaluated with numpy (no pickle, no scikit-learn at grading time).

Why trees: the linear model adds evidence up, so a contradicted key point in an answer that shares most of the
reference's words still scored like a good answer. Trees can learn "much overlap, but a point said the other way"
as its own region. Grouped CV on the hand rows chooses between them and the linear model (``fitting.MODEL_GRID``).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ingest.schema import Strict


class Forest(Strict):
    """Every tree of every boosting round, padded to one node count: node arrays are [tree][node]."""

    baseline: list[float] = Field(description="raw score per class before any tree")
    klass: list[int] = Field(description="the class each tree adds to")
    feature: list[list[int]]
    threshold: list[list[float]]
    left: list[list[int]]
    right: list[list[int]]
    leaf: list[list[bool]]
    value: list[list[float]]
    depth: int = Field(description="the deepest leaf: how many steps a walk takes")


def fit(xs: np.ndarray, y: np.ndarray, weights: np.ndarray, leaves: int, rounds: int, rate: float, seed: int = 0):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(learning_rate=rate, max_leaf_nodes=leaves, max_iter=rounds,
                                          l2_regularization=1.0, min_samples_leaf=20, early_stopping=False,
                                          random_state=seed).fit(xs, y, sample_weight=weights)


def export(model, check: np.ndarray | None = None) -> Forest:
    """The fitted model's trees as arrays; ``check``: inputs on which the export must reproduce the model."""
    trees = [(k, p.nodes) for round_ in model._predictors for k, p in enumerate(round_)]
    width = max(len(n) for _, n in trees)

    def pad(nodes, field, fill):
        return [v.item() for v in nodes[field]] + [fill] * (width - len(nodes))

    forest = Forest(baseline=[float(v) for v in np.ravel(model._baseline_prediction)],
                    klass=[k for k, _ in trees],
                    feature=[pad(n, "feature_idx", 0) for _, n in trees],
                    threshold=[pad(n, "num_threshold", 0.0) for _, n in trees],
                    left=[pad(n, "left", 0) for _, n in trees], right=[pad(n, "right", 0) for _, n in trees],
                    leaf=[[bool(v) for v in n["is_leaf"]] + [True] * (width - len(n)) for _, n in trees],
                    value=[pad(n, "value", 0.0) for _, n in trees],
                    depth=int(max(n["depth"].max() for _, n in trees)))
    if check is not None and not np.allclose(Evaluator(forest).probabilities(check), model.predict_proba(check),
                                             atol=1e-6):
        raise ValueError("exported trees do not reproduce the fitted model")
    return forest


class Evaluator:
    """All trees walked at once: one gather per tree level for every row and tree."""

    def __init__(self, forest: Forest) -> None:
        self.baseline = np.asarray(forest.baseline, dtype=float)
        self.klass = np.asarray(forest.klass)
        self.feature = np.asarray(forest.feature, dtype=np.int64)
        self.threshold = np.asarray(forest.threshold, dtype=float)
        self.left = np.asarray(forest.left, dtype=np.int64)
        self.right = np.asarray(forest.right, dtype=np.int64)
        self.leaf = np.asarray(forest.leaf, dtype=bool)
        self.value = np.asarray(forest.value, dtype=float)
        self.depth = forest.depth
        self._t = np.arange(len(self.klass))

    def raw(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(np.asarray(x, dtype=float))
        node = np.zeros((len(x), len(self._t)), dtype=np.int64)
        rows = np.arange(len(x))[:, None]
        for _ in range(self.depth):
            f = self.feature[self._t, node]
            go_left = x[rows, f] <= self.threshold[self._t, node]
            nxt = np.where(go_left, self.left[self._t, node], self.right[self._t, node])
            node = np.where(self.leaf[self._t, node], node, nxt)
        out = np.tile(self.baseline, (len(x), 1))
        np.add.at(out.T, self.klass, self.value[self._t, node].T)
        return out

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = self.raw(x)
        if z.shape[1] == 1:  # two classes: one raw score, the log-odds of the second
            p = 1 / (1 + np.exp(-z))
            return np.hstack([1 - p, p])
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)
