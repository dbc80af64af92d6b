"""Swapped roles (``bot.grading.swaps``): an answer that attaches the reference's statements to the other term.

Real jieba tokenizer and glossary; no model is needed.
"""

from __future__ import annotations

import pytest

from bot.grading.align import NAMED as TERMS
from bot.grading.swaps import find_swaps, occurs, pivots, segment
from ingest.tokenize import Tokenizer

BN_GN = "BN 在 batch 维度上求均值方差做归一化，GN 把每个样本的通道分组，在组内求均值方差。"
LR = "学习率太低时，训练进展非常缓慢；学习率太高时，损失会震荡甚至发散。"
L1_L2 = ("L1 regularization adds the absolute values of the weights and produces sparse weights. "
         "L2 regularization adds the squared weights and shrinks them smoothly.")
FPN = "低层特征分辨率高、位置准确，但语义信息少；高层特征语义丰富，但位置粗糙。"
ACTS = "常见的激活函数有 sigmoid、tanh、ReLU。"
FEED = ("前馈网络的信号从输入到输出单向传播。它只考虑当前输入，记不住以前的输入。循环网络的信号可以回流，它结合当前"
        "输入和之前的输入来产生输出，能记住过去的数据。")


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer()


def swaps(tok, reference: str, answer: str) -> set[frozenset[str]]:
    return {frozenset((s.a, s.b)) for s in find_swaps(segment(answer, tok.tokens), segment(reference, tok.tokens), TERMS)}


@pytest.mark.parametrize("reference, answer, pair", [
    (BN_GN, "BN 在组内对通道求均值方差，GN 在 batch 维度上归一化。", {"batchnorm", "groupnorm"}),
    # a statement that continues in the next clause still belongs to its pivot; particles glued on by jieba
    (LR, "学习率太低会导致损失发散，太高则训练很慢。", {"太低", "太高"}),
    (L1_L2, "L1 adds the squared weights and shrinks them smoothly, while L2 adds absolute values and makes "
            "weights sparse.", {"l1", "l2"}),
    (FPN, "高层特征分辨率高、位置准确，低层特征语义丰富但位置粗糙。", {"低层", "高层"}),
])
def test_swapped_roles_are_found(tok, reference, answer, pair):
    assert frozenset(pair) in swaps(tok, reference, answer)


@pytest.mark.parametrize("reference, answer", [
    (BN_GN, "GN 把通道分成组，在每组内算均值方差；BN 则沿 batch 维度统计。"),  # the other order, same attachments
    (LR, "太高了 loss 会震荡发散，太低了就收敛得很慢。"),
    (L1_L2, "L2 penalises squared weights, shrinking them smoothly; L1 penalises absolute values, which makes "
            "weights sparse."),
    (FPN, "低层分辨率高、定位准但语义弱，高层语义强但定位粗。"),
    (ACTS, "比如 ReLU、sigmoid、tanh 都很常见。"),  # a list in another order states nothing of each term
    (BN_GN, "BN 在 batch 维度上归一化。"),  # one side only: nothing to swap
    (BN_GN, "GN 不在 batch 维度上求均值方差，BN 也不把通道分组。"),  # what each is not: a right answer
    (LR, "学习率太低时不会震荡发散，太高时也不会训练缓慢。"),
    # 输入/输出 in one clause of the reference are a relation, not two statements to swap
    (FEED, "前馈网络里信息只往一个方向走，从输入到输出，输出只由当前输入决定，什么都记不住。循环网络把状态反馈回来，"
           "输出既看当前输入也看之前的输入，能记住过去。"),
])
def test_right_answers_are_not_swaps(tok, reference, answer):
    assert not swaps(tok, reference, answer)


def test_pivots_are_named_methods_and_opposite_words_not_generic_terms(tok):
    answer = [tok.tokens("学习率太高会发散，梯度太小则训练慢，BN 能缓解。")]
    reference = [tok.tokens("学习率太低时训练慢，太高时发散；梯度和 BN 也有关系。")]
    found = pivots(answer, reference, TERMS)
    assert {"太高", "batchnorm"} <= set(found)
    assert "太低" not in found  # the answer never names it: nothing of it can be swapped
    assert "学习率" not in found and "梯度" not in found


@pytest.mark.parametrize("pivot, token, expected", [
    ("太高", "太高时", True),  # jieba glued a particle on
    ("l1", "l1正则化", True),  # the glossary made one term of "L1 regularization"
    ("l1", "l12", False),
    ("bn", "bnx", False),
])
def test_occurs(pivot, token, expected):
    assert occurs(pivot, token) is expected
