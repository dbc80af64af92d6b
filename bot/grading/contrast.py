"""The contrast set: other questions' references, so a right answer to a *different* question is told from a
right answer to this one."""

from __future__ import annotations

import re

import numpy as np

from bot.grading.cache import EmbedCache
from bot.grading.text import normalize
from ingest.chunk import chunk_text
from ingest.settings import BankSettings

CSLS_K = 10  # hubness correction: a reference chunk's mean cosine to its k nearest chunks of other questions
# The cut ingest stores answers in Chroma with (BankSettings.chunk_chars / chunk_overlap): the grader's own
# reference chunks must be cut the same way, so callers pass the settings in; these are only their defaults.
DEFAULT_CHUNKING = (BankSettings.model_fields["chunk_chars"].default, BankSettings.model_fields["chunk_overlap"].default)


def reference_chunks(reference: str, chunking: tuple[int, int] = DEFAULT_CHUNKING) -> list[str]:
    chars, overlap = chunking
    return chunk_text(reference, chars, overlap) or ([reference.strip()] if reference.strip() else [])

def question_key(question: str) -> str:
    return re.sub(r"[\W_]", "", normalize(question).lower())


class ContrastSet:
    """Other questions' references. An answer to Q should sit closer to Q's references than to these.

    Dense rows are reference chunks (the cut ingest uses for Chroma) with an owner: a bank record id, or the
    question's text when built from (question, reference) pairs; each chunk carries a hubness penalty (its
    mean cosine to the CSLS_K nearest chunks of other owners) so that short, generic chunks that sit close to
    everything do not win. Lexical rows are each owner's question+reference terms with their IDF over owners.
    ``mask`` leaves out the owners that are the graded question itself (same record id, same question text,
    or sharing a reference chunk).
    """

    def __init__(self, owners: list[str], questions: list[str], texts: list[str], vecs: np.ndarray,
                 terms: dict[str, set[str]], chunking: tuple[int, int] = DEFAULT_CHUNKING) -> None:
        self.chunking = chunking
        self.owner_names = sorted(set(owners) | set(terms))
        idx = {o: i for i, o in enumerate(self.owner_names)}
        self.owner = np.asarray([idx[o] for o in owners], dtype=np.int64)
        qtext: dict[str, str] = {}
        for o, q in zip(owners, questions):
            qtext.setdefault(o, q)
        self.question = [qtext.get(o, "") for o in self.owner_names]  # shown when an answer fits another one
        self.qkey = [question_key(q) for q in self.question]
        self.texts = texts
        self.vecs = np.asarray(vecs, dtype=np.float32).reshape(len(texts), -1)
        self._by_text: dict[str, set[int]] = {}
        for t, o in zip(texts, self.owner):
            self._by_text.setdefault(t, set()).add(int(o))
        self.penalty = self.hubness(self.vecs, self.owner)
        self.terms = [terms.get(o, set()) for o in self.owner_names]
        df: dict[str, int] = {}
        for ts in self.terms:
            for t in ts:
                df[t] = df.get(t, 0) + 1
        self.df, self.n_docs = df, len(self.terms)

    def hubness(self, vecs: np.ndarray, owner: np.ndarray | None = None,
                keep: np.ndarray | None = None) -> np.ndarray:
        """Mean cosine of each vector to its CSLS_K nearest contrast chunks: of other owners (``owner``: the
        vectors' own owners) and/or of the kept owners only (``keep``: a mask over owners)."""
        out = np.zeros(len(vecs))
        cols = keep[self.owner] if keep is not None else np.ones(len(self.owner), bool)
        for start in range(0, len(vecs), 512):  # blocks: a large bank never needs an n×n matrix at once
            sims = vecs[start : start + 512] @ self.vecs[cols].T
            if owner is not None:
                sims[owner[start : start + 512, None] == self.owner[cols][None, :]] = -np.inf
            for i, row in enumerate(sims):
                row = row[np.isfinite(row)]
                if len(row):
                    k = min(CSLS_K, len(row))
                    out[start + i] = float(np.partition(row, len(row) - k)[-k:].mean())
        return out

    def idf(self, term: str) -> float:
        return float(np.log((self.n_docs + 1) / (self.df.get(term, 0) + 0.5)))

    def __len__(self) -> int:
        return len(self.owner_names)

    @classmethod
    def from_pairs(cls, cache: EmbedCache, tokenizer, pairs: list[tuple[str, str]],
                   chunking: tuple[int, int] = DEFAULT_CHUNKING) -> "ContrastSet":
        """From (question, reference) pairs: a batch of graded lines, an eval set, a list of bank answers."""
        owners, questions, texts = [], [], []
        terms: dict[str, set[str]] = {}
        seen = set()
        for q, ref in pairs:
            if not (q or "").strip() or not (ref or "").strip():
                continue
            o = question_key(q)
            terms.setdefault(o, set()).update(cache.tokens(tokenizer, q), cache.tokens(tokenizer, ref))
            for piece in reference_chunks(normalize(ref), chunking):
                if (o, piece) not in seen:
                    seen.add((o, piece))
                    owners.append(o)
                    questions.append(q)
                    texts.append(piece)
        vecs = cache.get(texts) if texts else np.zeros((0, getattr(cache.embedder, "dim", 0)), np.float32)
        return cls(owners, questions, texts, vecs, terms, chunking)

    @classmethod
    def from_store(cls, store, cache: EmbedCache | None = None,
                   chunking: tuple[int, int] = DEFAULT_CHUNKING) -> "ContrastSet":
        """The bank's answer chunks with the vectors and terms ingest already stored (nothing is re-encoded)."""
        rows, vecs = store.answer_chunk_vectors()
        if cache is not None:
            cache.put([r[1] for r in rows], vecs)
        owners = {r[0] for r in rows}
        ids_all, toks = store.all_tokens()
        terms = {rid: set(t) for rid, t in zip(ids_all, toks) if rid in owners}
        return cls([r[0] for r in rows], [r[2] for r in rows], [r[1] for r in rows], vecs, terms, chunking)

    @classmethod
    def merge(cls, *sets: "ContrastSet | None") -> "ContrastSet | None":
        """One set from several (a bank and a batch's own references): owners keep their names."""
        sets = [c for c in sets if c is not None and len(c)]
        if len(sets) < 2:
            return sets[0] if sets else None
        owners, questions, texts, vecs, terms = [], [], [], [], {}
        for c in sets:
            names = [c.owner_names[i] for i in c.owner]
            owners += names
            questions += [c.question[i] for i in c.owner]
            texts += c.texts
            vecs.append(c.vecs)
            terms.update({o: t for o, t in zip(c.owner_names, c.terms)})
        return cls(owners, questions, texts, np.vstack(vecs), terms, sets[0].chunking)

    def mask(self, question: str, own_chunks: list[str], own_ids: list[str] = ()) -> np.ndarray:
        """Boolean over owners: True for the *other* questions."""
        qk = question_key(question)
        keep = np.asarray([k != qk and o not in set(own_ids) for k, o in zip(self.qkey, self.owner_names)], bool)
        for t in own_chunks:
            for i in self._by_text.get(t, ()):
                keep[i] = False
        return keep


