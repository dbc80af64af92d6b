"""The interview in a real headless Chromium against `mianshi serve`: score cards, natural feedback, a
follow-up that names a concept, rendered formulas, multiple choice, a reported question leaving the next
interview, and a reload that resumes. Desktop 1366×900 and phone 390×844; screenshots in tests/artifacts/.

The bank is small and known (tests/data/chat, e5 embedder) so every question the random order brings has a
planned answer; what the server should say is asked of the same grader in-process, never hard-coded.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support import ARTIFACTS, CHROMIUM, Cli, ROOT, stop

pytestmark = pytest.mark.slow

DESKTOP, PHONE = {"width": 1366, "height": 900}, {"width": 390, "height": 844}
BANK = ROOT / "tests" / "data" / "chat"
# A wrong-but-confident and a short complete answer for each open question of the bank, by a word of it.
WRONG = {"Dropout": "我很确定,Dropout在测试时也会随机丢弃神经元,它只是为了让训练更快,和子网络集成没有关系。",
         "LayerNorm": "我很确定,LayerNorm是在整个batch上对每个特征求均值和方差,所以它很依赖batch大小,不适合RNN。",
         "Self-Attention": "我很确定,除以根号dk是为了让点积的数值变得更大,这样softmax的梯度会更大。"}
SHORT = {"Dropout": "随机丢弃神经元,相当于训练很多子网络,测试时用全部神经元做集成平均,减轻过拟合。",
         "LayerNorm": "对单个样本的所有特征求均值方差做归一化,再用可学习的γ和β缩放平移,不依赖batch大小。",
         "Self-Attention": "softmax(QK^T/√d_k)V;点积方差随d_k增大,不缩放softmax会饱和、梯度很小。"}


def _key(question: str) -> str:
    return next(k for k in WRONG if k in question)


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    """The store, its open records by key word, and what the grader makes of each planned answer."""
    from bot.context import build_context
    from bot.grading import make_grader
    from bot.interview import InterviewConfig, InterviewEngine
    from bot.settings import Settings

    store = tmp_path_factory.mktemp("chatbank") / "store"
    res = Cli(store, embedder="e5")("ingest", BANK)
    assert res.exit_code == 0, res.stderr
    ctx = build_context(store, Settings(embedder="e5"))
    # The server's grader: the model grader with the bank as its contrast set (bot.web.services).
    engine = InterviewEngine(ctx.store, make_grader(ctx.embedder, ctx.tokenizer, "model", contrast=ctx.store))
    records = {_key(r.question): r for r in engine.pool("open")}
    predicted = {}
    for k, rec in records.items():
        for role, answer in (("good", rec.answers[0].text), ("wrong", WRONG[k]), ("short", SHORT[k])):
            iv = engine.submit(engine.start(InterviewConfig(user="plan", question_ids=[rec.id], n_questions=1)),
                               answer)
            predicted[k, role] = (answer, iv.turns[-1].score, iv.follow_up_question)
    assert any(predicted[k, "wrong"][2] for k in records), "no wrong answer gets a follow-up: nothing to test"
    mcq = engine.pool("choice")[0]
    ctx.store.close()
    return {"store": store, "records": records, "predicted": predicted, "mcq": mcq}


class _Server:
    """`mianshi serve` on a free loopback port, restartable (a restart must not end running interviews)."""

    def __init__(self, store: Path, log_dir: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.store, self.log_dir, self.proc, self.log, self.starts = store, log_dir, None, None, 0
        self.url = f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        env = {**os.environ, "MIANSHI_EMBEDDER": "e5", "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
        self.starts += 1
        self.log = (self.log_dir / f"serve{self.starts}.log").open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(self.port), "--store",
                                      str(self.store)], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        end = time.monotonic() + 60
        while time.monotonic() < end:
            assert self.proc.poll() is None, Path(self.log.name).read_text()[-2000:]
            try:
                with urllib.request.urlopen(self.url, timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        pytest.fail(f"the server did not come up in 60 s: {Path(self.log.name).read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, self.log)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="module")
def server(bank, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing — run `make test` (installs chromium and fonts-noto-cjk)")
    srv = _Server(bank["store"], tmp_path_factory.mktemp("chatlog"))
    try:
        srv.start()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        yield srv
    finally:
        srv.stop()


# --- page helpers ------------------------------------------------------------------------
def _bubbles(page) -> list[str]:
    return page.locator("#interview-chat [data-testid=bot], #interview-chat [data-testid=user]").all_inner_texts()


def _idle(page, cond, timeout: float = 60) -> list[str]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        texts = _bubbles(page)
        if cond(texts) and not page.locator("#interview-chat .pending, #interview-chat .generating").count():
            return texts
        page.wait_for_timeout(150)
    raise AssertionError(f"the chat did not reach the expected state: {_bubbles(page)[-3:]}")


def _start(page, kinds: str, n: int) -> list[str]:
    page.locator("#kinds input").first.click()
    page.get_by_role("option", name=kinds, exact=True).click()
    page.locator("#count input[type=number]").fill(str(n))
    page.locator("#count input[type=number]").press("Enter")
    page.click("#start")
    return _idle(page, lambda t: len(t) >= 2 and "共" in t[0] and re.search(r"第 1/\d+ 题", t[-1]))


def _current(texts: list[str]) -> str:
    return _key([t for t in texts if re.search(r"第 \d+/\d+ 题", t)][-1])


def _answer(page, text: str) -> list[str]:
    before = len(_bubbles(page))
    page.locator("#answer textarea").fill(text)
    page.click("#submit")
    return _idle(page, lambda t: len(t) >= before + 2)


def _score(card_text: str) -> float:
    return float(re.search(r"得分 ([\d.]+)/5", card_text).group(1))


def _last_card(page) -> str:
    return page.locator("#interview-chat .score-card").last.inner_text()


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _open(browser, url: str, viewport: dict):
    ctx = browser.new_context(viewport=viewport, locale="zh-CN")
    page = ctx.new_page()
    page.goto(url)
    page.wait_for_selector("#start")
    return ctx, page


# --- the test ------------------------------------------------------------------------------
def test_an_interview_worth_practising_with(server, browser, bank):
    pred = bank["predicted"]
    ctx, page = _open(browser, server.url, DESKTOP)
    try:
        # The first page: a one-line guide, nothing to answer yet.
        assert "开始面试" in page.locator("#guide").inner_text()
        assert page.locator("#submit").is_disabled() and page.locator("#answer textarea").is_disabled()
        page.locator("#user-name textarea, #user-name input").first.fill("丙同学")
        _shot(page, "chat_01_first_page")
        texts = _start(page, "开放题", 3)
        assert not page.locator("#submit").is_disabled()

        # Q1, a good answer: a green card in the candidate's words, nothing missing at full marks.
        k1 = _current(texts)
        answer, score, _ = pred[k1, "good"]
        texts = _answer(page, answer)
        card = _last_card(page)
        assert _score(card) == round(score, 1) or abs(_score(card) - score) < 0.06, (card, score)
        assert page.locator("#interview-chat .score-card").last.get_attribute("class").endswith("card-hi")
        assert "✓ 答对了" in card
        assert re.search(r"第 2/3 题", texts[-1])  # the next question is its own bubble

        # A server restart and a reload keep the name and resume the interview where it was, card included.
        n = len(texts)
        server.restart()
        page.reload()
        page.wait_for_selector("#start")
        texts = _idle(page, lambda t: len(t) >= n)
        assert page.locator("#user-name textarea, #user-name input").first.input_value() == "丙同学"
        assert "已恢复" in texts[-1] and any(re.search(r"第 2/3 题", t) for t in texts[-2:])
        assert not page.locator("#submit").is_disabled()

        # The chat's own trash button puts a running interview's conversation straight back.
        n = len(texts)
        page.locator("#interview-chat").get_by_role("button", name=re.compile(r"clear|清", re.I)).first.click()
        page.wait_for_timeout(500)
        # (the "resumed" note was a bubble of the page, not of the interview: one fewer)
        texts = _idle(page, lambda t: len(t) >= n - 1 and any(re.search(r"第 2/3 题", x) for x in t[-3:]))

        # Q2, wrong but confident: a red card that says what is true, then a follow-up on that concept.
        k2 = _current(texts)
        answer, score, follow = pred[k2, "wrong"]
        texts = _answer(page, answer)
        card = _last_card(page)
        assert abs(_score(card) - score) < 0.06 and "card-hi" not in page.locator(
            "#interview-chat .score-card").last.get_attribute("class")
        if follow:
            assert texts[-1].startswith("追问") and follow in texts[-1] and "你提到了" not in texts[-1]
            _shot(page, "chat_02_wrong_and_follow_up")
            before = len(texts)
            page.click("#skip")
            texts = _idle(page, lambda t: len(t) >= before + 1)
        # Q3, short but complete.
        k3 = _current(texts)
        answer, score, follow = pred[k3, "short"]
        texts = _answer(page, answer)
        assert abs(_score(_last_card(page)) - score) < 0.06
        if follow:
            before = len(texts)
            page.click("#skip")
            texts = _idle(page, lambda t: len(t) >= before + 1)
        assert texts[-1].startswith("面试结束")
        page.locator("#summary-plot img, #summary-plot svg, #summary-plot canvas").first.wait_for(timeout=20000)
        assert page.locator("#submit").is_disabled()

        # Formulas from the bank render with KaTeX; no raw $$ anywhere in the chat.
        chat = page.locator("#interview-chat")
        assert chat.locator(".katex").count() >= 2
        assert "$$" not in chat.evaluate("e => e.textContent")
        page.locator("#interview-chat details.reference summary").first.click()
        assert "attention_formulas.md" in chat.inner_text()
        assert "/tmp" not in chat.inner_text() and str(ROOT) not in chat.inner_text()
        _shot(page, "chat_03_summary_formulas")

        # Report a question: stored with its reason, passed over, left out of the next interview.
        texts = _start(page, "开放题", 3)
        reported = bank["records"][_current(texts)]
        page.click("#flag")
        page.locator("#flag-reason textarea").fill("参考答案不完整")
        _shot(page, "chat_04_report")
        before = len(texts)
        page.click("#flag-send")
        texts = _idle(page, lambda t: len(t) >= before + 1 and any("已报告" in x for x in t[-2:]))
        assert re.search(r"第 2/3 题", texts[-1])
        db = sqlite3.connect(bank["store"] / "records.sqlite")
        rows = db.execute("SELECT record_id, reason FROM flags").fetchall()
        db.close()
        assert (reported.id, "参考答案不完整") in [tuple(r) for r in rows]
        page.click("#end")
        texts = _start(page, "开放题", 3)
        assert "共 2 道题" in texts[0] and reported.question not in "\n".join(texts)
    finally:
        ctx.close()

    # On a phone: multiple choice as buttons with their text; a strict subset of the key scores 2.
    mcq = bank["mcq"]
    ctx, page = _open(browser, server.url, PHONE)
    try:
        page.locator("#user-name textarea, #user-name input").first.fill("丁同学")
        _start(page, "选择题", 1)
        assert page.locator("#choice").is_visible() and not page.locator("#answer").is_visible()
        # The setup panel is above the chat on a phone: starting scrolls the chat into view.
        page.wait_for_function("() => { const r = document.getElementById('interview-chat').getBoundingClientRect();"
                               " return r.top < window.innerHeight / 2 && r.bottom > 0; }", timeout=10000)
        for k, v in mcq.options.items():
            assert v[:8] in page.locator("#choice").inner_text()
        page.locator(f"#choice input[name={mcq.correct[0]}]").check()
        _shot(page, "chat_05_phone_choice")
        before = len(_bubbles(page))
        page.click("#submit")
        _idle(page, lambda t: len(t) >= before + 2)
        card = _last_card(page)
        assert _score(card) == 2 and f"你的选择：{mcq.correct[0]}" in card and "正确答案：" in card
        assert all(f"{k}." in card for k in mcq.correct)
        # The explanation is open under the card: a choice's reference is short and is the point.
        assert mcq.answers[0].text[:12] in page.locator("#interview-chat details.reference[open]").last.inner_text()
        _shot(page, "chat_06_phone_choice_card")
    finally:
        ctx.close()

    # Progress on a wide phone (412 px, where two 160 px columns still fit side by side): the two tables stack,
    # and no column header breaks inside a word.
    ctx, page = _open(browser, server.url, {"width": 412, "height": 915})
    try:
        page.locator("#user-name textarea, #user-name input").first.fill("丁同学")
        page.get_by_role("tab", name="进度").click()
        page.click("#refresh")
        page.wait_for_selector("#due th")
        due, weak = page.evaluate("() => ['due', 'weak'].map(id => { const r = document.getElementById(id)"
                                  ".getBoundingClientRect(); return [r.top, r.bottom]; })")
        assert due[1] <= weak[0], (due, weak)
        lines = page.evaluate("""() => [...document.querySelectorAll('#due th, #weak th')].map(th => {
            const tops = new Set(), walk = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
            for (let n = walk.nextNode(); n; n = walk.nextNode()) {
                if (!n.textContent.trim()) continue;
                const r = document.createRange(); r.selectNodeContents(n);
                for (const rect of r.getClientRects()) tops.add(Math.round(rect.top));
            }
            return [th.innerText.trim(), tops.size]; })""")
        assert lines and all(n == 1 for _, n in lines if _), lines
        _shot(page, "chat_07_phone_progress")
    finally:
        ctx.close()
