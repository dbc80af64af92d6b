"""The interview chat, fast: score cards from the grader's findings, the collapsed reference and its source,
follow-ups on a real gap, escaping that keeps formulas, reports that leave the pool, resuming by id.

Real parts: the seed corpus in a ``hash``-embedder store (copied per test where it is written), the
deterministic ``overlap`` grader, real SQLite history. The browser side is in test_e2e_interview.py.
"""

from __future__ import annotations

import re
import shutil

import pytest

from bot.context import build_context
from bot.grading import make_grader
from bot.grading.schema import Grade, Wrong
from bot.interview import History, InterviewConfig, InterviewEngine, SavedInterviews
from bot.interview.state import Source
from ingest.schema import Answer
from bot.settings import Settings
from bot.web.chat import DOLLAR, chat_messages, display_md, plain, source_line, with_math
from bot.web.handlers.interview import flag_choices
from bot.web.services import LiveInterviews


@pytest.fixture(scope="module")
def grader(hash_context):
    return make_grader(hash_context.embedder, hash_context.tokenizer, "overlap")


@pytest.fixture
def engine(hash_context, grader, tmp_path):
    h = History(tmp_path)
    yield InterviewEngine(hash_context.store, grader, h)
    h.close()


def _open(engine, n: int) -> list[str]:
    return [r.id for r in engine.pool("open") if len(r.key_points) >= 2][:n]


# --- escaping: text as written, formulas rendered, no markup -------------------------------
@pytest.mark.parametrize("text, must, must_not", [
    ("<script>alert(1)</script><img src=x onerror=y>", ["&lt;script&gt;", "&lt;img"], ["<script", "<img"]),
    ("花了$5和$6", [DOLLAR + "5和" + DOLLAR + "6"], ["$"]),
    ("cost $5 and $6 today", [DOLLAR + "5 and " + DOLLAR], ["$"]),
    ("**bold** [x](http://e) ![i](a.png)", [r"\*\*bold\*\*", r"\[x\]\(http://e\)"], ["<a", "<img"]),
])
def test_plain_text_is_inert_and_has_no_dollar(text, must, must_not):
    for out in (plain(text), with_math(text)):
        for m in must:
            assert m in out, out
        for m in must_not:
            assert m not in out.replace(DOLLAR, ""), out


def test_formulas_render_and_their_brackets_cannot_open_a_tag():
    out = with_math(r"loss $\frac{a<b}{2}$ and $$x^2$$ but 花了$5和$6")
    assert r"$\frac{a&lt;b}{2}$" in out and "$$x^2$$" in out
    assert out.count("$") == 6  # only the formulas' own dollars; the others are entities
    assert DOLLAR + "5和" + DOLLAR + "6" in out


@pytest.mark.parametrize("src, want", [
    (Source(title="面试题合集", path="dl/notes.md", section=["面试题合集", "CNN", "池化"]), "面试题合集 — dl/notes.md › CNN › 池化"),
    (Source(title="002_1d86", path="002_1d86.txt", section=[]), "002_1d86.txt"),  # title = file name: once
    (Source(title="", path="", section=["A", "B"]), "A › B"),
])
def test_a_source_line_names_a_document_once(src, want):
    assert source_line(src) == want


@pytest.mark.parametrize("answer, want", [
    (Answer(text="x", source="/srv/bank/notes/dl.md#3", rel_path="notes/dl.md", title="DL", section=["DL", "CNN"]),
     "DL — notes/dl.md › CNN"),
    (Answer(text="x", source="/srv/bank/004_9c30.txt#1"), "004_9c30.txt"),  # stored before rel_path: no server path
    (Answer(text="x", source="corpus/raw/a.txt#2", title="a"), "corpus/raw/a.txt"),
])
def test_an_answer_names_its_document_without_server_paths(answer, want):
    assert answer.where() == want


def test_quotes_and_apostrophes_show_as_written():
    # An entity (&#x27;) would get its "#" Markdown-escaped and show as "&#x27;" in the bubble.
    out = plain("What's \"BN\"? It's <b>粗</b>")
    assert "What's" in out and '"BN"' in out and "It's" in out
    assert "&#" not in out and "<b>" not in out and "&lt;b&gt;" in out


def test_display_markdown_keeps_formulas_and_code_but_no_images_links_or_html():
    md = ("如下图所示，![图](img/a.png) 见 [论文](https://arxiv.org/abs/1) <b onclick=x>粗</b>\n\n"
          "$$\\frac{QK^T}{\\sqrt{d_k}}$$\n\n```python\nif a < b: pass\n```")
    out = display_md(md)
    assert "![" not in out and "](" not in out and "如下图" not in out and "img/a.png" not in out
    assert "论文" in out and "<b" not in out and "&lt;b onclick" in out
    assert "$$\\frac{QK^T}{\\sqrt{d_k}}$$" in out and "if a < b: pass" in out  # code is left to Markdown


