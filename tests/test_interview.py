"""The interview state machine as plain Python: real e5 store from corpus/raw, the real Grader, real SQLite history."""

from __future__ import annotations

import csv
import sqlite3
import zipfile

import pytest

from bot.interview import HINT_CAPS, Interview, InterviewConfig, InterviewEngine, usable
from tests.support import partial_answers
from ingest.errors import InputError

pytestmark = pytest.mark.slow

OFF_TOPIC = "今天天气很好，我中午想去吃火锅，然后下午去公园散步。"


@pytest.fixture(scope="session")
def grader(e5_context):
    from bot.grading.grader import Grader

    return Grader(e5_context.embedder, e5_context.tokenizer)


@pytest.fixture
def engine(e5_context, grader, history) -> InterviewEngine:
    return InterviewEngine(e5_context.store, grader, history)


def _open_ids(engine: InterviewEngine, min_points: int = 3) -> list[str]:
    """Open questions with several key points."""
    return [r.id for r in engine.pool("open") if len(r.key_points) >= min_points]




def test_ask_answer_grade_follow_up_next_summary(engine, history, grader):
    qid, partial = partial_answers(grader, engine.pool("open"), limit=1)[0]
    ids = [qid] + [i for i in _open_ids(engine) if i != qid][:2]
    iv = engine.start(InterviewConfig(user="小明", question_ids=ids, n_questions=3))
    assert iv.phase == "question" and iv.current.id == ids[0]
    assert iv.messages[-1].kind == "question" and iv.current.question in iv.messages[-1].text
    # The reference is not shown before the answer.
    assert not any(m.kind == "reference" for m in iv.messages)

    # 1) a partial answer: one key point out of several → graded, then one follow-up on a missed point.
    rec = iv.current
    iv = engine.submit(iv, partial)
    main = iv.turns[-1]
    assert 0 <= main.score <= 5 and main.feedback and not main.follow_up
    assert iv.phase == "follow_up", f"expected a follow-up, got score {main.score}, missed {main.key_points_missed}"
    assert iv.follow_up_point in main.key_points_missed
    assert iv.messages[-1].kind == "follow_up" and "追问" in iv.messages[-1].title
    assert iv.current.id == rec.id  # still on the same question
    iv = engine.submit(iv, iv.follow_up_point)  # explain the missed point
    fu = iv.turns[-1]
    assert fu.follow_up and fu.question_id == rec.id and fu.reference in main.key_points_missed
    kinds = [m.kind for m in iv.messages]
    assert kinds[-3:] == ["grade", "reference", "question"]  # follow-up graded, reference revealed, next question
    assert iv.index == 1 and iv.phase == "question"

    # 2) a good answer: the reference itself.
    rec2 = iv.current
    iv = engine.submit(iv, rec2.answers[0].text)
    good = [t for t in iv.turns if t.question_id == rec2.id and not t.follow_up][0]
    assert good.score >= 4, good.feedback
    if iv.phase == "follow_up":  # a good answer may still miss a point; at most one follow-up per question
        iv = engine.skip(iv)
    assert iv.index == 2

    # 3) an off-topic answer: low score, no follow-up, reference shown, and the interview ends by itself.
    rec3 = iv.current
    iv = engine.submit(iv, OFF_TOPIC)
    bad = iv.turns[-1]
    assert bad.question_id == rec3.id and bad.score <= 1
    assert iv.done and iv.messages[-1].kind == "summary"
    assert iv.messages[-2].kind == "reference" and rec3.answers[0].text[:20] in iv.messages[-2].text

    s = engine.summary(iv)
    assert s.answered == 3 and s.total == 3 and s.follow_ups >= 1
    assert s.average == pytest.approx(sum(t.score for t in iv.turns if not t.follow_up) / 3, abs=0.01)
    assert s.per_topic and all(0 <= p.average <= 5 for p in s.per_topic)
    assert s.weakest[0].question_id == rec3.id and s.weakest[0].reference and s.weakest[0].source

    # Saved exactly once each, and a second flush or save changes nothing.
    saved = history.answers("小明")
    assert sorted(a.id for a in saved) == sorted(t.id for t in iv.turns)
    engine.journal.flush(iv)
    from bot.interview import AnswerRecord

    again = AnswerRecord(**{**saved[0].model_dump()})
    assert history.save_answer(again) is False
    assert len(history.answers("小明")) == len(iv.turns)

    # The state is plain data: it survives a JSON round trip (what a browser session keeps).
    assert Interview.model_validate_json(iv.model_dump_json()) == iv


def test_skip_and_dont_know(engine, history):
    ids = _open_ids(engine)[3:5]
    iv = engine.start(InterviewConfig(user="skipper", question_ids=ids, n_questions=2))
    first = iv.current
    iv = engine.skip(iv)
    t = iv.turns[-1]
    assert t.skipped and t.score == 0 and t.question_id == first.id
    assert [m.kind for m in iv.messages[-3:]] == ["grade", "reference", "question"]
    assert first.answers[0].text[:20] in iv.messages[-2].text
    # Typing "不知道" is the same as the button.
    iv = engine.submit(iv, "不知道")
    assert iv.turns[-1].skipped and iv.turns[-1].score == 0 and iv.done
    assert [a.score for a in history.answers("skipper")] == [0, 0]


