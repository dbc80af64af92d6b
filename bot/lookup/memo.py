"""What search reads of its candidates, remembered between searches for one store generation.

A search reads the question, kind and tokens of ~25 candidates and the token states of ~20 (two SQLite reads
each, ~3 ms together on a 3.8k-record bank: a fifth of the query encode). Popular records come up again and
again across queries, so a bounded memo keeps them; any change to the store moves its generation on and
empties it. States are kept as stored (int8), about 7.5 KB a question; fields about 5 KB a record (tokens
interned, one frozenset each).
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from typing import Callable

import numpy as np

from ingest.qstates import unpack

# A bank up to this size has its fields read whole on its first search after a change (0.15 s and ~20 MB at
# 3.8k records), as the dense matrix is; a larger one keeps the most recently used.
MAX_FIELDS = 8000
MAX_STATES = 4096  # ~30 MB of states at most


class _Bounded:
    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()  # the web app may search from several threads
        self._epoch = 0  # moved by ``clear``: a read that started before a clear must not land after it

    def fetch(self, ids: list[str], read: Callable[[list[str]], dict]) -> dict:
        """Values for ``ids``: remembered ones, and the rest from ``read`` (ids it does not return stay absent,
        and are asked again next time)."""
        out, missing = {}, []
        with self._lock:
            epoch = self._epoch
            for rid in ids:
                v = self.data.get(rid)
                if v is None:
                    missing.append(rid)
                else:
                    self.data.move_to_end(rid)
                    out[rid] = v
        if missing:
            got = read(missing)
            out.update(got)
            with self._lock:
                if epoch == self._epoch:
                    self.data.update(got)
                    while len(self.data) > self.size:
                        self.data.popitem(last=False)
        return out

    def clear(self) -> None:
        with self._lock:
            self.data.clear()
            self._epoch += 1


class CandidateMemo:
    """Rank fields and question states by record id for one store generation (``reset`` when it moves)."""

    def __init__(self, store, fields: int = MAX_FIELDS, states: int = MAX_STATES) -> None:
        self.store = store
        self._fields = _Bounded(fields)
        self._states = _Bounded(states)
        self._warm = False

    def reset(self) -> None:
        self._fields.clear()
        self._states.clear()
        self._warm = False

    def rank_fields(self, ids: list[str]) -> dict[str, tuple[str, str, frozenset[str]]]:
        if not self._warm:
            # A bank that fits is read in one pass, as the dense matrix is: no search then waits on SQLite for
            # its candidates' fields, however rarely they come up.
            self._warm = True
            if self.store.count_records() <= self._fields.size:
                every = self.store.record_ids(include_passages=True)
                for i in range(0, len(every), 500):  # SQLite's bound-parameter limit
                    self._fields.fetch(every[i : i + 500], self._read_fields)
        return self._fields.fetch(ids, self._read_fields)

    def _read_fields(self, ids: list[str]) -> dict[str, tuple[str, str, frozenset[str]]]:
        return {rid: (q, kind, frozenset(sys.intern(t) for t in toks))
                for rid, (q, kind, toks) in self.store.rank_fields(ids).items()}

    def question_states(self, ids: list[str], model: str) -> dict[str, np.ndarray]:
        packed = self._states.fetch(ids, lambda m: self.store.packed_question_states(m, model))
        return {k: unpack(blob, n) for k, (blob, n) in packed.items()}
