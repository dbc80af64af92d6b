"""The Library tab's logic without a browser, the texts module, and `serve --auth` refusing bad accounts files.

Real stores in temp dirs (the ``hash`` embedder), the real CLI runner.
"""

from __future__ import annotations

import json
import re

import pytest

from bot import texts
from bot.web import libview as LV
from bot.web.layout import labels

CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.mark.parametrize("name", ["TEXT", "UI", "LIBRARY", "TOPIC_NAMES", "LEVEL_NAMES", "RUBRIC"])
def test_every_text_exists_in_both_languages(name):
    table = getattr(texts, name)
    assert set(table) == {"zh", "en"}
    zh, en = table["zh"], table["en"]
    if isinstance(zh, dict):
        assert set(zh) == set(en), set(zh) ^ set(en)
    else:
        assert len(zh) == len(en)
    for key in zh if isinstance(zh, dict) else range(len(zh)):
        # Same placeholders in both, and the English one has no Chinese left in it.
        assert set(re.findall(r"{(\w+)}", str(zh[key]))) == set(re.findall(r"{(\w+)}", str(en[key]))), key
        assert not CJK.search(str(en[key])), (name, key, en[key])


def test_ui_and_library_labels_agree_where_they_share_a_key():
    for lang in ("zh", "en"):
        shared = set(texts.UI[lang]) & set(texts.LIBRARY[lang])
        assert all(texts.UI[lang][k] == texts.LIBRARY[lang][k] for k in shared), shared
        assert labels(lang)["tab_library"] and labels(lang)["confirm_remove"]


def test_every_topic_has_a_name_in_both_languages():
    from ingest.topics import all_topics

    for t in all_topics():
        assert t in texts.TOPIC_NAMES["zh"] and t in texts.TOPIC_NAMES["en"], t
    assert texts.topic_name("normalization", "zh") == "归一化" and texts.topic_name("loss", "en") == "Loss functions"


@pytest.mark.parametrize("raw, kept, gone", [
    ("均值 $\\mu_B$ 和 $$\\frac{a}{b}$$", ["$\\mu_B$", "$$\\frac{a}{b}$$"], []),
    ("<script>alert(1)</script> 文字", ["\\<script>"], ["<script>"]),
    ("已转义 \\<b\\> 保持", ["\\<b\\>"], ["\\\\<"]),
    ("$a<b$ 与 $$x>y$$", ["$a\\lt b$", "$$x\\gt y$$"], ["<", ">"]),
    ("见 ![示意图](fig.png) 和 [原文](http://example.com)", ["［图：示意图］", "原文"], ["](", "!["]),
])
def test_math_markdown_keeps_formulas_and_nothing_else_becomes_markup(raw, kept, gone):
    out = LV.math_markdown(raw)
    for k in kept:
        assert k in out, out
    for g in gone:
        assert g not in out.replace("\\<", ""), out


@pytest.mark.parametrize("msg, want", [
    ("cannot read /srv/mianshi/store/uploads/a.md (UnicodeError)", "cannot read a.md (UnicodeError)"),
    ("file /tmp/gradio/3f2a/笔记.html is too large", "file 笔记.html is too large"),
    ("corpus/raw/a.txt stays relative", "corpus/raw/a.txt stays relative"),
])
def test_messages_never_show_server_paths(msg, want):
    assert LV.scrub_paths(msg) == want


def test_preview_lists_questions_and_skips_in_the_page_language(tmp_path):
    from ingest.dryrun import dry_run

    doc = tmp_path / "n.md"
    doc.write_text("# 笔记\n\n## 什么是BN？\n\nBN 对每个批次做归一化。\n\n## 什么是LN？\n", encoding="utf-8")
    items = [i.model_dump() for i in dry_run([doc])]
    zh, en = LV.preview_table(items, "zh"), LV.preview_table(items, "en")
    assert list(zh.columns) == ["文件", "结果", "题目", "答案开头", "章节", "原因"]
    assert list(en.columns) == ["File", "Result", "Question", "Answer starts", "Section", "Reason"]
    assert zh["题目"].tolist() == ["什么是BN?", "什么是LN?"] and zh["结果"].tolist() == ["题目", "题目"]
    assert LV.preview_line(items, "zh").startswith("1 个文件：2 道题（1 道没有答案），跳过 0 项。")
    assert LV.preview_line(items, "en").startswith("1 file(s): 2 questions (1 without an answer), 0 item(s) skipped.")


