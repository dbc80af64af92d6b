"""Stored search tokens: the SQL behind them (mixed into ``ingest.store.Store``) and their upkeep.

Each record keeps the token list BM25 indexes. Tokens depend on the glossary (``ingest.tokenize``), so the
store remembers the glossary version they were made with, and ``ensure_tokens`` re-makes them all when the
glossary changed: a query segmented with new synonyms must meet documents segmented the same way.
"""

from __future__ import annotations

import json

from ingest.tokenize import glossary_version

TOKENIZER_KEY = "tokenizer"


def token_text(question: str, options: dict[str, str], answers: list[str]) -> str:
    """What a record's tokens are made from (the question counts twice: it names the concept)."""
    option_text = " ".join(f"{k}. {v}" for k, v in options.items())
    return " ".join([question, question, option_text, *answers])


class TokenTables:
    """The records table's ``tokens`` column (``self.db`` is the store's)."""

    def all_tokens(self) -> tuple[list[str], list[list[str]]]:
        ids, toks = [], []
        for rid, tokens in self.db.execute("SELECT id, tokens FROM records ORDER BY id"):
            ids.append(rid)
            toks.append(json.loads(tokens))
        return ids, toks

    def rank_fields(self, ids: list[str]) -> dict[str, tuple[str, str, set[str]]]:
        """(question, kind, token set) of these records: what ranking reads of each candidate; the full records
        (answers, options, key points) are read only for the few a search returns."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(f"SELECT id, question, kind, tokens FROM records WHERE id IN ({marks})", ids)
        return {rid: (q, kind, set(json.loads(t))) for rid, q, kind, t in rows}

    def token_version(self) -> str | None:
        return self.meta(TOKENIZER_KEY)

    def set_tokens(self, tokens: dict[str, list[str]], version: str) -> None:
        """Replace the given records' tokens and record the glossary version, in one transaction; the
        generation moves on so the lexical index is rebuilt."""
        with self.transaction() as db:
            db.executemany("UPDATE records SET tokens=? WHERE id=?",
                           [(json.dumps(t, ensure_ascii=False), rid) for rid, t in tokens.items()])
            self._set_meta(TOKENIZER_KEY, version)
            if tokens:
                self.bump_generation()


def ensure_tokens(store, tokenizer) -> int:
    """Re-make every record's tokens if they were made under another glossary version; how many were re-made."""
    version = glossary_version()
    if store.token_version() == version:
        return 0
    tokens = {r.id: tokenizer.tokens(token_text(r.question, r.options, [a.text for a in r.answers]))
              for r in store.iter_records(include_passages=True)}
    store.set_tokens(tokens, version)
    return len(tokens)
