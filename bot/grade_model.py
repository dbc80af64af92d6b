"""Scorers: features (+ texts) → a 0–5 score.

``LinearOrdinalScorer`` is the offline model: a multinomial logistic regression
over standardised features whose expected class is mapped through an isotonic
curve, both fitted on the train split (``bot.grade_eval.fit``) and stored as
plain JSON. Another scorer (an LLM judge, later) implements the same
``Scorer`` protocol and is blended in with ``CombinedScorer``: callers of
``Grader`` do not change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from pydantic import Field

from bot.grade_features import FEATURE_NAMES, Features
from ingest.errors import ModelLoadError
from ingest.schema import Strict

MODEL_PATH = Path(__file__).with_name("grader_model.json")


@dataclass(frozen=True)
class ScoreInput:
    question: str
    answer: str
    reference: str
    features: Features


class Scorer(Protocol):
    def score(self, item: ScoreInput) -> float:
        """A score in [0, 5]."""


class ModelParams(Strict):
    """What ``fit`` writes to grader_model.json. No pickle: every number is visible and diffable."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    classes: list[int]
    coef: list[list[float]] = Field(description="one row per class")
    intercept: list[float]
    iso_x: list[float] = Field(description="isotonic knots: expected class → calibrated score")
    iso_y: list[float]
    C: float = 1.0
    trained_on: str = ""
    cv: dict[str, float] = Field(default_factory=dict)


class LinearOrdinalScorer:
    def __init__(self, params: ModelParams) -> None:
        if tuple(params.features) != FEATURE_NAMES:
            raise ModelLoadError(
                f"grader model was fitted on features {params.features}, the code computes {list(FEATURE_NAMES)} — "
                f"refit with `mianshi eval grade --fit`"
            )
        self.params = params
        self._mean = np.asarray(params.mean)
        self._scale = np.asarray(params.scale)
        self._coef = np.asarray(params.coef)
        self._intercept = np.asarray(params.intercept)
        self._classes = np.asarray(params.classes, dtype=float)

    def expected(self, x: np.ndarray) -> np.ndarray:
        z = ((x - self._mean) / self._scale) @ self._coef.T + self._intercept
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        return p @ self._classes

    def calibrate(self, e: np.ndarray) -> np.ndarray:
        if len(self.params.iso_x) < 2:
            return np.clip(e, 0, 5)
        return np.clip(np.interp(e, self.params.iso_x, self.params.iso_y), 0, 5)

    def score_vectors(self, x: np.ndarray) -> np.ndarray:
        return self.calibrate(self.expected(np.atleast_2d(x)))

    def score(self, item: ScoreInput) -> float:
        return float(self.score_vectors(np.asarray([item.features.vector()]))[0])


class CombinedScorer:
    """Weighted mean of several scorers, e.g. the feature model and an LLM judge."""

    def __init__(self, scorers: list[tuple[Scorer, float]]) -> None:
        if not scorers or sum(w for _, w in scorers) <= 0:
            raise ValueError("CombinedScorer needs at least one scorer with a positive weight")
        self.scorers = scorers

    def score(self, item: ScoreInput) -> float:
        total = sum(w for _, w in self.scorers)
        return float(np.clip(sum(s.score(item) * w for s, w in self.scorers) / total, 0, 5))


def load_params(path: Path = MODEL_PATH) -> ModelParams:
    if not path.exists():
        raise ModelLoadError(f"no grader model at {path} — run `mianshi eval grade --fit` to fit it")
    try:
        return ModelParams.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise ModelLoadError(f"grader model {path} is unreadable ({exc}) — refit with `mianshi eval grade --fit`") from exc
