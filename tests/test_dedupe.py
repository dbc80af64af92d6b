"""Dedupe rules as a table: what merges and what must stay apart."""

from __future__ import annotations

import pytest

from ingest.dedupe import KeyIndex, canonical_key

SAME = [
    ("请你简要介绍一下DropConnect的原理?", "DropConnect的原理?"),
    ("1*1 的卷积作用?", "1x1卷积的作用"),
    ("什么是反卷积?", "什么是反卷积"),
    ("批归一化(Batch Normalization)的作用", "Batch Normalization的作用"),
]
DIFFERENT = [
    ("什么是反卷积?", "反卷积有哪些用途?"),
    ("什么是L1正则化?", "什么是L2正则化?"),
    ("池化在第3层有什么作用", "池化在第4层有什么作用"),
    ("BN和GN的区别", "BN和LN的区别"),
    ("什么是梯度消失?", "什么是梯度爆炸?"),
]


@pytest.mark.parametrize("a,b", SAME)
def test_same_question_merges(a, b):
    idx = KeyIndex([("r1", canonical_key(a))])
    assert idx.find(canonical_key(b)) == "r1"


@pytest.mark.parametrize("a,b", DIFFERENT)
def test_different_questions_stay_apart(a, b):
    idx = KeyIndex([("r1", canonical_key(a))])
    assert idx.find(canonical_key(b)) is None


def test_seed_duplicates_are_merged_with_both_sources(cli):
    from tests.support import SEEDS

    cli("ingest", SEEDS)
    rows = cli.jsonl("export")
    dropconnect = [r for r in rows if "DropConnect" in r["question"]]
    assert len(dropconnect) == 1
    assert len(dropconnect[0]["answers"]) == 2
    assert all(a["source"].endswith(("#3", "#8")) for a in dropconnect[0]["answers"])
