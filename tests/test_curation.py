"""Fixing the bank by hand: edits, single-record deletions and flags survive re-ingest (real SQLite + Chroma)."""

from __future__ import annotations

import sqlite3

import pytest

from bot.settings import Settings
from ingest.build import build_bank
from ingest.editing import delete_record, edit_record, flag_record, unflag_record
from ingest.embed import HashEmbedder
from ingest.errors import InputError
from ingest.store import SCHEMA_VERSION, Store
from ingest.tokenize import Tokenizer


@pytest.fixture
def bank(tmp_path, corpus):
    settings = Settings(embedder="hash")
    tok = Tokenizer()
    store_dir = tmp_path / "store"
    build_bank([corpus], store_dir, HashEmbedder(), tok, settings)
    st = Store(store_dir, HashEmbedder())
    yield st, tok, settings, corpus, store_dir
    st.close()


def _find(st: Store, text: str):
    return next(r for r in st.iter_records() if text in r.question)


def _reingest(bank, touch: bool):
    st, tok, settings, corpus, store_dir = bank
    if touch:  # a changed file: every record of it is rebuilt from the document
        f = sorted(corpus.iterdir())[0]
        f.write_text(f.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    return build_bank([corpus], store_dir, HashEmbedder(), tok, settings)


@pytest.mark.parametrize("touch", [False, True], ids=["unchanged-file", "changed-file"])
def test_edit_survives_reingest_and_keeps_the_original(bank, touch):
    st, tok, settings, *_ = bank
    rec = _find(st, "成本函数")
    edited = edit_record(st, tok, settings, rec.id, "什么是成本函数（损失函数）？", "成本函数衡量预测与真实值的差距，训练时最小化它。",
                         editor="admin")
    assert edited.question == "什么是成本函数（损失函数）？" and [a.text for a in edited.answers] == [
        "成本函数衡量预测与真实值的差距，训练时最小化它。"]
    _reingest(bank, touch)
    again = st.get_records([rec.id])[0]
    assert again.question == "什么是成本函数（损失函数）？"
    assert [a.text for a in again.answers] == ["成本函数衡量预测与真实值的差距，训练时最小化它。"]
    e = st.edit_for(rec.id)
    assert e.original_question == rec.question and e.original_answer == rec.answers[0].text and e.editor == "admin"
    # The edited text is what search sees: its chunk is stored and embedded, the old answer's chunks are gone.
    chunks = st.db.execute("SELECT text, embedded FROM chunks WHERE record_id=? AND role='answer'", (rec.id,)).fetchall()
    assert [tuple(c) for c in chunks] == [("成本函数衡量预测与真实值的差距，训练时最小化它。", 1)]
    assert st.collection.count() == st.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]


def test_second_edit_keeps_the_first_original(bank):
    st, tok, settings, *_ = bank
    rec = _find(st, "成本函数")
    edit_record(st, tok, settings, rec.id, "Q1", "A1")
    edit_record(st, tok, settings, rec.id, "Q2", "A2")
    assert st.edit_for(rec.id).original_question == rec.question and st.get_records([rec.id])[0].question == "Q2"


@pytest.mark.parametrize("touch", [False, True], ids=["unchanged-file", "changed-file"])
def test_deleted_record_stays_deleted_and_nothing_else_changes(bank, touch):
    st, tok, settings, *_ = bank
    rec = _find(st, "成本函数")
    before = {r.id for r in st.iter_records()}
    delete_record(st, tok, settings, rec.id, deleted_by="admin")
    assert {r.id for r in st.iter_records()} == before - {rec.id}
    _reingest(bank, touch)
    assert {r.id for r in st.iter_records()} == before - {rec.id}
    assert st.db.execute("SELECT COUNT(*) FROM chunks WHERE record_id=?", (rec.id,)).fetchone()[0] == 0
    assert st.collection.count() == st.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]


def test_flagged_record_leaves_interviews_until_reviewed(bank):
    st, *_ = bank
    rec = _find(st, "成本函数")
    assert rec.id in {r.id for r in st.records_by()}
    flag_record(st, rec.id, "答案不完整", user="小明")
    assert rec.id not in {r.id for r in st.records_by()}
    assert rec.id in {r.id for r in st.records_by(include_flagged=True)}
    [f] = st.flags()
    assert (f.record_id, f.question, f.reason, f.flagged_by) == (rec.id, rec.question, "答案不完整", "小明")
    assert unflag_record(st, rec.id) and st.flags() == [] and rec.id in {r.id for r in st.records_by()}


@pytest.mark.parametrize("call, message", [
    (lambda st, tok, s: edit_record(st, tok, s, "nope", "Q", "A"), "no record 'nope'"),
    (lambda st, tok, s: edit_record(st, tok, s, _find(st, "成本函数").id, "  ", "A"), "question cannot be empty"),
    (lambda st, tok, s: edit_record(st, tok, s, _find(st, "成本函数").id, "Q", "x" * 20_001), "too long"),
    (lambda st, tok, s: delete_record(st, tok, s, "nope"), "no record 'nope'"),
    (lambda st, tok, s: flag_record(st, "nope"), "no record 'nope'"),
])
def test_bad_curation_input_is_refused_and_changes_nothing(bank, call, message):
    st, tok, settings, *_ = bank
    before = [r.model_dump() for r in st.iter_records()]
    with pytest.raises(InputError, match=message):
        call(st, tok, settings)
    assert [r.model_dump() for r in st.iter_records()] == before


def test_a_v2_store_is_migrated_to_the_curation_tables(bank):
    st, *_ , store_dir = bank
    st.close()
    db = sqlite3.connect(store_dir / "records.sqlite")
    db.executescript("DROP TABLE edits; DROP TABLE deletions; DROP TABLE flags; "
                     "UPDATE meta SET value='2' WHERE key='schema_version';")
    db.close()
    st2 = Store(store_dir, HashEmbedder())
    assert st2.meta("schema_version") == str(SCHEMA_VERSION) == "4"
    assert st2.flags() == [] and st2.edit_for("x") is None
    st2.close()


def test_search_sees_an_edit_made_after_it_read_the_record(bank):
    """The retriever remembers what it read of its candidates; an edit moves the store on and it reads again."""
    from bot.lookup.retrieval import Retriever

    st, tok, settings, _, _ = bank
    retriever = Retriever(st, tok)
    rec = _find(st, "梯度消失")
    assert any(c.id == rec.id and c.question == rec.question for c in retriever.search(rec.question, k=5))
    edit_record(st, tok, settings, rec.id, "梯度消失是什么原因造成的?", rec.answers[0].text)
    hit = next(c for c in retriever.search("梯度消失是什么原因造成的?", k=5) if c.id == rec.id)
    assert hit.question == hit.record.question == "梯度消失是什么原因造成的?"
