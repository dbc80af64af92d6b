"""The scorer's calibration: the isotonic map plus a stretch about the scale's middle, chosen by grouped CV."""

from __future__ import annotations

import numpy as np
import pytest

from bot.grading import fitting
from bot.grading.model import FeatureScorer, ModelParams, stretched
from ingest.errors import ModelLoadError


def test_stretch_spreads_about_the_middle_and_stays_on_the_scale():
    s = np.array([0.0, 1.0, 2.5, 4.0, 5.0])
    assert stretched(s, 1.0).tolist() == s.tolist()
    assert stretched(s, 1.5).tolist() == [0.0, 0.25, 2.5, 4.75, 5.0]


def test_cv_chooses_a_stretch_when_the_calibrated_scores_are_pulled_to_the_middle():
    # One noisy feature: the mean-calibrated score of a 5 sits near 4 and of a 0 near 1, as in the real fit.
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(6), 60)
    x = (y + rng.normal(0, 1.6, len(y)))[:, None]
    groups = np.arange(len(y)) // 3
    metrics, choice, stretch, _ = fitting._search((x - x.mean()) / x.std(), y, groups, np.ones(len(y)),
                                                  np.ones(len(y), bool), ("lr:1.0",))
    assert stretch > 1.0
    assert choice == "lr:1.0" and metrics["qwk"] > 0.5


def test_boosted_trees_stored_as_arrays_score_like_the_fitted_model():
    # An interaction a linear model cannot draw: high overlap is good unless a point is contradicted.
    rng = np.random.default_rng(1)
    overlap, contra = rng.uniform(0, 1, 600), rng.integers(0, 2, 600)
    y = np.where(contra == 1, 1, np.round(overlap * 5)).astype(int)
    x = np.column_stack([overlap, contra])
    groups = np.arange(len(y)) // 3
    params = ModelParams(**fitting._fit_one(x, y, groups, ["kp_mean", "contra_points"], np.ones(len(y)),
                                            np.ones(len(y), bool), grid=("gb:7:100:0.1",), stretch=1.0))
    assert params.kind == "boosted" and params.choice == "gb:7:100:0.1" and not params.coef
    scorer = FeatureScorer(ModelParams.model_validate_json(params.model_dump_json()))  # through JSON, as shipped
    good, contradicted = scorer.score_vectors(np.array([[0.95, 0], [0.95, 1]]))
    assert good >= 4.0 and contradicted <= 1.5


def test_a_model_file_whose_kind_and_weights_disagree_is_refused():
    params = ModelParams(features=["kp_mean"], mean=[0.0], scale=[1.0], classes=[0, 5], kind="boosted",
                         iso_x=[0.0, 5.0], iso_y=[0.0, 5.0])
    with pytest.raises(ModelLoadError, match="refit"):
        FeatureScorer(params)


def test_a_model_file_without_a_stretch_loads_unstretched():
    params = ModelParams(features=["kp_mean"], mean=[0.0], scale=[1.0], classes=[0, 5], coef=[[0.0], [1.0]],
                         intercept=[0.0, 0.0], iso_x=[0.0, 5.0], iso_y=[0.0, 5.0])
    assert params.stretch == 1.0
    scorer = FeatureScorer(params)
    assert scorer.calibrate(np.array([1.0, 4.0])).tolist() == [1.0, 4.0]
    scorer = FeatureScorer(params.model_copy(update={"stretch": 1.2}))
    assert np.allclose(scorer.calibrate(np.array([1.0, 4.0])), [0.7, 4.3])
