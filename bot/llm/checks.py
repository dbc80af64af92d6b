"""Rules an LLM reply must pass before it is shown: no invented facts, the right language, no echo."""

from __future__ import annotations

import re

from bot.lang import is_english
from bot.llm import prompts as P


class Rejected(ValueError):
    """The model's output parsed but broke a rule (invented facts, bad citation, wrong language)."""


# ------------------------------------------------------------------------------------------- checks


_NUM = re.compile(r"\d+(?:\.\d+)?")
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9\-]*")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _is_term(word: str, chinese_reply: bool) -> bool:
    # In Chinese text every Latin word is a technical term; in English only acronyms, CamelCase and words with
    # digits are (ordinary English words cannot be told from facts by a cheap check).
    if len(word) < 2:
        return False
    if chinese_reply:
        return True
    return sum(c.isupper() for c in word) >= 2 or (any(c.isdigit() for c in word) and any(c.isalpha() for c in word))


def invented_terms(reply: str, *sources: str) -> list[str]:
    """Numbers and technical terms in ``reply`` that appear in none of ``sources``: facts the model made up."""
    allowed = " ".join(sources).lower()
    chinese = bool(_CJK.search(reply))
    found = [n for n in _NUM.findall(reply) if n not in allowed]
    found += [w for w in _LATIN.findall(reply) if _is_term(w, chinese) and w.lower() not in allowed]
    return list(dict.fromkeys(found))


def language_of(text: str) -> str:
    """The prompt's name of the language ``text`` is written in (``bot.lang`` decides)."""
    return P.LANG_EN if is_english(text) else P.LANG_ZH


def check_language(reply: str, language: str) -> None:
    if language == P.LANG_ZH and not _CJK.search(reply):
        raise Rejected("the reply is not in Chinese")


_ECHO = re.compile(r"[<‹]\s*/?\s*(?:question|reference|references|findings|answer|query|missed_point)\s*[>›]", re.I)


def check_no_echo(reply: str) -> None:
    # Small models sometimes copy the prompt's tagged data back: that is not an answer.
    if _ECHO.search(reply):
        raise Rejected("the output echoes the prompt's tags")


def copied_share(reply: str, source: str, n: int = 8) -> float:
    """Share of the reply's character n-grams (spaces removed) that occur in ``source``."""
    r, src = re.sub(r"\s+", "", reply), re.sub(r"\s+", "", source)
    grams = {r[i:i + n] for i in range(max(0, len(r) - n + 1))}
    return sum(g in src for g in grams) / len(grams) if grams else 0.0


COPY_LIMIT = 0.6  # measured: Qwen2.5-1.5B at temperature 0 sometimes returns the candidate's answer verbatim


def same_text(a: str, b: str) -> bool:
    norm = lambda s: re.sub(r"[\W_]+", "", s).lower()  # noqa: E731
    return norm(a) == norm(b)
