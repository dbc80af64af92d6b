"""Second-stage ranking of the fused candidates by token alignment of the query with each question.

With a few thousand records a colloquial query ("为啥RF不太会overfit") has a dozen neighbours that share its
topic words, and one sentence cosine per record separates them poorly. Reading the query and a candidate
question token by token (each token's best cosine in the other text, averaged both ways: the "MaxSim" of
late-interaction retrievers, over e5's own token states) tells "why does it resist overfitting" from "what are
its pros and cons". A linear model over these alignments, the fused rank and the query's word coverage,
fitted on the spent lookup sets of both banks (``search_eval.fit_reranker``), re-orders the top
``DEPTH`` candidates. Weights: ``rerank.json``, per states model.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ingest.schema import Strict

RERANK_PATH = Path(__file__).with_name("rerank.json")
DEPTH = 20  # candidates the reranker re-orders (the fused top 20 holds the right record for ~0.9 of queries)
FEATURES = ("log_rank", "coverage", "align_query", "align_question", "align_query_gap", "align_question_gap")


class RerankModel(Strict):
    states_model: str
    mean: list[float]
    scale: list[float]
    weights: list[float]
    bias: float
    fitted_on: str


def alignments(query_states: np.ndarray, questions: list[np.ndarray]) -> list[tuple[float, float]]:
    """(mean best cosine of each query token in the question, and of each question token in the query) for each
    question, from one matrix product over all their tokens (twenty small products cost ~0.6 ms of Python and
    BLAS overhead on the query path; one costs ~0.1 ms). A question without states aligns with nothing."""
    out = [(0.0, 0.0)] * len(questions)
    keep = [i for i, q in enumerate(questions) if len(q)]
    if not len(query_states) or not keep:
        return out
    lengths = np.array([len(questions[i]) for i in keep])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    sim = query_states @ np.concatenate([questions[i] for i in keep]).T
    by_query = np.maximum.reduceat(sim, starts, axis=1).mean(axis=0)  # each query token's best in each question
    by_question = np.add.reduceat(sim.max(axis=0), starts) / lengths
    for i, aq, ac in zip(keep, by_query, by_question):
        out[i] = (float(aq), float(ac))
    return out


def feature_rows(ranks: list[int], coverage: list[float], aligns: list[tuple[float, float]]) -> np.ndarray:
    """One row per candidate, in ``FEATURES`` order; the gaps are to the best alignment among the candidates."""
    if not ranks:
        return np.zeros((0, len(FEATURES)))
    best_q = max(a[0] for a in aligns)
    best_c = max(a[1] for a in aligns)
    return np.array([[math.log1p(r), cov, aq, ac, aq - best_q, ac - best_c]
                     for r, cov, (aq, ac) in zip(ranks, coverage, aligns)], dtype=float)


class Reranker:
    def __init__(self, model: RerankModel) -> None:
        self.model = model
        self._mean = np.asarray(model.mean)
        self._scale = np.asarray(model.scale)
        self._w = np.asarray(model.weights)

    @property
    def states_model(self) -> str:
        return self.model.states_model

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """Probability-like relevance of each candidate row."""
        z = ((rows - self._mean) / self._scale) @ self._w + self.model.bias
        return 1.0 / (1.0 + np.exp(-z))


def load_reranker(states_model: str | None, path: Path = RERANK_PATH) -> Reranker | None:
    """The fitted reranker for this states model, or None (no token states, or none fitted for them)."""
    if states_model is None or not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    entry = data.get(states_model)
    return Reranker(RerankModel.model_validate(entry)) if entry else None


def save_reranker(model: RerankModel, path: Path = RERANK_PATH) -> None:
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data[model.states_model] = model.model_dump()
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
