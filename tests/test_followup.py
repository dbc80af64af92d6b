"""Offline follow-up questions: about a concept the candidate missed, never words they did not write."""

from __future__ import annotations

import pytest

from bot.interview.followup import concepts, follow_up_question, is_clean_statement
from ingest.tokenize import Tokenizer


@pytest.fixture(scope="module")
def tok():
    return Tokenizer()


@pytest.mark.parametrize("point", ["[ ] TODO", "- [ ] TODO", "如下图所示", "表达式为：", "见图3", "参考资料",
                                   "x = y", "https://example.com/a", "待补充", "ok"])
def test_no_follow_up_on_a_point_that_is_not_a_statement(tok, point):
    assert not is_clean_statement(point)
    assert follow_up_question(point, question="BN有什么用？", answer="归一化。", lang="zh", tokenizer=tok) is None


@pytest.mark.parametrize("point, question, answer, lang, expected", [
    ("BN在测试阶段使用训练时统计的滑动平均均值和方差。", "BN有什么作用？", "BN对每个batch做归一化，加快收敛。", "zh",
     "那在测试（推理）阶段呢？滑动平均均值是怎么处理的？"),
    ("Dropout相当于对多个子网络做集成平均，可以减轻过拟合。", "Dropout为什么能防止过拟合？", "训练时随机丢弃神经元。", "zh",
     "那子网络呢？它在这里起什么作用？"),
    ("Batch normalization uses running averages of mean and variance at test time.", "What is BN?",
     "It normalizes each batch.", "en", "And at test (inference) time? How is Batch normalization handled then?"),
])
def test_follow_up_names_a_missed_concept(tok, point, question, answer, lang, expected):
    assert follow_up_question(point, question=question, answer=answer, lang=lang, tokenizer=tok) == expected


def test_follow_up_never_quotes_the_reference(tok):
    point = "全连接层参数量大，卷积层通过权值共享减少参数。"
    q = follow_up_question(point, question="CNN和全连接网络的区别？", answer="卷积层局部连接。", lang="zh", tokenizer=tok)
    assert q and "「" not in q and point not in q and "你提到" not in q


def test_a_contradiction_quotes_only_the_candidates_own_words(tok):
    said = "ReLU会导致梯度消失"
    q = follow_up_question("ReLU缓解了梯度消失问题。", question="ReLU的优点？", answer=said + "。", lang="zh",
                           tokenizer=tok, said=said)
    assert q == "你说「ReLU会导致梯度消失」——真的是这样吗？再想想梯度消失是怎么回事。"


def test_concepts_skip_what_the_answer_already_says(tok):
    got = concepts("Dropout相当于对多个子网络做集成平均，可以减轻过拟合。", "训练时随机丢弃神经元，相当于训练很多子网络。",
                   "Dropout为什么能防止过拟合？", tok)
    assert "子网络" not in got
