"""Fix the bank by hand: edit a record's question and answer, delete one record, flag one as broken.

Edits and deletions are stored beside the ingested data (``ingest.curation``) and re-applied whenever the
record is rebuilt, so re-ingesting its document never undoes them; the edited text is re-chunked and
embedded like ingested text (unchanged chunks keep their vectors).
"""

from __future__ import annotations

from ingest.errors import InputError
from ingest.pipeline import Ingestor
from ingest.schema import IngestSummary, Record
from ingest.settings import BankSettings
from ingest.store import Store

MAX_QUESTION_CHARS = 500
MAX_ANSWER_CHARS = 20_000


def get_record(store: Store, record_id: str) -> Record:
    """One record by id; ``InputError`` when the bank has none."""
    got = store.get_records([record_id])
    if not got:
        raise InputError(f"题库中没有这条记录 no record '{record_id}' — list records with `mianshi export`")
    return got[0]


def _ingestor(store: Store, tokenizer, settings: BankSettings) -> Ingestor:
    return Ingestor(store, tokenizer, max_bytes=settings.max_file_bytes, chunk_chars=settings.chunk_chars,
                    chunk_overlap=settings.chunk_overlap)


def edit_record(store: Store, tokenizer, settings: BankSettings, record_id: str, question: str, answer: str,
                editor: str = "") -> Record:
    """Replace a record's question and answer; the original stays recorded with the edit."""
    question, answer = (question or "").strip(), (answer or "").strip()
    if not question:
        raise InputError("题目不能为空 the question cannot be empty — type the question text")
    if len(question) > MAX_QUESTION_CHARS or len(answer) > MAX_ANSWER_CHARS:
        raise InputError(f"太长了 too long — keep the question under {MAX_QUESTION_CHARS} and the answer under "
                         f"{MAX_ANSWER_CHARS} characters")
    rec = get_record(store, record_id)
    original_answer = "\n\n".join(a.text for a in rec.answers)
    ing = _ingestor(store, tokenizer, settings)
    with store.transaction():
        store.save_edit(record_id, question, answer, rec.question, original_answer, editor)
        ing.refresh_record(record_id)
        store.bump_generation()
    ing.sync_vectors(IngestSummary())
    return get_record(store, record_id)


def delete_record(store: Store, tokenizer, settings: BankSettings, record_id: str, deleted_by: str = "") -> None:
    """Remove one record from the bank (its documents stay; re-ingesting them does not bring it back)."""
    rec = get_record(store, record_id)
    ing = _ingestor(store, tokenizer, settings)
    with store.transaction():
        store.save_deletion(record_id, rec.question, deleted_by)
        store.clear_flag(record_id)
        ing.refresh_record(record_id)
        store.bump_generation()
    ing.sync_vectors(IngestSummary())


def flag_record(store: Store, record_id: str, reason: str = "", user: str = "") -> None:
    """Report a problem with a record: it is left out of interviews until someone reviews it."""
    get_record(store, record_id)
    with store.transaction():
        store.set_flag(record_id, (reason or "").strip()[:500], user)


def unflag_record(store: Store, record_id: str) -> bool:
    """Mark a flagged record as reviewed; it is asked in interviews again."""
    with store.transaction():
        return store.clear_flag(record_id)