def test_hint_reveals_a_key_point_and_caps_the_score(engine):
    ids = _open_ids(engine)[5:6]
    iv = engine.start(InterviewConfig(user="hinter", question_ids=ids, n_questions=1))
    rec = iv.current
    iv = engine.hint(iv)
    assert iv.messages[-1].kind == "hint" and rec.key_points[0] in iv.messages[-1].text
    iv = engine.hint(iv)
    assert rec.key_points[1] in iv.messages[-1].text
    before = len(iv.messages)
    iv = engine.hint(iv)  # no third hint
    assert len(iv.messages) == before + 1 and iv.messages[-1].kind == "info"
    iv = engine.submit(iv, rec.answers[0].text)  # a perfect answer, after two hints
    main = [t for t in iv.turns if not t.follow_up][0]
    assert main.hint_used and main.score <= HINT_CAPS[1]


def test_multiple_choice_graded_by_exact_letter_set(engine, e5_context):
    choices = engine.pool("choice")
    assert choices, "the seed corpus has multiple-choice questions"
    iv = engine.start(InterviewConfig(user="mcq", kinds="choice", n_questions=2, seed=3))
    assert all(q.kind == "choice" for q in iv.questions)
    rec = iv.current
    assert iv.messages[-1].kind == "question" and iv.messages[-1].options == rec.options
    iv = engine.submit(iv, [])  # nothing chosen: asked to choose, nothing graded
    assert not iv.turns and iv.messages[-1].kind == "info"
    iv = engine.submit(iv, list(reversed(rec.correct.lower())))  # order and case do not matter
    assert iv.turns[-1].score == 5 and iv.phase == "question"  # no follow-ups on MCQs
    rec2 = iv.current
    wrong = next(k for k in rec2.options if k not in rec2.correct)
    iv = engine.submit(iv, [wrong])
    assert iv.turns[-1].score == 0 and iv.done
    # A source is known even for an MCQ without an explanation.
    assert all(iv.sources[q.id] for q in iv.questions)


def test_review_mode_puts_a_badly_answered_question_first(engine, history):
    pool_ids = [r.id for r in engine.pool("open")]
    target = pool_ids[7]
    iv = engine.start(InterviewConfig(user="reviewer", question_ids=[pool_ids[6], target], n_questions=2))
    iv = engine.submit(iv, iv.current.answers[0].text)
    if iv.phase == "follow_up":
        iv = engine.skip(iv)
    iv = engine.submit(iv, OFF_TOPIC)
    assert iv.done and history.weakest("reviewer")[0].question_id == target
    for seed in (1, 2):
        review = engine.start(InterviewConfig(user="reviewer", mode="review", kinds="open", n_questions=5, seed=seed))
        assert review.questions[0].id == target
    # Someone else's history does not reorder my review.
    assert history.review_order("newcomer") == [] and history.weakest("newcomer") == []


def test_csv_and_anki_exports_are_valid(engine, history, tmp_path):
    ids = _open_ids(engine)[8:10]
    iv = engine.start(InterviewConfig(user="导出", question_ids=ids, n_questions=2))
    iv = engine.submit(iv, OFF_TOPIC)
    iv = engine.skip(iv)
    assert iv.done
    path = history.export_csv("导出", tmp_path / "h.csv")
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    assert len(rows) == 2 and {r["question_id"] for r in rows} == set(ids)
    assert all(float(r["score"]) <= 2 and r["reference"] for r in rows)
    apkg, n = history.export_apkg("导出", tmp_path / "deck.apkg")
    assert n == 2
    with zipfile.ZipFile(apkg) as z:
        z.extract("collection.anki2", tmp_path)
    db = sqlite3.connect(tmp_path / "collection.anki2")
    notes = db.execute("SELECT flds FROM notes").fetchall()
    assert len(notes) == 2 and all("\x1f" in f[0] for f in notes)
    assert db.execute("SELECT COUNT(*) FROM cards").fetchone()[0] == 2


def test_grading_failure_keeps_the_answer_and_the_interview_goes_on(e5_context, history):
    from bot.grading.grader import Grader

    # A real grader with broken parameters: the kind of error a bad model file gives.
    engine = InterviewEngine(e5_context.store, history=history,
                             grader_factory=lambda: Grader(e5_context.embedder, e5_context.tokenizer,
                                                           model_params={"not": "a model"}))
    iv = engine.start(InterviewConfig(user="err", kinds="open", n_questions=2, seed=5))
    iv2 = engine.submit(iv, "我的回答")
    assert iv2.pending_answer == "我的回答" and iv2.messages[-1].kind == "error"
    assert "重试" in iv2.messages[-1].text and iv2.index == 0 and not iv2.turns
    iv3 = engine.skip(iv2)  # the interview can go on
    assert iv3.index == 1 and iv3.turns[-1].skipped and len(history.answers("err")) == 1


def test_setup_errors_say_how_to_fix(engine):
    with pytest.raises(InputError, match="用户名"):
        engine.start(InterviewConfig(user="   "))
    with pytest.raises(InputError, match="主题"):
        engine.start(InterviewConfig(user="a", mode="topic"))
    iv = engine.start(InterviewConfig(user="a", mode="topic", topics=["CNN", "RNN"], n_questions=4, seed=1))
    assert all({"CNN", "RNN"} & set(q.topics) for q in iv.questions)
    assert all(usable(q) for q in iv.questions)
