"""The lookup reranker: question token states stored at ingest, alignment features, the re-ordering."""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pytest

from bot.lookup.rerank import DEPTH, FEATURES, Reranker, RerankModel, alignments, feature_rows, load_reranker
from ingest.qstates import pack, question_hash, unpack


def test_packed_states_keep_their_cosines():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(12, 384)).astype(np.float32)
    s /= np.linalg.norm(s, axis=1, keepdims=True)
    back = unpack(pack(s), 12)
    assert back.shape == s.shape
    assert np.abs(back @ back.T - s @ s.T).max() < 0.02
    assert question_hash("BN是什么", "m1") != question_hash("BN是什么", "m2") != question_hash("LN是什么", "m1")


def test_alignment_and_features():
    a = np.eye(4, dtype=np.float32)[:2]  # tokens 0, 1
    # both query tokens found; half the question's
    assert alignments(a, [np.eye(4, dtype=np.float32), np.zeros((0, 4), np.float32)]) == [(1.0, 0.5), (0.0, 0.0)]
    rows = feature_rows([0, 1], [1.0, 0.5], [(0.9, 0.8), (0.7, 0.85)])
    assert rows.shape == (2, len(FEATURES))
    assert rows[0].tolist() == pytest.approx([0.0, 1.0, 0.9, 0.8, 0.0, -0.05])
    assert rows[1].tolist() == pytest.approx([np.log(2), 0.5, 0.7, 0.85, -0.2, 0.0])


def test_batched_alignments_equal_one_by_one():
    rng = np.random.default_rng(1)
    query = rng.normal(size=(7, 16)).astype(np.float32)
    questions = [rng.normal(size=(n, 16)).astype(np.float32) for n in (3, 0, 9, 1)]
    got = alignments(query, questions)
    for (aq, ac), q in zip(got, questions):
        sim = query @ q.T
        expect = (sim.max(axis=1).mean(), sim.max(axis=0).mean()) if len(q) else (0.0, 0.0)
        assert np.allclose((aq, ac), expect, atol=1e-5)
    assert alignments(np.zeros((0, 16), np.float32), questions) == [(0.0, 0.0)] * 4


def test_the_shipped_reranker_prefers_aligned_candidates():
    model = load_reranker("e5-query-64")
    assert model is not None and load_reranker(None) is None and load_reranker("another-model") is None
    rows = feature_rows([0, 1], [0.8, 0.8], [(0.80, 0.80), (0.95, 0.95)])
    s = model.scores(rows)
    assert s[1] > s[0]  # a lower fused rank is overcome by a much closer token alignment
    rows = feature_rows([0, 10], [0.8, 0.8], [(0.9, 0.9), (0.9, 0.9)])
    assert model.scores(rows)[0] > model.scores(rows)[1]  # equal alignments: the fused rank decides


@pytest.mark.slow
def test_ingest_stores_question_states_once(e5_cli, e5_context):
    st = e5_context.store
    model = e5_context.embedder.states_model
    ids = st.record_ids(include_passages=True)
    assert st.questions_without_states(model) == []
    got = st.question_states(ids, model)
    assert set(got) == set(ids)
    rec = st.get_records(ids[:1])[0]
    fresh = e5_context.embedder.question_states(rec.question)
    assert got[rec.id].shape == fresh.shape
    assert float(np.mean(np.sum(got[rec.id] * fresh, axis=1))) > 0.99  # stored states are the model's
    res = e5_cli("ingest", str(e5_cli.store.parent / "missing-dir-never-made"))
    assert res.exit_code != 0  # a failed run leaves the states alone
    assert st.questions_without_states(model) == []


@pytest.mark.slow
def test_reranked_search_orders_by_the_reranker(e5_context):
    ret = e5_context.retriever
    assert ret.reranker is not None
    query = "批归一化层的作用是什么"
    fused = ret.search(query, k=DEPTH, rerank=False)
    ranked = ret.search(query, k=DEPTH)
    assert {c.record.id for c in fused} == {c.record.id for c in ranked}
    assert all(c.align_query > 0 and c.align_question > 0 for c in ranked)
    scores = [c.score for c in ranked]
    assert scores == sorted(scores, reverse=True) and 0 < scores[-1] <= scores[0] < 1
    expect = ret.reranker.scores(feature_rows(list(range(len(fused))), [c.coverage for c in fused],
                                              [(c.align_query, c.align_question) for c in fused]))
    assert [c.record.id for c in ranked] == [fused[i].record.id for i in np.argsort(-expect, kind="stable")]
    assert "BN" in ranked[0].record.question or "批" in ranked[0].record.question


@pytest.mark.slow
def test_a_store_without_states_searches_in_fused_order_and_ingest_fills_them(e5_cli, tmp_path):
    from bot.context import build_context
    from bot.settings import Settings

    store = tmp_path / "store"
    shutil.copytree(e5_cli.store, store)
    db = sqlite3.connect(store / "records.sqlite")
    db.executescript("DROP TABLE question_states; UPDATE meta SET value='3' WHERE key='schema_version';")
    db.close()
    ctx = build_context(store, Settings(embedder="e5"))  # migrates to v4: an empty states table
    ret = ctx.retriever
    fused = ret.search("Dropout为什么能防止过拟合", k=5, rerank=False)
    plain = ret.search("Dropout为什么能防止过拟合", k=5)
    assert [c.record.id for c in plain] == [c.record.id for c in fused]
    assert all(c.align_query == 0 for c in plain)  # no states, no live reading of twenty questions
    model = ctx.embedder.states_model
    assert len(ctx.store.questions_without_states(model)) == ctx.store.count_records()
    from ingest.qstates import ensure_question_states

    assert ensure_question_states(ctx.store, ctx.embedder) == ctx.store.count_records()
    assert ensure_question_states(ctx.store, ctx.embedder) == 0
    assert all(c.align_query > 0 for c in ret.search("Dropout为什么能防止过拟合", k=5))


def test_a_backend_without_token_states_never_reranks(hash_context):
    ret = hash_context.retriever
    assert hash_context.embedder.states_model is None and ret.reranker is None
    blank = Reranker(RerankModel(states_model="e5-query-64", mean=[0.0] * 6, scale=[1.0] * 6, weights=[0.0] * 6,
                                 bias=0.0, fitted_on="test"))
    from bot.lookup.retrieval import Retriever

    assert Retriever(hash_context.store, hash_context.tokenizer, blank).reranker is None
    hits = ret.search("BN层有什么用", k=3)
    assert hits and all(c.align_query == 0 for c in hits)