def contrast_features(cache: EmbedCache, tokenizer, view, question: str, references: list[str],
                      contrast: "ContrastSet | None", own_ids: list[str] = ()) -> dict[str, float | str] | None:
    """Question-level: does the answer sit closer to this question's references than to any other's?"""
    if contrast is None or not len(contrast):
        return None
    own_chunks = [c for r in references for c in reference_chunks(normalize(r), contrast.chunking)]
    keep = contrast.mask(question, own_chunks, list(own_ids))
    if not own_chunks or not keep.any():
        return None
    a = view.answer_vec
    # Dense, with the hubness correction on both sides (CSLS): a chunk close to everything proves little.
    own = cache.get(own_chunks)
    own_best = float((own @ a - contrast.hubness(own, keep=keep)).max())
    per_owner = np.full(len(contrast), -np.inf)
    np.maximum.at(per_owner, contrast.owner, contrast.vecs @ a - contrast.penalty)
    others = per_owner[keep]
    fin = np.isfinite(others)
    other_idx = np.flatnonzero(keep)[fin]
    others = others[fin]
    # Lexical: which question's terms explain the most of the answer's (IDF-weighted) terms.
    ans = set(view.tokens)
    weight = {t: contrast.idf(t) for t in ans}
    total = sum(weight.values()) or 1.0
    own_terms = set(cache.tokens(tokenizer, question)).union(*(cache.tokens(tokenizer, r) for r in references))
    own_lex = sum(weight[t] for t in ans & own_terms) / total
    lex_idx = [i for i, (terms, k) in enumerate(zip(contrast.terms, keep)) if k and terms]
    other_lex = np.asarray([sum(weight[t] for t in ans & contrast.terms[i]) / total for i in lex_idx])
    best_dense = int(other_idx[int(others.argmax())]) if len(others) else -1
    best_lex = lex_idx[int(other_lex.argmax())] if len(other_lex) else -1
    return {
        "ctr_margin": own_best - float(others.max()) if len(others) else 0.0,
        "ctr_rank": float(np.log2(1 + (others > own_best).sum())),
        "ctr_lex_margin": own_lex - float(other_lex.max()) if len(other_lex) else 0.0,
        "ctr_lex_rank": float(np.log2(1 + (other_lex > own_lex).sum())),
        # the other question the answer fits best (dense and lexical agree), for "this answers X instead"
        "other_question": contrast.question[best_dense] if best_dense >= 0 and best_dense == best_lex else "",
    }
