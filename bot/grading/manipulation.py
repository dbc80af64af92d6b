"""Manipulation: text addressed to the grader instead of answering (instructions, fake scores or JSON,
role-play as the system, pleas, a pasted reference with a request), in any language, anywhere in the answer.

The answer is cut into segments — sentences, lines, the inside of brackets and parentheses, code blocks,
HTML comments — and each segment is scored by a small learned classifier (hashed character 1–4-grams,
logistic regression; weights in ``manipulation_model.json``, fitted by ``mianshi eval grade --fit`` on
generated examples from ``bot.grading.manipulation_data``, never on eval rows). A few structural cues that
need no learning (a role marker opening a line, a JSON/tag field that carries a score) also count.
"""

from __future__ import annotations

import json
import re
import unicodedata
import zlib
from pathlib import Path

import numpy as np

from ingest.errors import ModelLoadError

MODEL_PATH = Path(__file__).with_name("manipulation_model.json")
DIM = 1 << 18
NGRAMS = (1, 2, 3, 4)
THRESHOLD = 0.5
CLAUSE_THRESHOLD = 0.75  # for comma-separated pieces (see ``clause_pieces``)
MIN_CONTENT = 4  # letters/CJK a segment needs before the classifier reads it ("(0,1)" says nothing)
_CONTENT = re.compile(r"[^\W\d_]")  # letters of any script: a request in Cyrillic or Arabic is read too

_BLOCKS = (
    re.compile(r"```.*?(?:```|$)", re.S), re.compile(r"`[^`\n]+`"), re.compile(r"<!--.*?(?:-->|$)", re.S),
    re.compile(r"[（(][^（()）]{2,300}[)）]"), re.compile(r"[\[【［][^\[\]【】［］]{2,300}[\]】］]"),
    re.compile(r"\{[^{}]{2,300}\}"), re.compile(r"<[^<>]{2,300}>"),
)
# Sentence ends: CJK and ASCII terminators, and a period before a space (not "0.5" or "e.g.x").
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])|(?<=\.)\s+")
# Clause breaks inside a sentence: a plea can sit between two commas of an ordinary sentence.
_CLAUSE_END = re.compile(r"[，,、]|…+|\.{2,}|——")
# Structural cues: a chat role opening a line, a score-carrying field in JSON / tags / brackets.
_ROLE = re.compile(r"(?:^|\n)\s*(?:[\[【<(|]\s*)?(?:system|assistant|admin|grader|evaluator|系统|管理员|评分员|考官)"
                   r"(?:\s*(?:消息|提示|message|prompt|note))?\s*[\]】>)|]?\s*[:：]", re.I)
_SCORE_FIELD = re.compile(r"[\"'“]?(?:score|grade|label|rating|points?|mark|分数|评分|得分|打分|分值)[\"'”]?\s*[:：=]\s*"
                          r"[\"'“]?\s*(?:[0-9０-９]+(?:\.\d+)?|满分|full)|<\s*(?:score|grade|label)\s*>"
                          # … or a Markdown table row that carries one: "| 评分 | 5 |"
                          r"|\|\s*(?:score|grade|rating|total|分数|评分|得分|打分|总分|总评)\s*\|\s*(?:[0-9０-９]+(?:\.\d+)?|满分|full)\s*(?:/\s*5\s*)?\|",
                          re.I)


def segments(text: str) -> list[str]:
    """The pieces a grader-directed instruction could hide in (overlapping; the whole text is one of them)."""
    out = [text]
    for rx in _BLOCKS:
        out += [m.group(0) for m in rx.finditer(text)]
    for line in text.splitlines():
        out.append(line)
        out += _SENTENCE_END.split(line)
    return list(dict.fromkeys(s.strip() for s in out if len(s.strip()) >= 2))


def clause_pieces(text: str) -> list[str]:
    """Comma-separated pieces of each sentence: shorter than ``segments``, so read with a stricter threshold
    (a clause such as "各给一个分数" is ordinary DL text that happens to look like a request)."""
    out = [c.strip() for line in text.splitlines() for sent in _SENTENCE_END.split(line)
           for c in _CLAUSE_END.split(sent)]
    return list(dict.fromkeys(c for c in out if len(c) >= 2))


def _prep(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).lower()).strip()


def hashed(text: str) -> list[int]:
    """Indices of the text's character n-grams (deterministic: crc32, not Python's salted hash)."""
    t = f"\x02{_prep(text)}\x03"
    grams = {t[i : i + n] for n in NGRAMS for i in range(len(t) - n + 1)}
    return sorted({zlib.crc32(g.encode("utf-8")) % DIM for g in grams})


class ManipulationModel:
    def __init__(self, weights: dict[int, float], bias: float, threshold: float = THRESHOLD) -> None:
        self.w = np.zeros(DIM, np.float32)
        for k, v in weights.items():
            self.w[int(k)] = v
        self.bias, self.threshold = bias, threshold

    def probability(self, text: str) -> float:
        idx = hashed(text)
        z = self.bias + float(self.w[idx].sum()) / np.sqrt(max(len(idx), 1))
        return float(1 / (1 + np.exp(-z)))

    def spans(self, text: str) -> list[str]:
        """Segments that address the grader (structural cues or the classifier), longest first removed."""
        found = []
        if _ROLE.search(text):
            found += [m.group(0).strip() for m in _ROLE.finditer(text)]
        found += [m.group(0) for m in _SCORE_FIELD.finditer(text)]
        segs = [s for s in segments(text) if len(_CONTENT.findall(s)) >= MIN_CONTENT] or [text]
        found += [s for s in segs[1:] if self.probability(s) >= self.threshold]
        found += [c for c in clause_pieces(text) if c not in segs and len(_CONTENT.findall(c)) >= MIN_CONTENT
                  and self.probability(c) >= CLAUSE_THRESHOLD]
        if not found and len(segs) == 1 and self.probability(segs[0]) >= self.threshold:
            found.append(segs[0])
        return list(dict.fromkeys(found))


def load_model(path: Path = MODEL_PATH) -> ManipulationModel:
    if not path.exists():
        raise ModelLoadError(f"no manipulation model at {path} — run `mianshi eval grade --fit` to fit it")
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("dim") != DIM or tuple(data.get("ngrams", ())) != NGRAMS:
        raise ModelLoadError(f"manipulation model {path} was fitted with other features — refit with "
                             f"`mianshi eval grade --fit`")
    return ManipulationModel({int(k): v for k, v in data["weights"].items()}, data["bias"],
                             data.get("threshold", THRESHOLD))

