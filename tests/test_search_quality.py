"""Lookup floors with the real e5 model on the test split of evals/search_dev.jsonl.

That split is spent: the reranker and the abstention model are fitted on it among the other spent sets, so these
floors are regression guards, not quality claims (those come from the sealed splits, evals/reports/search.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.lookup.ask import load_calibration
from bot.lookup.search_eval import evaluate, load_rows

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def report(e5_context):
    rows = load_rows(ROOT / "evals" / "search_dev.jsonl")
    return evaluate(e5_context.retriever, rows, "test", "e5")


def test_eval_set_shape():
    rows = load_rows(ROOT / "evals" / "search_dev.jsonl")
    assert sum(bool(r.expect) for r in rows) >= 50
    assert sum(not r.expect for r in rows) >= 15
    assert {r.split for r in rows} == {"dev", "test"}


@pytest.mark.slow
def test_hybrid_lookup_hits_on_held_out_paraphrases(report):
    assert report.in_bank >= 40
    assert report.hit3 >= 0.95, report.misses
    assert report.hit1 >= 0.75
    assert report.mrr >= 0.85


@pytest.mark.slow
def test_off_topic_mostly_abstains(report):
    assert report.off_topic >= 10
    assert report.abstain_accuracy >= 0.8, report.wrongly_answered
    assert report.answered_correctly >= 0.7


@pytest.mark.slow
def test_ask_cli_grounded_and_not(e5_cli):
    res = e5_cli("ask", "转置卷积是什么", "--json")
    obj = json.loads(res.stdout)
    assert obj["grounded"] is True and obj["sources"]
    assert "反卷积" in obj["sources"][0]["question"]
    src = obj["sources"][0]["source"]  # "title — path relative to what was ingested", never a server path
    assert src.endswith(".txt") and " — " in src and not src.startswith("/") and "/work" not in src
    res = e5_cli("ask", "红烧肉怎么做才好吃", "--json")
    obj = json.loads(res.stdout)
    assert obj == {"answer": "题库中没有找到相关问题。", "sources": [], "grounded": False}
    res = e5_cli("ask", "how do I cook pasta al dente", "--json")
    assert json.loads(res.stdout)["grounded"] is False


@pytest.mark.slow
def test_search_cli_with_real_model(e5_cli):
    obj = json.loads(e5_cli("search", "BN层有什么用", "--json", "--k", "3").stdout)
    assert any("BN" in h["question"] or "Batch Normalization" in h["question"] or "批归一化" in h["question"]
               for h in obj["hits"])


def test_calibration_and_reranker_are_fitted_on_both_banks():
    from bot.lookup.rerank import load_reranker

    cal = load_calibration("e5")
    assert cal.embedder == "e5" and cal.fitted_on.endswith("over 2 banks")
    rerank = load_reranker("e5-query-64")
    assert rerank is not None and rerank.model.fitted_on.endswith("over 2 bank(s)")


@pytest.mark.slow
def test_in_memory_dense_search_matches_chroma(e5_context):
    """The exact in-memory search returns what Chroma's index returns on the seed bank, scores included."""
    from bot.lookup.dense import DenseIndex

    store = e5_context.store
    dense = DenseIndex(store)
    for q in ("BN层有什么用", "what does a 1x1 conv do", "梯度消失怎么解决"):
        vec = store.embedder.encode_queries([q])[0]
        (mine, _), chroma = dense.query(vec, 20), store.query_vectors(vec, 20)
        assert [c for c, _, _ in mine[:10]] == [c for c, _, _ in chroma[:10]]
        assert [r for _, r, _ in mine[:10]] == [r for _, r, _ in chroma[:10]]
        assert all(abs(a[2] - b[2]) < 1e-4 for a, b in zip(mine[:10], chroma[:10]))


@pytest.mark.slow
def test_dense_index_follows_store_changes(tmp_path):
    """A search after an ingest sees the new records: the matrix is reloaded when the store changes."""
    from bot.context import build_context
    from bot.settings import Settings
    from ingest.build import build_bank

    store_dir = tmp_path / "store"
    ctx = build_context(store_dir, Settings(embedder="e5"))
    doc = tmp_path / "a.md"
    doc.write_text("## 什么是残差连接?\n\n残差连接把输入直接加到输出上,缓解深层网络的退化问题。\n", encoding="utf-8")

    build_bank([doc], store_dir, ctx.embedder, ctx.tokenizer, ctx.settings)
    r = ctx.retriever
    assert [c.record.question for c in r.search("resnet 的 shortcut 是什么", k=1)] == ["什么是残差连接?"]
    doc2 = tmp_path / "b.md"
    doc2.write_text("## 什么是标签平滑?\n\n标签平滑把 one-hot 标签换成软标签,防止模型过于自信。\n", encoding="utf-8")
    build_bank([doc2], store_dir, ctx.embedder, ctx.tokenizer, ctx.settings)
    hits = r.search("label smoothing 有什么用", k=2)
    assert hits[0].record.question == "什么是标签平滑?"
    assert hits[0].dense > 0.8  # found by its vector too, not only through BM25


def test_big_bank_eval_sets_are_well_formed_and_test_is_sealed():
    """The big-bank lookup eval (run with `mianshi eval search --store BIG --data ...` where that bank exists):
    rows parse, dev and test are disjoint by query, and the test file is the one whose hash is sealed."""
    import hashlib

    dev = load_rows(ROOT / "evals" / "search_big_dev.jsonl")
    test = load_rows(ROOT / "evals" / "search_big_test.jsonl")
    assert {r.split for r in dev} == {"dev"} and {r.split for r in test} == {"test"}
    assert not {r.query for r in dev} & {r.query for r in test}
    assert sum(bool(r.expect) for r in test) >= 100 and sum(not r.expect for r in test) >= 10
    assert all(e.strip("= ") for r in dev + test for e in r.expect)
    digest = hashlib.sha256((ROOT / "evals" / "search_big_test.jsonl").read_bytes()).hexdigest()
    sealed = (ROOT / "evals" / "SEALED").read_text(encoding="utf-8").split()
    assert sealed[sealed.index("evals/search_big_test.jsonl") + 1] == digest