@pytest.fixture
def svc(cli):
    from bot.context import build_context
    from bot.settings import Settings
    from bot.web.services import Services
    from tests.support import SEEDS

    assert cli("ingest", SEEDS).exit_code == 0
    return Services(build_context(cli.store, Settings(embedder="hash")))


def test_filters_and_edits_through_the_services(svc):
    recs, flagged, edited = svc.bank_records()
    unanswered = LV.pick_records(recs, flagged, "unanswered", "")
    assert unanswered and all(not r.answers for r in unanswered)
    target = next(r for r in recs if r.answers)
    svc.edit(target.id, target.question, "新答案：$x^2$", "admin")
    svc.ctx.store.set_flag(unanswered[0].id, "没有答案", "bob")
    recs, flagged, edited = svc.bank_records()
    assert edited == {target.id} and flagged == {unanswered[0].id}
    assert [r.id for r in LV.pick_records(recs, flagged, "flagged", "")] == [unanswered[0].id]
    table = LV.record_table(LV.pick_records(recs, flagged, "all", target.question), flagged, edited, "en")
    assert list(table.columns) == ["Question", "Topics", "State"] and "edited" in table["State"].tolist()
    assert "$x^2$" in LV.record_markdown(svc.record(target.id), "zh")
    svc.delete(target.id, "admin")
    assert svc.record(target.id) is None and svc.unflag(unanswered[0].id) and not svc.bank_records()[1]


def test_only_admins_may_change_the_bank_on_a_shared_server(svc, tmp_path):
    from types import SimpleNamespace

    from bot.web.auth import UserFile

    users = UserFile(tmp_path / "u.json")
    users.add("alice", "alice-pass-1", admin=True)
    users.add("bob", "bob-pass-12")
    alice, bob = SimpleNamespace(username="alice"), SimpleNamespace(username="bob")
    assert svc.can_edit(bob) and svc.user_of(bob, "typed") == "typed"  # a personal machine: the typed name
    svc.users = users
    assert svc.can_edit(alice) and not svc.can_edit(bob) and not svc.can_edit(SimpleNamespace(username=None))
    assert svc.user_of(bob, "alice") == "bob"  # the login wins over anything the page sends


NO_USERS = "错误 error: 账户文件中没有用户 no accounts in {f} — add one with `mianshi users add NAME --admin --file {f}`\n"
UNREADABLE = ("错误 error: 账户文件无法读取 cannot read the accounts file {f} ({exc}) — recreate it with "
              "`mianshi users add NAME --file {f}`\n")


@pytest.mark.parametrize("content, expected", [
    (None, NO_USERS),
    (json.dumps({"users": []}), NO_USERS),
    ("not json", UNREADABLE.replace("{exc}", "JSONDecodeError")),
    (json.dumps({"users": [{"name": "a", "role": "root", "password": "x"}]}),
     UNREADABLE.replace("{exc}", "ValidationError")),
])
def test_serve_refuses_a_missing_empty_or_broken_accounts_file(cli, tmp_path, content, expected):
    from tests.support import SEEDS

    assert cli("ingest", SEEDS).exit_code == 0
    f = tmp_path / "users.json"
    if content is not None:
        f.write_text(content, encoding="utf-8")
    for res in (cli("serve", "--port", "1", "--auth", f), cli("serve", "--port", "1", env={"MIANSHI_AUTH": str(f)})):
        assert res.exit_code == 2, res.output
        assert res.stderr == expected.format(f=f)  # one line, how to fix it, and nothing served before it
        assert res.stdout == ""


def test_plots_and_tables_follow_the_language():
    from bot.interview.history import TopicStat, TrendPoint
    from bot.web import views as V

    stat = TopicStat(topic="normalization", answers=3, avg_score=2.5)
    for lang, title, axis, name in (("zh", "各主题掌握度", "平均分 (0–5)", "归一化 (3)"),
                                    ("en", "Strength by topic", "average (0–5)", "Normalization (3)")):
        ax = V.topic_figure([stat], lang).axes[0]
        assert (ax.get_title(), ax.get_xlabel()) == (title, axis)
        assert [t.get_text() for t in ax.get_yticklabels()] == [name]
        assert list(V.stat_table([], lang, due=True).columns) == V.stat_cols(lang, due=True)
    assert V.stat_cols("en", due=True) == ["Question", "Average", "Last", "Attempts", "Due"]
    point = TrendPoint(session_id="s", time="2026-01-02T10:00:00", avg_score=3.0, answers=2)
    assert V.trend_figure([point], "en").axes[0].get_ylabel() == "average"
