"""The Library, private history and the English UI in a real headless Chromium against `mianshi serve`.

Two servers on loopback, each on its own store built from corpus/raw (the ``hash`` embedder: these tests are
about the page, not retrieval quality): a personal one (a name box) and a shared one (`--auth FILE`).
Screenshots go to tests/artifacts/ at 1366×900 and at 390×844 (a phone).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support import ARTIFACTS, CHROMIUM, Cli, ROOT, SEEDS, stop

pytestmark = pytest.mark.slow

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
DOC = """# 紫藤网络面试题

## 1. 紫藤归一化的公式是什么？

紫藤归一化先减去均值再除以标准差：

$$\\hat{x}_i = \\frac{x_i - \\mu_B}{\\sqrt{\\sigma_B^2 + \\epsilon}}$$

其中 $\\epsilon$ 防止分母为零，<script>window.__xss_doc=1</script><img src=x onerror="window.__xss_doc=2">
见 ![示意图](fig/zt.png) 与 [原文](http://example.com/zt)。

## 2. 紫藤门控系数为什么初始化为零？
"""
MORE = "\n## 3. 紫藤门控和普通残差连接有什么区别？\n\n紫藤门控多了一个可学习的系数，残差连接没有。\n"
EDITED = "改过的答案：紫藤归一化就是 $z = (x - \\mu) / \\sigma$，训练时用批统计量。"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _serve(store: Path, log_dir: Path, *args: str):
    port = _free_port()
    env = {**os.environ, "MIANSHI_EMBEDDER": "hash", "MIANSHI_MAX_FILE_MB": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "HF_HUB_OFFLINE": "1"}
    with (log_dir / f"serve-{port}.log").open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port), "--store", str(store),
                                 *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        try:
            end = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"mianshi serve exited with {proc.returncode}: {Path(log.name).read_text()[-2000:]}")
                try:
                    with urllib.request.urlopen(url, timeout=2):
                        break
                except OSError:
                    if time.monotonic() > end:
                        pytest.fail("the app did not come up within 60 s")
                    time.sleep(0.2)
            yield url
        finally:
            stop(proc)


def _store(tmp: Path) -> Path:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing — run `make test` (installs chromium and fonts-noto-cjk)")
    c = Cli(tmp / "store")
    res = c("ingest", SEEDS)
    assert res.exit_code == 0, res.stderr
    return c.store


# --- page helpers ------------------------------------------------------------------------
def _shot(page, name: str, full: bool = False) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full)


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def _text(page, sel: str) -> str:
    return page.locator(sel).first.inner_text()


def _wait(page, cond, what: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        page.wait_for_timeout(150)
    raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")


def _upload(page, path: Path) -> None:
    page.locator("#upload input[type=file]").set_input_files(str(path))
    _wait(page, lambda: page.locator("#preview-box").is_visible() and "紫藤" in _text(page, "#preview"),
          "the import preview")


def _rows(page, sel: str) -> list[str]:
    # Gradio's table is virtual: one div per visible row.
    return page.locator(f"{sel} .virtual-row").all_inner_texts()


def _pick_record(page, words: str) -> None:
    page.locator("#rec-search input, #rec-search textarea").first.fill(words)
    _wait(page, lambda: (r := _rows(page, "#records")) and all(words in x for x in r),
          lambda: f"the filtered records: {_rows(page, '#records')[:3]}")
    page.locator("#records .virtual-row [role=gridcell]").first.click()
    _wait(page, lambda: words in _text(page, "#record-view"), "the record view")


def _labels(page) -> list[str]:
    """The text of every label, button, tab, table header and choice (not the language switch, not content)."""
    return page.evaluate("""() => {
        const out = [];
        for (const el of document.querySelectorAll(
                'label, button, [role=tab], th, [role=columnheader], [data-testid=block-info], .header-row .label')) {
            // The language switch names both languages; Gradio's own drop-zone prompt follows the browser's locale.
            if (el.closest('#lang') || el.closest('#upload button') || el.offsetParent === null) continue;
            out.push(el.innerText.trim());
        }
        for (const el of document.querySelectorAll('input[placeholder], textarea[placeholder]')) {
            if (el.offsetParent !== null) out.push(el.placeholder);
        }
        return out.filter(Boolean);
    }""")


# --- personal machine: preview, import, edit, delete, review, remove, English -------------------------------
def test_library_in_a_real_browser(browser, tmp_path):
    from ingest.editing import flag_record
    from ingest.store import Store

    store = _store(tmp_path)
    st = Store(store)
    flagged = next(r for r in st.iter_records() if r.kind == "open" and r.answers)
    flag_record(st, flagged.id, "参考答案不完整", "甲同学")
    st.close()
    doc = tmp_path / "紫藤 公式.md"
    doc.write_text(DOC, encoding="utf-8")

    with _serve(store, tmp_path) as url:
        ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = ctx.new_page()
        page.goto(url)
        _tab(page, "题库")
        page.wait_for_selector("#upload")

        # Upload → a preview of what was parsed (nothing stored yet) → 导入.
        _upload(page, doc)
        prev = _text(page, "#preview")
        assert "紫藤归一化的公式是什么" in prev and "紫藤门控系数为什么初始化为零" in prev
        assert "2 道题（1 道没有答案）" in _text(page, "#preview-note")
        assert not (store / "uploads").exists()  # a preview stores nothing
        _shot(page, "lib_01_preview")
        page.click("#import")
        _wait(page, lambda: "导入完成" in page.locator("#import-log textarea").input_value(), "the import", 90)
        log = page.locator("#import-log textarea").input_value()
        assert str(tmp_path) not in log and "/" not in log.replace("uploads/", ""), log  # no server paths
        _wait(page, lambda: not page.locator("#preview-box").is_visible(), "the preview to close")
        assert page.locator("#upload").get_by_text("紫藤", exact=False).count() == 0  # the upload box cleared
        assert "uploads/" in _text(page, "#sources")

        # The record renders its formulas with KaTeX; its HTML stays inert text and its image is just a note.
        _pick_record(page, "紫藤归一化")
        view = page.locator("#record-view")
        assert view.locator(".katex").count() >= 2, view.inner_html()[:500]
        shown = view.inner_text()
        assert "$$" not in shown and "![" not in shown and "](" not in shown
        assert "<script>" in shown and page.evaluate("window.__xss_doc") is None
        assert view.locator("img[src=x], script").count() == 0
        view.scroll_into_view_if_needed()
        _shot(page, "lib_02_record_katex")

        # Edit in place; then the file comes again, changed: the edit stays and the new question arrives.
        page.locator("#edit-answer textarea").fill(EDITED)
        page.click("#save-edit")
        _wait(page, lambda: "已保存" in _text(page, "#record-msg"), "the saved message")
        assert "改过的答案" in _text(page, "#record-view") and page.locator("#record-view .katex").count() >= 1
        doc.write_text(DOC + MORE, encoding="utf-8")
        _upload(page, doc)
        assert "紫藤门控和普通残差连接有什么区别" in _text(page, "#preview")
        page.click("#import")
        _wait(page, lambda: "导入完成" in page.locator("#import-log textarea").input_value(), "the re-import", 90)
        _pick_record(page, "紫藤归一化")
        assert "改过的答案" in _text(page, "#record-view")
        st = Store(store)
        recs = {r.question: r for r in st.iter_records()}
        edit = st.edit_for(recs["紫藤归一化的公式是什么?"].id)
        st.close()
        assert recs["紫藤归一化的公式是什么?"].answers[0].text == EDITED and "紫藤门控和普通残差连接有什么区别?" in recs
        assert "紫藤归一化先减去均值" in edit.original_answer

        # The unanswered filter finds the empty question; delete it.
        page.locator("#rec-filter").get_by_text("没有答案", exact=True).click()
        _pick_record(page, "紫藤门控系数")
        assert "没有答案" in _text(page, "#record-view")
        page.click("#delete-record")  # asks first; cancelling keeps the record
        page.wait_for_selector("#confirm-delete", state="visible")
        assert "确定删除这道题吗" in _text(page, "#confirm-delete-row")
        page.click("#keep-record")
        page.wait_for_selector("#confirm-delete", state="hidden")
        assert any("紫藤门控系数" in r for r in _rows(page, "#records"))
        page.click("#delete-record")
        page.click("#confirm-delete")
        _wait(page, lambda: "已删除" in _text(page, "#record-msg"), "the deletion")
        assert not any("紫藤门控系数" in r for r in _rows(page, "#records"))

        # The reported record: its report is shown, and once reviewed it leaves the filter.
        page.locator("#rec-filter").get_by_text("被报告有问题", exact=True).click()
        page.locator("#rec-search input, #rec-search textarea").first.fill("")
        _wait(page, lambda: len(_rows(page, "#records")) == 1, "the one flagged record")
        page.locator("#records .virtual-row [role=gridcell]").first.click()
        _wait(page, lambda: page.locator("#flag-note").is_visible(), "the flag note")
        assert "参考答案不完整" in _text(page, "#flag-note")
        _shot(page, "lib_03_flagged")
        page.click("#unflag")
        _wait(page, lambda: "恢复" in _text(page, "#record-msg") or "重新出现" in _text(page, "#record-msg"),
              "the review")
        _wait(page, lambda: not any(flagged.question in r for r in _rows(page, "#records")), "the filter to empty")

        # Removing a source asks first; 取消 keeps it.
        page.locator("#remove-pick input").first.click()
        page.get_by_role("option", name="uploads/紫藤_公式.md").click()
        page.click("#remove")
        _wait(page, lambda: page.locator("#confirm-row").is_visible(), "the confirmation")
        assert "确定删除来源" in _text(page, "#confirm-text")
        _shot(page, "lib_04_confirm_remove")
        page.click("#keep")
        _wait(page, lambda: not page.locator("#confirm-row").is_visible(), "the confirmation to close")
        assert "uploads/" in _text(page, "#sources")
        page.locator("#remove-pick input").first.click()
        page.get_by_role("option", name="uploads/紫藤_公式.md").click()
        page.click("#remove")
        page.click("#confirm-remove")
        _wait(page, lambda: "uploads/" not in _text(page, "#sources"), "the source to go")
        _shot(page, "lib_05_desktop", full=True)

        # English: every label, header and choice switches; no Chinese is left outside content.
        page.get_by_text("English", exact=True).click()
        _wait(page, lambda: page.get_by_role("tab", name="Library").count() > 0, "the English tabs")
        _wait(page, lambda: "Source" in _text(page, "#sources"), "English table headers")
        page.get_by_role("radio", name="All").click()
        for tab in ("Library", "Progress", "Interview"):
            _tab(page, tab)
            page.wait_for_timeout(600)
            left = [t for t in _labels(page) if CJK.search(t)]
            assert not left, f"{tab}: Chinese left in labels: {left}"
            _shot(page, f"lib_06_english_{tab.lower()}")
        ctx.close()

        # A phone: the Library still reads top to bottom.
        ctx = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
        page = ctx.new_page()
        page.goto(url)
        _tab(page, "题库")
        page.wait_for_selector("#records")
        _pick_record(page, "成本函数")  # the uploaded source is gone: a seed question
        _shot(page, "lib_07_phone", full=True)
        ctx.close()


# --- a shared server: logins, private history and exports, admin-only bank changes ---------------------------
def _login(browser, url: str, name: str, password: str):
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = ctx.new_page()
    page.goto(url)
    page.locator("input[type=text], input:not([type])").first.fill(name)
    page.locator("input[type=password]").first.fill(password)
    page.locator("button").filter(has_text=re.compile("Login|登录", re.I)).first.click()
    page.wait_for_selector("#tab-library-button, [role=tab]", timeout=30000)
    return ctx, page


def _seed_history(store: Path, user: str, qid: str, question: str, answer: str) -> None:
    from bot.interview import AnswerRecord, History

    h = History(store)
    h.save_answer(AnswerRecord(id=f"seed-{user}", session_id=f"s-{user}", user=user, question_id=qid,
                               question=question, topics=[], answer=answer, score=1, level=1, feedback="seed",
                               reference="ref", source="corpus/raw/x#1"))
    h.close()


def _export(page) -> str:
    _tab(page, "进度")
    page.click("#export-csv")
    link = page.locator("#download a[href]").first
    link.wait_for(timeout=30000)
    res = page.request.get(link.get_attribute("href"))
    assert res.ok
    return res.text()


def test_two_logged_in_users_keep_their_history_private(browser, tmp_path):
    from ingest.store import Store

    store = _store(tmp_path)
    users = tmp_path / "users.json"
    cli = Cli(store)
    for name, pw, extra in (("alice", "alice-pass-1", ["--admin"]), ("bob", "bob-pass-12", [])):
        res = cli("users", "add", name, "--file", users, "--password", pw, *extra)
        assert res.exit_code == 0, res.stderr
    st = Store(store)
    a_rec, b_rec = [r for r in st.iter_records() if r.kind == "open"][:2]
    st.close()
    _seed_history(store, "alice", a_rec.id, a_rec.question, "ALICE-ANSWER 爱丽丝的回答")
    _seed_history(store, "bob", b_rec.id, b_rec.question, "BOB-ANSWER 鲍勃的回答")

    with _serve(store, tmp_path, "--auth", str(users)) as url:
        ctx_a, a = _login(browser, url, "alice", "alice-pass-1")
        ctx_b, b = _login(browser, url, "bob", "bob-pass-12")
        try:
            for page, who in ((a, "alice"), (b, "bob")):
                _wait(page, lambda: who in _text(page, "#signed-in"), f"{who}'s name in the header")
                assert page.locator("#user-name").count() == 0  # nobody types a name: the login is the user
            csv_a, csv_b = _export(a), _export(b)
            assert "ALICE-ANSWER" in csv_a and "BOB-ANSWER" not in csv_a
            assert "BOB-ANSWER" in csv_b and "ALICE-ANSWER" not in csv_b
            rows = list(csv.DictReader(io.StringIO(csv_b)))
            assert rows and all(r.get("user", "bob") == "bob" for r in rows)
            # The weak-questions table fills after the export's own update: wait for bob's row, then check it
            # holds nothing of alice's.
            _wait(b, lambda: b_rec.question in _text(b, "#weak"), "bob's weak question in his Progress table")
            assert a_rec.question not in _text(b, "#weak")
            _shot(b, "lib_08_auth_bob_progress")

            # The admin sees the bank's controls; bob sees the bank but none of them.
            for page in (a, b):
                _tab(page, "题库")
                page.wait_for_selector("#records")
            _wait(a, lambda: a.locator("#upload").is_visible() and a.locator("#save-edit").is_visible(),
                  "the admin's controls")
            assert not b.locator("#upload").is_visible() and not b.locator("#save-edit").is_visible()
            assert not b.locator("#remove").is_visible()
            _shot(b, "lib_09_auth_bob_library")
            # …and the server refuses him even when he calls the API directly with his own session.
            before = [r.model_dump() for r in Store(store).iter_records()]
            res = b.request.post(url + "gradio_api/call/edit_record",
                                 data=json.dumps({"data": ["hacked", "hacked", "all", "", "中文"]}),
                                 headers={"Content-Type": "application/json"})
            assert res.ok, res.text()
            event = b.request.get(url + f"gradio_api/call/edit_record/{res.json()['event_id']}").text()
            data = json.loads(event.split("data:", 1)[1])
            assert event.startswith("event: error") and data["error"] == "只有管理员可以修改题库。", event
            assert [r.model_dump() for r in Store(store).iter_records()] == before
        finally:
            ctx_a.close()
            ctx_b.close()
