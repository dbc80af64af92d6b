"""Character-level normalisation every reader shares: line ends, terminal escapes, full-width ASCII, odd
spaces, invisible, bidi and control characters (they are stripped from stored text)."""

from __future__ import annotations

import re

_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_SPACES = {c: " " for c in (0x00A0, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x202F, 0x205F, 0x3000)}
_ZERO_WIDTH = {c: None for c in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x180E, 0x00AD)}
# Bidi controls (LRM/RLM/ALM, embeddings/overrides U+202A-E, isolates U+2066-9) are invisible but
# reorder what the user sees: "什么是\u202eNB" displays reversed ("Trojan Source"). Questions are
# shown, searched and graded as plain text, so they are dropped, never stored.
_BIDI = {c: None for c in (0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A))}
# Other C0/C1 control characters (NUL, BEL, BS, DEL, ...) carry no text and can garble a terminal
# or break downstream tools; vertical tab, form feed, file/group/record separators, NEL and the
# Unicode line/paragraph separators are line breaks to ``str.splitlines`` elsewhere, so they become
# "\n" here and every module sees the same lines.
_LINE_BREAKS = {c: "\n" for c in (0x0B, 0x0C, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029)}
_CONTROLS = {c: None for c in (*range(0x00, 0x09), *range(0x0E, 0x1C), 0x1F, 0x7F, *range(0x80, 0x85), *range(0x86, 0xA0))}
# Every other invisible format character (Unicode category Cf, as of Unicode 14): invisible math
# operators, interlinear annotation marks and the TAG block U+E0000-E007F, which can smuggle hidden
# ASCII ("ASCII smuggling" prompt injection) into a question that looks innocent on screen.
_FORMAT_RANGES = (
    (0x0600, 0x0605), (0x06DD, 0x06DD), (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x2061, 0x2064),
    (0x206A, 0x206F), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F),
)
_FORMAT = {c: None for lo, hi in _FORMAT_RANGES for c in range(lo, hi + 1)}
_TRANSLATE = {**_CONTROLS, **_LINE_BREAKS, **_FULLWIDTH, **_SPACES, **_ZERO_WIDTH, **_BIDI, **_FORMAT, 0x09: " "}
# Terminal escape sequences (ANSI colours, cursor moves, OSC titles) go whole, before the lone ESC
# byte is dropped with the other controls, so no "[31m" debris is left in the text.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]{0,512}(?:\x07|\x1b\\)?|[@-Z\\-_])")
# A run of 16+ of one punctuation/symbol character is a decorative rule (``=====``, ``#####``); it is
# cut to three. Besides being noise, a 5 MB run of '#' made jieba's segmentation superlinear (minutes).
_SYMBOL_RUN = re.compile(r"([^\w\s])\1{15,}")


def normalize_chars(text: str) -> str:
    """Only the character-level part of ``clean_text``: line ends, terminal escapes, full-width ASCII,
    odd spaces, invisible and control characters. For structured documents, whose lines must not be
    judged as page chrome one by one."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    return _SYMBOL_RUN.sub(r"\1\1\1", text.translate(_TRANSLATE))
