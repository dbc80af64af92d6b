"""The interview state machine, fast: the seed corpus in a ``hash``-embedder store, the deterministic
``overlap`` grader from the same factory as the real one, real SQLite history.

Scores here come from the overlap grader, so each test asks it what the grade is rather than hard-coding a
number; what is tested is what the engine does with a grade (caps, follow-ups, turns, history, summary).
The same flows with the real e5 model and grader are in ``test_interview.py`` (slow).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.grading import make_grader
from bot.interview import HINT_CAPS, History, Interview, InterviewConfig, InterviewEngine, usable
from bot.interview.history import DB_NAME
from bot.texts import TEXT
from ingest.errors import InputError

OFF_TOPIC = "今天天气很好，我中午想去吃火锅，然后下午去公园散步。"


@pytest.fixture(scope="module")
def grader(hash_context):
    return make_grader(hash_context.embedder, hash_context.tokenizer, "overlap")


@pytest.fixture
def engine(hash_context, grader, history) -> InterviewEngine:
    return InterviewEngine(hash_context.store, grader, history)


@pytest.fixture(scope="module")
def partial(hash_context, grader):
    """(question id, an answer the grader finds partial and weak: one key point, two or more missed)."""
    for r in InterviewEngine(hash_context.store, grader).pool("open"):
        if len(r.key_points) >= 3:
            g = _grade(grader, r, r.key_points[0])
            if 0 < g.score <= 2 and len(g.key_points_missed) >= 2 and not g.flags:
                return r.id, r.key_points[0]
    pytest.fail("no seed question where one key point is a weak partial answer")


def _open_ids(engine: InterviewEngine, n: int, *, skip: int = 0, min_points: int = 2) -> list[str]:
    ids = [r.id for r in engine.pool("open") if len(r.key_points) >= min_points]
    assert len(ids) >= skip + n, "the seed corpus has enough open questions with key points"
    return ids[skip:skip + n]


def _grade(grader, rec, answer: str, **kw):
    return grader.grade(rec.question, answer, [a.text for a in rec.answers], kind=rec.kind, correct=rec.correct,
                        reference_ids=[rec.id], key_points=rec.key_points or None, **kw)


def _sessions(tmp_path: Path) -> list[sqlite3.Row]:
    db = sqlite3.connect(tmp_path / DB_NAME)
    db.row_factory = sqlite3.Row
    try:
        return db.execute("SELECT id, started_at, ended_at FROM sessions").fetchall()
    finally:
        db.close()


def _kinds(iv: Interview) -> list[str]:
    return [m.kind for m in iv.messages]


def test_start_asks_the_first_question_and_opens_a_session(engine, tmp_path):
    ids = _open_ids(engine, 2)
    iv = engine.start(InterviewConfig(user="  小明 ", question_ids=ids, n_questions=2))
    assert iv.config.user == "小明" and [q.id for q in iv.questions] == ids
    assert _kinds(iv) == ["info", "question"] and iv.phase == "question" and iv.index == 0
    assert iv.messages[0].text == TEXT["zh"]["welcome"].format(user="小明", n=2, mode=TEXT["zh"]["mode_random"])
    assert iv.current.question in iv.messages[-1].text
    assert all(iv.sources[q] for q in ids)
    assert [s["id"] for s in _sessions(tmp_path)] == [iv.id] and _sessions(tmp_path)[0]["ended_at"] is None


def test_partial_answer_gets_one_follow_up_on_the_first_missed_point(engine, grader, history, partial):
    qid, answer = partial
    iv = engine.start(InterviewConfig(user="fu", question_ids=[qid, *_open_ids(engine, 1, skip=5)], n_questions=2))
    rec = iv.current
    want = _grade(grader, rec, answer)
    iv = engine.submit(iv, answer)
    main = iv.turns[-1]
    assert (main.score, main.level, main.follow_up) == (want.score, want.level, False)
    assert main.key_points_missed == want.key_points_missed
    first_missed = next(p for p in rec.key_points if p in want.key_points_missed)
    assert len(want.key_points_missed) >= 2
    assert iv.phase == "follow_up" and iv.follow_up_point == first_missed and iv.current.id == rec.id
    assert _kinds(iv)[-3:] == ["answer", "grade", "follow_up"]
    assert iv.messages[-1].text == iv.follow_up_question
    assert not any(m.kind == "reference" for m in iv.messages)  # not revealed before the follow-up is answered

    iv = engine.submit(iv, first_missed)
    fu = iv.turns[-1]
    assert fu.follow_up and fu.question_id == rec.id and fu.reference == first_missed
    assert fu.question == iv.messages[_kinds(iv).index("follow_up")].text
    assert _kinds(iv)[-3:] == ["grade", "reference", "question"] and iv.index == 1 and iv.phase == "question"
    assert [(a.id, a.follow_up) for a in history.answers("fu")] == [(main.id, False), (fu.id, True)]


def test_a_good_or_flagged_answer_moves_on_without_a_follow_up(engine, grader):
    ids = _open_ids(engine, 2)
    iv = engine.start(InterviewConfig(user="good", question_ids=ids, n_questions=2))
    rec = iv.current
    full = "\n".join(rec.key_points)
    assert _grade(grader, rec, full).score == 5
    iv = engine.submit(iv, full)
    assert iv.turns[-1].score == 5 and iv.index == 1 and _kinds(iv)[-3:] == ["grade", "reference", "question"]
    rec2 = iv.current
    flagged = _grade(grader, rec2, rec2.question)  # the question copied back: a guard flag, nothing to build on
    assert "copy" in flagged.flags and flagged.key_points_missed
    iv = engine.submit(iv, rec2.question)
    assert iv.turns[-1].score == 0 and iv.done and _kinds(iv)[-2:] == ["reference", "summary"]


def test_hints_reveal_key_points_in_order_and_cap_the_score(engine, grader):
    ids = _open_ids(engine, 2, min_points=3)
    iv = engine.start(InterviewConfig(user="hint", question_ids=ids, n_questions=2))
    rec = iv.current
    iv = engine.hint(iv)
    assert iv.hints == [rec.key_points[0]] and iv.messages[-1].kind == "hint"
    assert iv.messages[-1].text == TEXT["zh"]["hint_text"].format(point=rec.key_points[0])
    assert iv.messages[-1].title == TEXT["zh"]["hint_title"].format(cap="3")
    iv = engine.hint(iv)
    assert iv.hints == rec.key_points[:2] and iv.messages[-1].title == TEXT["zh"]["hint_title"].format(cap="2")
    third = engine.hint(iv)
    assert third.hints == iv.hints and third.messages[-1].text == TEXT["zh"]["no_hint"]
    full = "\n".join(rec.key_points)
    iv = engine.submit(third, full)
    main = iv.turns[0]
    assert main.hint_used and (main.score, main.level) == (HINT_CAPS[1], int(HINT_CAPS[1]))
    # The next question starts with no hints; one hint caps at the first cap.
    assert iv.index == 1 and iv.hints == []
    iv = engine.submit(engine.hint(iv), "\n".join(iv.current.key_points))
    assert iv.turns[-1].hint_used and iv.turns[-1].score == HINT_CAPS[0]


def test_no_hint_during_a_follow_up_and_mcq_hints_rule_out_a_wrong_option(engine, partial):
    qid, answer = partial
    iv = engine.submit(engine.start(InterviewConfig(user="h2", question_ids=[qid], n_questions=1)), answer)
    assert iv.phase == "follow_up"
    after = engine.hint(iv)
    assert after.messages[-1].text == TEXT["zh"]["no_hint_fu"] and after.hints == []

    mcq = next(r for r in engine.pool("choice") if len(r.options) - len(r.correct) >= 2)
    iv = engine.hint(engine.start(InterviewConfig(user="h2", question_ids=[mcq.id], n_questions=1)))
    wrong = [k for k in mcq.options if k not in mcq.correct]
    assert iv.hints == [wrong[0]] and iv.messages[-1].text == TEXT["zh"]["hint_choice"].format(letter=wrong[0])
    # The grader scores a choice by its key alone; the engine applies the hint's cap.
    iv = engine.submit(iv, list(mcq.correct))
    assert iv.turns[-1].hint_used and (iv.turns[-1].score, iv.turns[-1].level) == (HINT_CAPS[0], int(HINT_CAPS[0]))


def test_multiple_choice_is_graded_on_the_letter_set(engine):
    mcqs = [r for r in engine.pool("choice")][:2]
    iv = engine.start(InterviewConfig(user="mcq", question_ids=[r.id for r in mcqs], n_questions=2))
    rec = iv.current
    assert iv.messages[-1].options == rec.options and iv.messages[-1].record_id == rec.id
    nothing = engine.submit(iv, [])
    assert not nothing.turns and nothing.messages[-1].text == TEXT["zh"]["choose"]
    iv = engine.submit(iv, list(reversed(rec.correct.lower())))  # order and case do not matter
    assert iv.turns[-1].answer == rec.correct and iv.turns[-1].score == 5 and iv.phase == "question"
    card = next(m.card for m in reversed(iv.messages) if m.kind == "grade")
    assert (card.chosen, card.correct, card.options, card.score) == (rec.correct, rec.correct, rec.options, 5)
    rec2 = iv.current
    wrong = next(k for k in rec2.options if k not in rec2.correct)
    iv = engine.submit(iv, [wrong])
    assert iv.turns[-1].score == 0 and iv.done  # no follow-ups on multiple choice
    card = next(m.card for m in reversed(iv.messages) if m.kind == "grade")
    assert (card.chosen, card.correct, card.score) == (wrong, rec2.correct, 0)


def test_skip_button_and_typed_dont_know(engine, history, partial):
    qid, answer = partial
    other = _open_ids(engine, 1, skip=6)[0]
    iv = engine.start(InterviewConfig(user="skip", question_ids=[other, qid], n_questions=2))
    rec = iv.current
    iv = engine.skip(iv)
    t = iv.turns[-1]
    assert (t.skipped, t.score, t.level, t.question_id, t.answer) == (True, 0, 0, rec.id, "")
    assert t.key_points_missed == rec.key_points and t.feedback == TEXT["zh"]["skip_text"]
    assert _kinds(iv)[-3:] == ["grade", "reference", "question"] and iv.index == 1
    # On a follow-up, typing "不知道" skips the follow-up: a follow-up turn on the probed point.
    iv = engine.submit(iv, answer)
    point = iv.follow_up_point
    iv = engine.submit(iv, "不知道")
    t = iv.turns[-1]
    assert t.skipped and t.follow_up and t.answer == "不知道" and t.reference == point and t.key_points_missed == [point]
    assert iv.done
    assert [(a.skipped, a.follow_up) for a in history.answers("skip")] == [(True, False), (False, False), (True, True)]


def test_empty_answer_changes_nothing_but_says_so(engine):
    iv = engine.start(InterviewConfig(user="empty", question_ids=_open_ids(engine, 1), n_questions=1))
    after = engine.submit(iv, "   ")
    assert after.messages[:-1] == iv.messages and after.messages[-1].text == TEXT["zh"]["empty"]
    assert after.turns == [] and after.index == 0


def test_end_early_summarises_closes_the_session_and_refuses_more_steps(engine, grader, history, tmp_path):
    ids = _open_ids(engine, 3)
    iv = engine.start(InterviewConfig(user="end", question_ids=ids, n_questions=3))
    iv = engine.submit(iv, OFF_TOPIC)
    iv = engine.end(iv)
    assert iv.done and iv.current is None and iv.messages[-1].kind == "summary"
    assert _sessions(tmp_path)[0]["ended_at"] is not None
    assert engine.end(iv) == iv  # ending twice changes nothing
    for step in (engine.skip, engine.hint, lambda s: engine.submit(s, "more")):
        over = step(iv)
        assert over.messages[-1].text == TEXT["zh"]["over"] and over.turns == iv.turns
    assert len(history.answers("end")) == 1


def test_end_before_any_answer_says_nothing_was_answered(engine):
    iv = engine.end(engine.start(InterviewConfig(user="none", question_ids=_open_ids(engine, 1), n_questions=1)))
    assert iv.messages[-1].text == TEXT["zh"]["nothing"] and engine.summary(iv).answered == 0


def test_summary_averages_main_answers_per_topic_and_lists_the_weakest(engine, partial):
    qid, answer = partial
    ids = [qid, *_open_ids(engine, 2, skip=7)]
    iv = engine.start(InterviewConfig(user="sum", question_ids=ids, n_questions=3))
    iv = engine.submit(iv, answer)
    iv = engine.submit(iv, iv.follow_up_point)  # a follow-up turn: not counted in the average
    iv = engine.submit(iv, "\n".join(iv.current.key_points))
    if iv.phase == "follow_up":
        iv = engine.skip(iv)
    iv = engine.skip(iv)
    assert iv.done
    mains = [t for t in iv.turns if not t.follow_up]
    s = engine.summary(iv)
    assert (s.answered, s.total, s.follow_ups) == (3, 3, sum(t.follow_up for t in iv.turns))
    assert s.average == round(sum(t.score for t in mains) / 3, 2)
    for p in s.per_topic:
        scores = [t.score for t in mains if p.topic in (t.topics or ["other"])]
        assert (p.answers, p.average) == (len(scores), round(sum(scores) / len(scores), 2))
    assert [p.average for p in s.per_topic] == sorted(p.average for p in s.per_topic)
    assert [t.id for t in s.weakest] == [t.id for t in sorted((t for t in mains if t.score <= 2),
                                                                key=lambda t: t.score)][:3]
    assert [t.question_id for t in s.weakest] == [ids[2], ids[0]] and s.weakest[0].skipped
    # The summary message names topics and documents as people read them, never a "path#position".
    from bot.texts import topic_name

    text = iv.messages[-1].text
    assert all(topic_name(p.topic, "zh") in text for p in s.per_topic)
    assert "#" not in text and "corpus/raw" not in text


def test_each_turn_is_saved_once_even_when_a_step_is_submitted_twice(engine, history):
    iv = engine.start(InterviewConfig(user="twice", question_ids=_open_ids(engine, 2), n_questions=2))
    a = engine.submit(iv, OFF_TOPIC)
    b = engine.submit(iv, OFF_TOPIC)  # Enter and a click on Submit race from the same state
    assert a.turns[-1].id == b.turns[-1].id and all(t.saved for t in a.turns)
    engine.journal.flush(a)
    assert [r.id for r in history.answers("twice")] == [a.turns[-1].id]
    assert history.answers("twice")[0].score == a.turns[-1].score


def test_a_failed_history_write_is_shown_and_retried_on_the_next_step(hash_context, grader, tmp_path):
    broken = History(tmp_path)
    engine = InterviewEngine(hash_context.store, grader, broken)
    iv = engine.start(InterviewConfig(user="hist", question_ids=_open_ids(engine, 2), n_questions=2))
    broken.close()  # the database goes away mid-interview
    iv = engine.skip(iv)
    assert iv.messages[-1].kind == "error" and "ProgrammingError" in iv.messages[-1].text
    assert iv.messages[-1].text.startswith(TEXT["zh"]["save_error"].split("（")[0]) and not iv.turns[0].saved
    assert iv.index == 1 and iv.messages[-2].kind == "question"  # the interview goes on
    # The state is plain data: a healthy engine continues it and saves the turn that was not saved.
    healthy = History(tmp_path)
    try:
        iv = InterviewEngine(hash_context.store, grader, healthy).skip(iv)
        assert all(t.saved for t in iv.turns)
        assert [a.id for a in healthy.answers("hist")] == [t.id for t in iv.turns]
    finally:
        healthy.close()


def test_grading_failure_keeps_the_answer_and_the_state(hash_context, history):
    # A grader that cannot be built (a misconfigured name) fails on the first answer, not at start.
    engine = InterviewEngine(hash_context.store, history=history,
                             grader_factory=lambda: make_grader(hash_context.embedder, hash_context.tokenizer, "nope"))
    iv = engine.start(InterviewConfig(user="err", question_ids=_open_ids(engine, 2), n_questions=2))
    before = iv.model_copy(deep=True)
    failed = engine.submit(iv, "我的回答是批归一化")
    assert iv == before  # the input state is untouched
    assert failed.pending_answer == "我的回答是批归一化" and failed.turns == [] and failed.index == 0
    assert failed.messages[-2].kind == "answer" and failed.messages[-1].kind == "error"
    assert "UnknownBackendError" in failed.messages[-1].text and "重试" in failed.messages[-1].text
    skipped = engine.skip(failed)  # the interview goes on, and the kept answer is cleared
    assert skipped.pending_answer is None and skipped.index == 1 and skipped.turns[-1].skipped
    assert len(history.answers("err")) == 1


def test_offline_stream_yields_only_the_final_state_submit_returns(engine, partial):
    qid, answer = partial
    iv = engine.start(InterviewConfig(user="stream", question_ids=[qid], n_questions=1))
    events = list(engine.submit_stream(iv, answer))
    assert [final for final, _ in events] == [True]
    plain = engine.submit(iv, answer)
    assert events[0][1].messages == plain.messages
    assert [t.model_dump(exclude={"created_at"}) for t in events[0][1].turns] == \
        [t.model_dump(exclude={"created_at"}) for t in plain.turns]


def test_state_survives_a_json_round_trip(engine, partial):
    qid, answer = partial
    iv = engine.submit(engine.start(InterviewConfig(user="json", question_ids=[qid], n_questions=1)), answer)
    assert Interview.model_validate_json(iv.model_dump_json()) == iv


def test_planning_modes(engine, history, grader):
    pool = engine.pool("open")
    assert pool and all(usable(r) and r.kind == "open" for r in pool)
    assert all(r.kind == "choice" for r in engine.pool("choice"))
    a = engine.plan(InterviewConfig(user="p", kinds="open", n_questions=5, seed=7))
    assert [r.id for r in a] == [r.id for r in engine.plan(InterviewConfig(user="p", kinds="open", n_questions=5,
                                                                                seed=7))]
    topics = sorted({t for r in pool for t in r.topics})[:2]
    by_topic = engine.plan(InterviewConfig(user="p", mode="topic", topics=topics, n_questions=4, seed=1))
    assert all(set(topics) & set(r.topics) for r in by_topic)
    assert {t for r in by_topic for t in r.topics} & set(topics) == set(topics)  # each topic gets a share
    # Review mode puts the badly answered question first.
    ids = _open_ids(engine, 2, skip=2)
    iv = engine.start(InterviewConfig(user="rev", question_ids=ids, n_questions=2))
    iv = engine.submit(iv, "\n".join(iv.current.key_points))
    iv = engine.skip(iv)
    assert iv.done
    review = engine.start(InterviewConfig(user="rev", mode="review", kinds="open", n_questions=5, seed=3))
    assert review.questions[0].id == ids[1]


@pytest.mark.parametrize("config, message", [
    (dict(user="   "), "用户名"),
    (dict(user="a", mode="topic"), "主题"),
    (dict(user="a", topics=["no-such-topic"]), "没有符合条件的题目"),
    (dict(user="a", question_ids=["no-such-id"]), "没有符合条件的题目"),
])
def test_setup_errors_say_how_to_fix(engine, config, message):
    with pytest.raises(InputError, match=message):
        engine.start(InterviewConfig(**config))


@pytest.fixture(scope="module")
def bilingual(tmp_path_factory):
    from bot.context import build_context
    from bot.settings import Settings
    from tests.support import Cli

    doc = tmp_path_factory.mktemp("bilingual") / "notes.md"
    doc.write_text(
        "## What is dropout?\n\nDropout randomly zeroes activations during training to reduce overfitting.\n\n"
        "## What does batch normalization do?\n\nIt normalises each mini-batch and then scales and shifts it.\n\n"
        "## Why use residual connections?\n\nThey let gradients flow through identity paths in deep networks.\n\n"
        "## 什么是过拟合？\n\n模型在训练集上表现好、在测试集上表现差。\n\n"
        "## Batch Normalization 和 Group Normalization 有何区别？\n\nBN 在 batch 维度上归一化，GN 在通道分组内归一化。\n\n"
        "## 为什么要用学习率衰减？\n\n后期减小步长，让参数在最优点附近稳定收敛。\n", encoding="utf-8")
    c = Cli(doc.parent / "store")
    assert c("ingest", doc).exit_code == 0
    return build_context(c.store, Settings(embedder="hash"))


@pytest.mark.parametrize("lang, n, expect", [("en", 3, ["en"] * 3), ("zh", 3, ["zh"] * 3),
                                             ("en", 5, ["en"] * 3 + ["zh"] * 2)])
def test_an_interview_asks_questions_in_its_own_language_first(bilingual, lang, n, expect):
    from bot.lang import language_of

    eng = InterviewEngine(bilingual.store, make_grader(bilingual.embedder, bilingual.tokenizer, "overlap"))
    iv = eng.start(InterviewConfig(user="lang", lang=lang, n_questions=n, kinds="open", seed=1))
    assert [language_of(q.question) for q in iv.questions] == expect


@pytest.mark.parametrize("score, wrong, asks", [(0.3, False, False), (0.3, True, True), (2.0, False, True)])
def test_a_follow_up_needs_something_right_or_something_to_correct(engine, score, wrong, asks):
    from bot.grading.schema import Grade, Wrong

    rec = next(r for r in engine.pool("open") if len(r.key_points) >= 3)
    iv = engine.start(InterviewConfig(user="追问", question_ids=[rec.id], n_questions=1))
    points = list(rec.key_points)
    g = Grade(score=score, level=int(score), feedback="", key_points_missed=points, missing=points,
              wrong=[Wrong(answer="它会让训练更慢", reference=points[0])] if wrong else [])
    picked = engine._steps._follow_up(iv, rec, g, score, "它会让训练更慢")
    assert (picked is not None) == asks, picked
