"""End to end in a real headless Chromium (Debian's /usr/bin/chromium) against `mianshi serve` in a subprocess.

The store is a copy of the session e5 store built from corpus/raw, so uploads here never leak into other tests.
Screenshots go to tests/artifacts/ (1366×768, the laptop screen the layout is made for).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support import ARTIFACTS, CHROMIUM, ROOT, stop

pytestmark = pytest.mark.slow

VIEWPORT = {"width": 1366, "height": 768}
XSS = "<script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\"> " + "今天天气很好，我中午想去吃火锅。"
OFF_TOPIC = "今天天气很好，我中午想去吃火锅，然后下午去公园散步。"
COLD_START_LIMIT_S = 8.0
UPLOAD_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>紫藤笔记</title>
<script>window.__xss_page=1</script></head><body><main><article>
<h1>紫藤网络面试题</h1>
<h2>1. 什么是紫藤残差门控网络？</h2>
<p>紫藤残差门控网络是一种在残差连接上加入可学习门控系数的结构，门控系数由通道注意力计算得到，用来控制残差分支的贡献。</p>
<h2>2. 紫藤残差门控网络为什么训练更稳定？</h2>
<p>因为门控系数初始化为零，网络一开始近似恒等映射，梯度可以直接流过残差连接，所以深层网络训练更稳定。</p>
</article></main></body></html>
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def seeded(e5_context):
    """A question whose partial answer gets a follow-up, and that partial answer (asked of the real grader)."""
    from bot.grading.grader import Grader
    from bot.interview import InterviewEngine
    from tests.support import partial_answers

    grader = Grader(e5_context.embedder, e5_context.tokenizer)
    engine = InterviewEngine(e5_context.store, grader)
    qid, answer = partial_answers(grader, engine.pool("open"), limit=1)[0]
    return e5_context.store.get_records([qid])[0], answer


@pytest.fixture(scope="module")
def server(e5_cli, seeded, tmp_path_factory):
    from bot.interview import AnswerRecord, History
    from bot.lookup.retrieval import reference_text

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing — run `make test` (installs chromium and fonts-noto-cjk)")
    store = tmp_path_factory.mktemp("app") / "store"
    shutil.copytree(e5_cli.store, store)
    # 甲 once answered the seeded question badly, so a review interview asks it first.
    rec, _ = seeded
    h = History(store)
    h.save_answer(AnswerRecord(id="seed-1", session_id="seed", user="甲同学", question_id=rec.id,
                               question=rec.question, topics=rec.topics, answer="不太清楚", score=1, level=1,
                               feedback="seed", reference=reference_text(rec), source=rec.answers[0].source))
    h.close()
    port = _free_port()
    env = {**os.environ, "MIANSHI_EMBEDDER": "e5", "MIANSHI_MAX_FILE_MB": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "HF_HUB_OFFLINE": "1"}
    log = (tmp_path_factory.mktemp("applog") / "serve.log").open("w")
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port), "--store", str(store)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    cold = None
    while time.monotonic() - t0 < 60:
        if proc.poll() is not None:
            pytest.fail(f"mianshi serve exited with {proc.returncode}: {Path(log.name).read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    cold = time.monotonic() - t0
                    break
        except OSError:
            time.sleep(0.1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "cold_start.txt").write_text(f"mianshi serve → first page: {cold:.2f} s\n" if cold else "timeout\n")
    try:
        assert cold is not None, "the app did not come up within 60 s"
        yield {"url": url, "store": store, "cold": cold}
    finally:
        stop(proc, log)


@pytest.fixture(scope="module")
def bank(server):
    """question text → record, to answer well or badly on purpose."""
    from ingest.store import Store

    st = Store(server["store"])
    recs = {r.question: r for r in st.iter_records()}
    st.close()
    return recs


# --- page helpers ------------------------------------------------------------------------
def _open(browser, url: str, user: str):
    ctx = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = ctx.new_page()
    page.goto(url)
    page.wait_for_selector("#start")
    page.locator("#user-name textarea, #user-name input").first.fill(user)
    return ctx, page


def _pick(page, elem: str, option: str) -> None:
    page.locator(f"#{elem} input").first.click()
    page.get_by_role("option", name=option, exact=True).click()


def _bubbles(page, sel: str = "#interview-chat") -> list[str]:
    # One element per message (Gradio groups consecutive messages of a role into one row).
    return page.locator(f"{sel} [data-testid=bot], {sel} [data-testid=user]").all_inner_texts()


def _wait_bubbles(page, n: int, sel: str = "#interview-chat", timeout: float = 90) -> list[str]:
    """Wait until the chat has at least n bubbles and the app is idle again."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        texts = _bubbles(page, sel)
        busy = page.locator(f"{sel} .pending, {sel} .generating").count()
        if len(texts) >= n and not busy:
            return texts
        page.wait_for_timeout(150)
    raise AssertionError(f"chat has {len(_bubbles(page, sel))} bubbles, expected {n}: {_bubbles(page, sel)[-3:]}")


