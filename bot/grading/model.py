"""Scorers: features (+ texts) → a 0–5 score.

``FeatureScorer`` is the offline model: class probabilities over standardised
features — boosted trees or a multinomial logistic regression, whichever grouped
CV on the hand rows preferred (``fitting.MODEL_GRID``) — whose expected class is
mapped through an isotonic curve. Everything is fitted on the train split
(``bot.grading.evaluation.fit``) and stored as plain JSON, including the
off-topic guard's threshold. The file holds two models: one with the contrast
features (used when the grader knows other questions' references) and a
fallback without them. Another scorer (an LLM judge, later) implements the same
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

from bot.grading.features import BASE_FEATURES, FEATURE_NAMES, Features
from bot.grading.trees import Evaluator, Forest
from ingest.errors import ModelLoadError
from ingest.schema import Strict

MODEL_PATH = Path(__file__).with_name("grader_model.json")
MIDDLE = 2.5


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
    kind: str = Field("multinomial", pattern="^(multinomial|boosted)$")
    mean: list[float]
    scale: list[float]
    classes: list[int]
    coef: list[list[float]] = Field(default_factory=list, description="multinomial: one row per class")
    intercept: list[float] = Field(default_factory=list, description="multinomial: one per class")
    forest: Forest | None = Field(None, description="boosted: the trees (bot.grading.trees)")
    iso_x: list[float] = Field(description="isotonic knots: expected class → calibrated score")
    iso_y: list[float]
    C: float = 1.0
    choice: str = Field("", description="the fitting.MODEL_GRID entry grouped CV chose")
    stretch: float = Field(1.0, description="calibrated scores are spread by this factor about 2.5 (grouped CV)")
    offtopic: float = Field(0.0, description="guard: relevance (+ english_shift for English answers) below → 0")
    english_shift: float = Field(0.0, description="how much lower cross-lingual cosines sit (fitted on train)")
    center: list[float] = Field(default_factory=list, description="mean e5 vector of the train references' chunks "
                                                                   "and questions, removed before centred cosines")
    trained_on: str = ""
    cv: dict[str, float] = Field(default_factory=dict)
    fallback: "ModelParams | None" = Field(None, description="the model without contrast features")


def stretched(scores: np.ndarray, factor: float) -> np.ndarray:
    """Scores spread by ``factor`` about the middle of the scale, kept in [0, 5]."""
    return np.clip(MIDDLE + factor * (np.asarray(scores, dtype=float) - MIDDLE), 0, 5)


class FeatureScorer:
    """Scores with ``params``; answers graded without a contrast set go to ``params.fallback``."""

    def __init__(self, params: ModelParams) -> None:
        unknown = set(params.features) - set(FEATURE_NAMES)
        if unknown:
            raise ModelLoadError(
                f"grader model uses features {sorted(unknown)} the code does not compute — "
                f"refit with `mianshi eval grade --fit`"
            )
        self.params = params
        self.names = tuple(params.features)
        self._mean = np.asarray(params.mean)
        self._scale = np.asarray(params.scale)
        self._coef = np.asarray(params.coef)
        self._intercept = np.asarray(params.intercept)
        self._classes = np.asarray(params.classes, dtype=float)
        if (params.kind == "boosted") != (params.forest is not None):
            raise ModelLoadError(f"grader model of kind {params.kind!r} has no matching weights — refit with "
                                 f"`mianshi eval grade --fit`")
        self._forest = Evaluator(params.forest) if params.forest is not None else None
        self.fallback = FeatureScorer(params.fallback) if params.fallback is not None else None
        if self.fallback is not None and set(self.fallback.names) - set(BASE_FEATURES):
            raise ModelLoadError("the grader's fallback model must not use contrast features — refit")

    @property
    def offtopic(self) -> float:
        return self.params.offtopic

    @property
    def english_shift(self) -> float:
        return self.params.english_shift

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        xs = (x - self._mean) / self._scale
        if self._forest is not None:
            return self._forest.probabilities(xs)
        z = xs @ self._coef.T + self._intercept
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def expected(self, x: np.ndarray) -> np.ndarray:
        return self.probabilities(x) @ self._classes

    def calibrate(self, e: np.ndarray) -> np.ndarray:
        if len(self.params.iso_x) < 2:
            return stretched(e, self.params.stretch)
        return stretched(np.interp(e, self.params.iso_x, self.params.iso_y), self.params.stretch)

    def score_vectors(self, x: np.ndarray) -> np.ndarray:
        return self.calibrate(self.expected(np.atleast_2d(x)))

    def for_features(self, f: Features) -> "FeatureScorer":
        return self if f.has_contrast or self.fallback is None else self.fallback

    def score(self, item: ScoreInput) -> float:
        m = self.for_features(item.features)
        return float(m.score_vectors(np.asarray([item.features.vector(m.names)]))[0])


class CombinedScorer:
    """Weighted mean of several scorers, e.g. the feature model and an LLM judge."""

    def __init__(self, scorers: list[tuple[Scorer, float]]) -> None:
        if not scorers or sum(w for _, w in scorers) <= 0:
            raise ValueError("CombinedScorer needs at least one scorer with a positive weight")
        self.scorers = scorers

    def score(self, item: ScoreInput) -> float:
        total = sum(w for _, w in self.scorers)
        return float(np.clip(sum(s.score(item) * w for s, w in self.scorers) / total, 0, 5))


ModelParams.model_rebuild()


def load_params(path: Path = MODEL_PATH) -> ModelParams:
    if not path.exists():
        raise ModelLoadError(f"no grader model at {path} — run `mianshi eval grade --fit` to fit it")
    try:
        return ModelParams.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise ModelLoadError(f"grader model {path} is unreadable ({exc}) — refit with `mianshi eval grade --fit`") from exc
