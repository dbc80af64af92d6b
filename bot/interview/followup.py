"""The offline follow-up question: one question about a concept the candidate missed or got wrong.

It never quotes the reference as if the candidate had said it: the only quoted text is the candidate's own
clause (for a contradicted statement). A point that is not a clean statement (a heading, a stub, a figure
reference, a formula alone) gets no follow-up; the reference answer is shown instead.
"""

from __future__ import annotations

import re

from bot.texts import TEXT

_JUNK = re.compile(r"TODO|待补充|待完善|TBD|如下图|下图|见图|图\s*\d|参考资料|参考文献|https?://|\[\s*\]|\]\(|!\[", re.I)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]*")
# Words too general to ask about on their own.
_GENERIC = frozenset("""可以 通过 进行 使用 利用 一个 一种 这个 那个 就是 因为 所以 能够 需要 我们 他们 其中 以及 或者 并且
而且 然后 如果 但是 可能 一些 这些 那些 非常 比较 更加 主要 问题 方法 方式 作用 效果 情况 时候 部分 过程 结果 不同 相同
同时 之间 之后 之前 每个 所有 得到 实现 表示 称为 叫做 包括 具有 存在 出现 提高 降低 增加 减少 很多 不会 没有 越来越
method methods way ways use used using result results problem problems process different same also very more less can
will would should could which that this these those there their when where what how why""".split())
_TRAILING = re.compile(r"(?:问题|现象|方法|方式|情况|作用)$")
_PHASE = re.compile(r"测试阶段|测试时|推理阶段|推理时|预测时|inference|test time|at test|during testing", re.I)


def is_clean_statement(point: str) -> bool:
    """A key point worth asking about: a whole statement, not a heading, stub, figure caption or formula."""
    p = point.strip()
    if not 6 <= len(p) <= 200 or _JUNK.search(p) or p.endswith((":", "：")):
        return False
    cjk, latin = len(_CJK.findall(p)), len(_LATIN_WORD.findall(p))
    return cjk >= 4 or latin >= 3


_NOUNISH = {"n", "nz", "vn", "ng", "nt", "nl", "eng", "x"}
_EN_STOP = frozenset("""a an the of to in on for and or with by it its is are was were be been as at from that this
than then into over under about uses use using used does do did has have had not no so such each per""".split())


def _phrases(point: str, tokenizer) -> list[str]:
    """Runs of noun-like words (滑动平均均值, 梯度消失, running averages) in the point's order."""
    out: list[str] = []
    run: list[tuple[str, str]] = []

    def close() -> None:
        while run and run[-1][1] == "a":  # an adjective only inside a run: "参数量大" is no term
            run.pop()
        if run:
            words = [w for w, _ in run]
            out.append((" " if words[0].isascii() else "").join(words).strip())
        run.clear()

    for word, flag in tokenizer.tagged(point):
        w = word.strip()
        if not w:
            continue  # spaces between English words do not end a phrase
        english = w.isascii() and w.isalpha()
        nounish = (flag in _NOUNISH or (flag == "a" and run)) and (
            (english and w.lower() not in _EN_STOP and len(w) >= 2) or (not english and _CJK.search(w) is not None))
        if nounish:
            run.append((w, flag))
        else:
            close()
    close()
    return out


def concepts(point: str, answer: str, question: str, tokenizer, limit: int = 2, *,
             shared_with: str | None = None) -> list[str]:
    """The point's specific terms: ones the answer does not mention (or, with ``shared_with``, the ones the
    candidate's own clause talks about), in the point's order, longest and Latin terms first."""
    said, asked = answer.lower(), question.lower()
    picked: list[str] = []
    for phrase in _phrases(point, tokenizer):
        phrase = _TRAILING.sub("", _PHASE.sub("", phrase)).strip()
        low = phrase.lower()
        if len(phrase) < 2 or low in _GENERIC or phrase in picked:
            continue
        if shared_with is not None:
            if low in shared_with.lower():
                picked.append(phrase)
            continue
        if low in said or low in asked:
            continue
        picked.append(phrase)
    # The longest terms are the specific ones (滑动平均均值 over 训练时); the question's own subject last.
    picked.sort(key=lambda w: (w.lower() in asked, -len(w)))
    return picked[:limit]


def follow_up_question(point: str, *, question: str, answer: str, lang: str, tokenizer,
                       said: str | None = None) -> str | None:
    """A question about ``point`` (a missed, or with ``said`` a contradicted, key point), or None.

    ``said`` is the candidate's own clause that contradicts the point: quoting it is fair, they wrote it.
    """
    if not is_clean_statement(point):
        return None
    t = TEXT[lang]
    if said:
        shared = concepts(point, answer, question, tokenizer, shared_with=said)
        return t["fu_wrong"].format(said=said.strip()[:60], concept=shared[0]) if shared else None
    terms = concepts(point, answer, question, tokenizer)
    if not terms:
        return None
    if _PHASE.search(point) and not _PHASE.search(answer):
        return t["fu_phase"].format(concept=terms[0])
    if len(terms) == 2:
        return t["fu_missed2"].format(a=terms[0], b=terms[1])
    return t["fu_missed"].format(concept=terms[0])
