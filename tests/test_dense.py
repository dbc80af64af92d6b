"""The in-memory dense index: exact cosine search, and the same search restricted to one language (real SQLite,
Chroma and, for the cross-language effect, the real e5 model)."""

from __future__ import annotations

import pytest

from bot.lang import language_of
from bot.lookup.dense import DenseIndex
from bot.settings import Settings
from ingest.build import build_bank
from ingest.embed import HashEmbedder
from ingest.store import Store

BANK = """# Random forests

## What is a random forest?

A random forest is an ensemble of decision trees, each trained on a bootstrap sample with random feature subsets.

## How many trees does a random forest need?

More trees reduce variance until the out-of-bag error stops improving; a few hundred is common.

## Why does a random forest use random feature subsets?

Random subsets decorrelate the trees, so averaging them reduces variance more.

## Can a random forest overfit?

Adding trees does not overfit, but deep trees on noisy data can; limit depth or leaf size.

## How does a random forest rank feature importance?

By the mean impurity decrease of splits on a feature, or by permutation importance on out-of-bag samples.

## 随机森林有什么优缺点?

优点：精度高、不易过拟合、能处理高维特征、可并行训练；缺点：模型大、预测慢、可解释性差。
"""


def _bank(tmp_path, embedder, tok):
    doc = tmp_path / "docs" / "rf.md"
    doc.parent.mkdir()
    doc.write_text(BANK, encoding="utf-8")
    build_bank([doc.parent], tmp_path / "store", embedder, tok, Settings(embedder=embedder.name))
    return Store(tmp_path / "store", embedder)


def test_a_language_restricted_search_returns_only_chunks_in_that_language(tmp_path):
    from ingest.tokenize import Tokenizer

    st = _bank(tmp_path, HashEmbedder(), Tokenizer())
    index = DenseIndex(st)
    vec = st.embedder.encode_queries(["random forest pros and cons"])[0]
    every, chinese = index.query(vec, 50, lang="zh")
    texts = st.chunk_texts([c for c, _, _ in every])
    assert len(every) == st.vector_count() and {language_of(t) for t in texts.values()} == {"zh", "en"}
    assert chinese and [c for c, _, _ in chinese] == [c for c, _, _ in every if language_of(texts[c]) == "zh"]
    assert index.query(vec, 50) == (every, [])


@pytest.mark.slow
def test_an_english_query_reaches_the_chinese_record_through_the_cross_language_ranking(tmp_path):
    from bot.context import build_context

    from ingest.tokenize import Tokenizer

    ctx = build_context(tmp_path / "store", Settings(embedder="e5"))
    _bank(tmp_path, ctx.embedder, Tokenizer())
    query = "what are the pros and cons of random forests"
    vec = ctx.embedder.encode_queries([query])[0]
    every, chinese = ctx.retriever.dense.query(vec, 30, lang="zh")
    questions = {r.id: r.question for r in ctx.store.iter_records()}
    zh_id = next(rid for rid, q in questions.items() if language_of(q) == "zh")
    # e5 ranks same-language text higher: every English question sits above the Chinese one that answers …
    first_zh = next(i for i, (_, rid, _) in enumerate(every) if rid == zh_id)
    assert len({rid for _, rid, _ in every[:first_zh]}) == 5
    # … while the cross-language ranking puts it first, and the fused candidates carry it.
    assert chinese[0][1] == zh_id
    assert zh_id in [c.id for c in ctx.retriever.search(query, k=3, rerank=False)]
