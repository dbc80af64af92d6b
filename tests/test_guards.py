"""The keyword-pile guard on its own (no model): a compact statement or an enumeration that answers the question
is not a pile; a bag of terms is, unless it lists what a list question asks for."""

from __future__ import annotations

import pytest

from bot.grading import guards
from ingest.tokenize import Tokenizer


@pytest.fixture(scope="module")
def tok():
    return Tokenizer()


@pytest.mark.parametrize("question, answer, share, pile", [
    # compact statements: a definition, a condition, a formula, an order, a choice
    ("batch size 对训练有什么影响?", "太小：噪声大、收敛慢；太大：泛化变差", 0.5, False),
    ("什么是梯度裁剪?", "‖g‖ > c 时按 c/‖g‖ 缩放梯度", 0.5, False),
    ("IoU怎么算?", "IoU = 交集面积 / 并集面积", 1.0, False),
    ("学习率怎么设置?", "先 warmup，再 cosine 衰减", 0.5, False),
    ("神经网络是生成模型还是判别模型?", "判别模型，建模 p(y|x)", 0.5, False),
    ("池化层有什么用?", "降维 和 增大感受野", 0.5, False),
    # enumerations that answer "how" or "which"
    ("如何防止过拟合?", "L2、Dropout、早停、数据增强", 0.75, False),
    ("常见的激活函数有哪些?", "sigmoid、tanh、ReLU", 0.6, False),
    # piles: no question asks for them, or they name too few of the key points
    ("如何防止过拟合?", "dropout 正则 泛化 ensemble 过拟合 概率", 0.75, True),
    ("什么是BN?", "BN 归一化 均值 方差 gamma beta 收敛", 1.0, True),
    ("常见的深度学习框架有哪些?", "NumPy、Pandas、Excel", 0.0, True),
    ("RNN有什么特点?", "时序 隐藏状态 权重共享 双向 LSTM GRU", 0.3, True),
])
def test_keyword_pile(tok, question, answer, share, pile):
    assert guards.is_keyword_pile(question, answer, tok.tokens(answer), share) is pile