def _wait_until(page, cond, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        page.wait_for_timeout(150)
    raise AssertionError("the page did not reach the expected state in time")


def _current_question(page, bank: dict):
    last_q = [t for t in _bubbles(page) if re.search(r"第 \d+/\d+ 题", t)][-1]
    text = last_q.split("\n", 1)[1] if "\n" in last_q else last_q
    # The question is the first line of the body; options below it may quote other bank questions
    # ("使用Batch Normalization层…" contains the question "Batch Normalization").
    first = text.split("\n", 1)[0]
    best = max((q for q in bank if q in first), key=len, default=None) or max((q for q in bank if q in text), key=len)
    return bank[best]


def _act(page, button: str, text: str | None = None) -> list[str]:
    before = len(_bubbles(page))
    if text is not None:
        page.locator("#answer textarea").fill(text)
    page.click(f"#{button}")
    return _wait_bubbles(page, before + (2 if text is not None else 1))


def _wait_text(page, sel: str, text: str, timeout_ms: int = 30000) -> None:
    page.wait_for_function("([s, t]) => (document.querySelector(s)?.innerText || '').includes(t)", arg=[sel, text],
                           timeout=timeout_ms)


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _history(server, user: str) -> list[sqlite3.Row]:
    db = sqlite3.connect(server["store"] / "history.sqlite")
    db.row_factory = sqlite3.Row
    rows = db.execute("SELECT a.* FROM answers a JOIN users u ON u.id = a.user_id WHERE u.name = ? "
                      "ORDER BY a.created_at", (user,)).fetchall()
    db.close()
    return rows


# --- the test ------------------------------------------------------------------------------
def test_whole_app_in_a_real_browser(server, browser, bank, seeded):
    assert server["cold"] <= COLD_START_LIMIT_S, f"cold start {server['cold']:.1f} s"
    ctx_a, a = _open(browser, server["url"], "甲同学")
    ctx_b, b = _open(browser, server["url"], "乙同学")
    try:
        _interview(server, a, b, bank, seeded)
        _multiple_choice(server, a, bank)
        _ask_and_library(server, a)
        _progress(a)
        _english(a)
    finally:
        ctx_a.close()
        ctx_b.close()


def _interview(server, a, b, bank, seeded):
    # Two people start at the same time; each gets their own interview. 甲 reviews: the weak question first.
    _pick(a, "mode", "复习（到期和薄弱优先）")
    for page, n in ((a, "3"), (b, "2")):
        _pick(page, "kinds", "开放题")
        page.locator("#count input[type=number]").fill(n)
        page.locator("#count input[type=number]").press("Enter")
    a.click("#start")
    b.click("#start")
    _wait_bubbles(a, 2)
    _wait_bubbles(b, 2)
    assert "甲同学" in _bubbles(a)[0] and "共 3 道题" in _bubbles(a)[0]
    assert "乙同学" in _bubbles(b)[0] and "共 2 道题" in _bubbles(b)[0]
    _shot(a, "01_interview_start")

    # Q1 (review mode: the seeded weak question), answered partly: graded, then exactly one follow-up.
    rec, partial = seeded
    assert _current_question(a, bank).id == rec.id
    texts = _act(a, "submit", partial)
    assert re.search(r"得分 [\d.]+/5", texts[-2]) and "追问" in texts[-1], texts[-2:]
    assert "参考答案" not in texts[-2]  # the reference waits until the follow-up is answered
    _shot(a, "02_follow_up")
    texts = _act(a, "submit", "我理解这一点是说它会影响训练的稳定性和收敛速度。")
    assert any(re.search(r"追问得分 [\d.]+/5", t) for t in texts[-2:])
    assert any("参考答案" in t for t in texts[-2:]) and "第 2/3 题" in texts[-1]
    assert "追问" not in texts[-1]  # one follow-up only

    # B answers meanwhile: well, with the reference answer.
    rec_b = _current_question(b, bank)
    tb = _act(b, "submit", rec_b.answers[0].text)
    assert re.search(r"得分 [\d.]+/5", "\n".join(tb[-2:]))

    # Q2, answered badly and with markup that must stay inert text.
    _act(a, "submit", XSS)
    texts = _wait_bubbles(a, 1)
    assert a.evaluate("window.__xss") is None
    assert a.get_by_text("<script>window.__xss=1</script>", exact=False).count() >= 1
    assert a.locator("#interview-chat img[src=x]").count() == 0
    graded = [t for t in texts if "得分" in t][-1]
    assert re.search(r"得分 [01](\.\d)?/5", graded), graded
    _shot(a, "03_bad_answer_xss_inert")
    if "追问" in texts[-1]:
        texts = _act(a, "skip")

    # Q3: skip → 0 and the reference; that was the last question, so the summary and chart follow.
    texts = _act(a, "skip")
    joined = "\n".join(texts[-3:])
    assert "已跳过 · 0/5" in joined and "参考答案" in joined and "面试结束" in texts[-1]
    assert "平均分" in texts[-1]
    a.locator("#summary-plot img, #summary-plot canvas, #summary-plot svg").first.wait_for(timeout=20000)
    _shot(a, "04_summary")

    # Isolation: neither chat shows the other person's interview.
    assert not any("乙同学" in t for t in _bubbles(a)) and not any("甲同学" in t for t in _bubbles(b))
    assert not any("__xss" in t for t in _bubbles(b))

    # Saved in history.sqlite, per user, once each.
    rows_a = [r for r in _history(server, "甲同学") if r["session_id"] != "seed"]
    mains = [r for r in rows_a if not r["follow_up"]]
    assert len(mains) == 3 and len(rows_a) >= 4  # three questions and the follow-up and len({r["id"] for r in rows_a}) == len(rows_a)
    assert any("__xss" in r["answer"] for r in rows_a) and mains[-1]["skipped"] == 1 and mains[-1]["score"] == 0
    assert all(r["feedback"] for r in rows_a)
    assert len([r for r in _history(server, "乙同学") if not r["follow_up"]]) == 1


def _multiple_choice(server, a, bank):
    _pick(a, "kinds", "选择题")
    a.locator("#count input[type=number]").fill("1")
    a.locator("#count input[type=number]").press("Enter")
    a.click("#start")
    # The old interview's bubbles stay until the start event returns: wait for the new chat itself.
    _wait_until(a, lambda: (b := _bubbles(a)) and "共 1 道题" in b[0] and len(b) == 2)
    rec = _current_question(a, bank)
    assert rec.kind == "choice" and a.locator("#choice").is_visible(), (rec.question, _bubbles(a)[-1][:300])
    assert not a.locator("#answer").is_visible()  # options are buttons, not a text box
    # The box says whether one letter or several are wanted.
    want = "选项（单选）" if len(rec.correct) == 1 else "选项（可多选）"
    assert want in a.locator("#choice").inner_text(), a.locator("#choice").inner_text()
    for letter in rec.correct:
        a.locator(f"#choice input[name={letter}]").check()
    _shot(a, "05_multiple_choice")
    before = len(_bubbles(a))
    a.click("#submit")
    texts = _wait_bubbles(a, before + 2)
    assert any("得分 5/5" in t for t in texts[-2:]), texts[-2:]
    assert any("正确答案" in t for t in texts[-2:])
    last = _history(server, "甲同学")[-1]
    assert last["kind"] == "choice" and last["score"] == 5


def _ask_and_library(server, a):
    a.click("#tab-ask-button") if a.locator("#tab-ask-button").count() else a.get_by_role("tab", name="查询").click()
    a.locator("#ask-box textarea").fill("BN层有什么用")
    a.click("#ask-btn")
    texts = _wait_bubbles(a, 2, "#ask-chat", timeout=60)
    # Sources name the document for people (title — path relative to what was ingested), no server path.
    assert "来源" in texts[-1] and re.search(r" — [^\n]*\d{3}_[0-9a-f]{16}\.txt", texts[-1]) and str(ROOT) not in texts[-1]
    a.locator("#ask-box textarea").fill("明天的股票行情会怎么样")
    a.click("#ask-btn")
    texts = _wait_bubbles(a, 4, "#ask-chat", timeout=60)
    assert "题库中没有找到" in texts[-1]
    _shot(a, "06_ask")

    # Library: upload a small page, its questions become searchable.
    a.get_by_role("tab", name="题库").click()
    page_file = Path(server["store"]).parent / "紫藤 笔记.html"
    page_file.write_text(UPLOAD_PAGE, encoding="utf-8")
    a.locator("#upload input[type=file]").set_input_files(str(page_file))
    a.locator("#upload").get_by_text("紫藤", exact=False).first.wait_for(timeout=20000)
    a.click("#import")
    log = a.locator("#import-log textarea")
    a.wait_for_function("() => document.querySelector('#import-log textarea').value.includes('导入完成')",
                        timeout=90000)
    assert "导入完成" in log.input_value()
    a.locator("#sources").get_by_text("uploads/", exact=False).first.wait_for(timeout=20000)
    assert a.evaluate("window.__xss_page") is None
    assert (server["store"] / "uploads").is_dir() and list((server["store"] / "uploads").glob("*.html"))
    _shot(a, "07_library")

    a.get_by_role("tab", name="查询").click()
    a.locator("#ask-box textarea").fill("紫藤残差门控网络是什么")
    a.click("#ask-btn")
    texts = _wait_bubbles(a, 6, "#ask-chat", timeout=60)
    assert "门控系数" in texts[-1] and "紫藤_笔记.html" in texts[-1] and "/tmp" not in texts[-1], texts[-1]


def _progress(a):
    a.get_by_role("tab", name="进度").click()
    a.locator("#trend-plot img, #trend-plot svg, #trend-plot canvas").first.wait_for(timeout=30000)
    a.locator("#weak").get_by_text("CPU", exact=False).count()  # the table renders
    assert a.evaluate("window.__xss") is None
    a.click("#export-csv")
    _wait_text(a, "#download", "mianshi_history")
    a.click("#export-anki")
    _wait_text(a, "#download", "mianshi_review")
    _shot(a, "08_progress")


def _english(a):
    a.get_by_text("English", exact=True).click()
    a.get_by_role("tab", name="Interview").wait_for(timeout=10000)
    a.get_by_role("tab", name="Interview").click()
    a.get_by_role("button", name="Start interview").wait_for(timeout=10000)
    _shot(a, "09_english")
