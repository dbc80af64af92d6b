"""Which language a text is written in: the one rule feedback, lookup replies and LLM prompts follow."""

from __future__ import annotations

import re
from typing import Literal

Lang = Literal["zh", "en"]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def language_of(text: str) -> Lang:
    """``en`` for a text written in English, else ``zh`` (the default).

    English means at least three Latin words and Latin letters outnumbering CJK characters eight to one:
    a bare "BN" or "pass" is no choice of language, and Chinese with English terms stays Chinese
    ("Batch Normalization 和 Group Normalization有何区别?" is a Chinese question).
    """
    words = _LATIN_WORD.findall(text)
    if len(words) < 3:
        return "zh"
    latin = sum(len(w) for w in words)
    return "en" if len(_CJK.findall(text)) * 8 < latin else "zh"


def is_english(text: str) -> bool:
    return language_of(text) == "en"