# --- score cards ----------------------------------------------------------------------------
def _card_of(iv):
    return next(m for m in reversed(iv.messages) if m.kind == "grade")


def test_a_full_answer_gets_a_green_card_with_nothing_missing(engine):
    iv = engine.start(InterviewConfig(user="卡片", question_ids=_open(engine, 2), n_questions=2))
    rec = iv.current
    iv = engine.submit(iv, "\n".join(rec.key_points))
    msg = _card_of(iv)
    assert msg.card.score == 5 and msg.card.missing == []
    bubbles = [b["content"] for b in chat_messages(iv)]
    card = next(b for b in bubbles if "score-card" in b)
    assert 'class="score-card card-hi"' in card and "→" not in card and "得分 5/5" in card
    # The reference is collapsed under the card, with its source for people; the next question is its own bubble.
    assert '<details class="reference">' in card
    assert source_line(iv.messages[-2].source) in card and "/tmp" not in card
    assert bubbles[-1].startswith("**第 2/2 题")


def test_a_partial_answer_lists_what_to_add_and_asks_about_a_concept(engine, hash_context, grader):
    for qid in _open(engine, 40):
        iv = engine.start(InterviewConfig(user="追问", question_ids=[qid], n_questions=1))
        rec = iv.current
        iv = engine.submit(iv, rec.key_points[0])
        if iv.phase == "follow_up":
            break
    else:
        pytest.fail("no seed question gets a follow-up on a one-point answer")
    card = _card_of(iv).card
    assert card.missing and card.score < 5
    rendered = chat_messages(iv)[-2]["content"]
    assert rendered.count("→ 还可以补充：") == len(card.missing) and ("card-lo" in rendered or "card-mid" in rendered)
    q = iv.follow_up_question
    assert q and "你提到了" not in q and "「" not in q and iv.follow_up_point not in q
    assert chat_messages(iv)[-1]["content"].startswith("**追问**")


def test_follow_up_prefers_a_contradiction_and_passes_over_unclean_points(engine):
    iv = engine.start(InterviewConfig(user="矛盾", question_ids=_open(engine, 1), n_questions=1))
    rec = iv.current
    steps = engine._steps
    said = "ReLU会导致梯度消失"
    g = Grade(score=1, level=1, feedback="x", wrong=[Wrong(answer=said, reference="ReLU缓解了梯度消失问题。")],
              missing=["[ ] TODO", rec.key_points[-1]])
    point, q = steps._follow_up(iv, rec, g, 1.0, said + "。")
    assert point == "ReLU缓解了梯度消失问题。" and "「ReLU会导致梯度消失」" in q
    only_junk = Grade(score=1, level=1, feedback="x", missing=["[ ] TODO", "如下图所示"], right=["x"])
    assert steps._follow_up(iv, rec, only_junk, 1.0, "随便说说") is None
    flagged = Grade(score=0, level=0, feedback="x", flags=["copy"], missing=[rec.key_points[-1]])
    assert steps._follow_up(iv, rec, flagged, 0.0, rec.question) is None


def test_a_wrong_statement_shows_what_is_true():
    from bot.interview import messages as M
    from bot.interview.state import Interview

    iv = Interview(id="x", config=InterviewConfig(user="u"), questions=[])
    g = Grade(score=1, level=1, feedback="x", right=["BN对每个batch归一化"],
              wrong=[Wrong(answer="测试时也用当前batch的均值", reference="测试时用训练时的滑动平均")], missing=["加快收敛"])
    iv.messages.append(M.grade(iv, "x", 1, 1, False, M.card(iv, g, 1, 1, follow_up=False)))
    text = chat_messages(iv)[0]["content"]
    assert "✓ 答对了：“BN对每个batch归一化”" in text
    assert "✗ 你说“测试时也用当前batch的均值”，但实际上：测试时用训练时的滑动平均" in text
    assert "→ 还可以补充：加快收敛" in text and "card-lo" in text


def test_multiple_choice_card_names_the_choice_the_key_and_the_options(engine):
    mcq = engine.pool("choice")[0]
    iv = engine.start(InterviewConfig(user="选择", question_ids=[mcq.id], n_questions=1))
    q_bubble = chat_messages(iv)[-1]["content"]
    assert all(re.sub(r"([\\`*_{}\[\]()#+\-.!|~=^<>])", r"\\\1", v)[:10] in q_bubble for v in mcq.options.values())
    wrong = next(k for k in mcq.options if k not in mcq.correct)
    iv = engine.submit(iv, [wrong])
    text = next(b["content"] for b in chat_messages(iv) if "score-card" in b["content"])
    assert f"你的选择：**{wrong}**" in text and "正确答案：" in text
    assert all(f"**{k}.**" in text for k in mcq.correct)


