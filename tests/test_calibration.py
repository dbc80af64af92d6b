"""The lookup abstention model file is checked against the feature list, so no entry runs truncated."""

from __future__ import annotations

import json

import pytest

from bot.lookup import load_calibration
from bot.lookup.ask import CALIBRATION, FEATURES
from ingest.errors import ModelLoadError


def test_every_committed_entry_has_one_weight_per_feature():
    data = json.loads(CALIBRATION.read_text(encoding="utf-8"))
    assert "e5" in data and "default" in data
    for name in data:
        cal = load_calibration(name)
        assert len(cal.weights) == len(cal.mean) == len(cal.scale) == len(FEATURES)


@pytest.mark.parametrize("broken", [
    {"weights": [0.1] * 5},          # the old stale entries: one feature short
    {"mean": [0.0] * 7},
    {"scale": []},
])
def test_a_stale_entry_is_refused_with_how_to_refit(tmp_path, broken):
    good = json.loads(CALIBRATION.read_text(encoding="utf-8"))["e5"]
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"e5": {**good, **broken}}), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="--calibrate"):
        load_calibration("e5", path)


def test_an_embedder_without_an_entry_uses_default(tmp_path):
    good = json.loads(CALIBRATION.read_text(encoding="utf-8"))["e5"]
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"default": {**good, "bias": 1.5}}), encoding="utf-8")
    assert load_calibration("hash", path).bias == 1.5


def test_unmeasured_alignments_stand_at_their_mean():
    """A backend without token states measures no alignment: the decision is the model's with those features at
    their training mean, neither for nor against answering."""
    from bot.lookup.ask import relevance
    from bot.lookup.retrieval import Candidate

    cal = load_calibration("e5")
    plain = Candidate(id="r", question="q", kind="open", score=0.1, dense=0.9, question_dense=0.88, coverage=0.6,
                      bm25=0.7, missing_idf=0.4)
    at_mean = Candidate(**{**plain.__dict__, "align_query": cal.mean[6], "align_question": cal.mean[7]})
    assert FEATURES[6:] == ("align_query", "align_question") and cal.weights[6] > 0 and cal.weights[7] > 0
    assert relevance(plain, cal) == pytest.approx(relevance(at_mean, cal))
    weaker = Candidate(**{**at_mean.__dict__, "align_query": cal.mean[6] - 0.1})
    assert relevance(weaker, cal) < relevance(at_mean, cal)
