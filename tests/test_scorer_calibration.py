"""The scorer's calibration: the isotonic map plus a stretch about the scale's middle, chosen by grouped CV."""

from __future__ import annotations

import numpy as np

from bot.grading import fitting
from bot.grading.model import LinearOrdinalScorer, ModelParams, stretched


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
    metrics, c, stretch, _ = fitting._search_c((x - x.mean()) / x.std(), y, groups, np.ones(len(y)),
                                               np.ones(len(y), bool), (1.0,))
    assert stretch > 1.0
    assert c == 1.0 and metrics["qwk"] > 0.5


def test_a_model_file_without_a_stretch_loads_unstretched():
    params = ModelParams(features=["kp_mean"], mean=[0.0], scale=[1.0], classes=[0, 5], coef=[[0.0], [1.0]],
                         intercept=[0.0, 0.0], iso_x=[0.0, 5.0], iso_y=[0.0, 5.0])
    assert params.stretch == 1.0
    scorer = LinearOrdinalScorer(params)
    assert scorer.calibrate(np.array([1.0, 4.0])).tolist() == [1.0, 4.0]
    scorer = LinearOrdinalScorer(params.model_copy(update={"stretch": 1.2}))
    assert np.allclose(scorer.calibrate(np.array([1.0, 4.0])), [0.7, 4.3])