# --- reports, resuming, the summary's comparison ---------------------------------------------
def test_a_reported_question_is_passed_over_and_left_out_of_the_next_interview(tmp_path, grader, hash_context):
    store = tmp_path / "store"
    shutil.copytree(hash_context.store_dir, store)
    ctx = build_context(store, Settings(embedder="hash"))
    h = History(tmp_path)
    try:
        engine = InterviewEngine(ctx.store, grader, h)
        ids = _open(engine, 2)
        iv = engine.start(InterviewConfig(user="报告", question_ids=ids, n_questions=2))
        assert [c[1] for c in flag_choices(iv)] == [ids[0]]
        iv = engine.flag(iv, ids[0], "参考答案不完整")
        assert iv.index == 1 and not iv.turns and iv.messages[-2].text.startswith("已报告这道题")
        assert [c[1] for c in flag_choices(iv)] == [ids[1], ids[0]]
        assert ids[0] not in {r.id for r in engine.pool("open")}
        nxt = engine.start(InterviewConfig(user="报告", n_questions=30, kinds="open"))
        assert ids[0] not in {q.id for q in nxt.questions}
        assert engine.flag(iv, "not-in-this-interview") is iv
    finally:
        h.close()


def test_a_running_interview_resumes_only_for_its_own_user(engine):
    live = LiveInterviews(cap=2)
    iv = engine.start(InterviewConfig(user="小明", question_ids=_open(engine, 2), n_questions=2))
    live.put(iv)
    assert live.get(iv.id, " 小明 ") is iv and live.get(iv.id, "小红") is None and live.get("nope", "小明") is None
    live.put(engine.end(iv))
    assert live.get(iv.id, "小明") is None  # a finished interview is not resumed
    others = [engine.start(InterviewConfig(user="x", question_ids=_open(engine, 1), n_questions=1)) for _ in range(2)]
    for o in others:
        live.put(o)
    assert live.get(others[0].id, "x") is others[0] and live.get(iv.id, "小明") is None


def test_a_running_interview_survives_a_server_restart(engine, tmp_path):
    ids = _open(engine, 3)
    saved = SavedInterviews(tmp_path)
    live = LiveInterviews(saved)
    iv = engine.start(InterviewConfig(user="小明", question_ids=ids, n_questions=3))
    iv = engine.submit(iv, "\n".join(iv.current.key_points))
    live.put(iv)
    saved.close()
    # A new process: nothing in memory, the same store directory.
    after = LiveInterviews(SavedInterviews(tmp_path))
    back = after.get(iv.id, "小明")
    assert back is not None and back.model_dump() == iv.model_dump()
    assert after.get(iv.id, "小红") is None
    back = engine.submit(back, "\n".join(back.current.key_points))  # it goes on where it stopped
    assert back.index == iv.index + 1 or back.phase == "follow_up"
    after.put(engine.end(back))
    assert LiveInterviews(SavedInterviews(tmp_path)).get(iv.id, "小明") is None  # finished: forgotten


def test_a_saved_interview_of_an_older_shape_is_dropped_not_fatal(engine, tmp_path):
    saved = SavedInterviews(tmp_path)
    iv = engine.start(InterviewConfig(user="旧", question_ids=_open(engine, 1), n_questions=1))
    saved.save(iv)
    saved.db.execute("UPDATE live SET state=? WHERE id=?", ('{"id": "x", "unknown_field": 1}', iv.id))
    assert LiveInterviews(saved).get(iv.id, "旧") is None
    assert saved.db.execute("SELECT COUNT(*) FROM live").fetchone()[0] == 0


def test_summary_compares_each_topic_with_the_previous_interview(engine):
    ids = _open(engine, 2)
    first = engine.start(InterviewConfig(user="对比", question_ids=ids, n_questions=2))
    assert engine.previous_topics(first) == {}
    first = engine.skip(engine.skip(first))
    second = engine.start(InterviewConfig(user="对比", question_ids=ids, n_questions=2))
    rec = second.current
    second = engine.submit(second, "\n".join(rec.key_points))
    prev = engine.previous_topics(second)
    assert prev and set(prev) == {t for r in first.questions for t in (r.topics or ["other"])}
    assert all(v == 0 for v in prev.values())  # the first interview was skipped throughout


def test_exports_share_one_folder_and_old_ones_are_removed(tmp_path):
    import os
    import time

    from bot.web.services import Exports

    ex = Exports(keep_s=60)
    a, b = ex.new_dir(), ex.new_dir()
    assert a.parent == b.parent and a != b and a.is_dir()
    (a / "x.csv").write_text("x", encoding="utf-8")
    old = time.time() - 120
    os.utime(a, (old, old))
    c = ex.new_dir()
    assert not a.exists() and b.exists() and c.exists()
    root = c.parent
    ex.close()
    assert not root.exists()
