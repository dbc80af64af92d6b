"""The CLI against a real temp store (SQLite + Chroma), fast tier with the hash embedder."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from pathlib import Path

import pytest
from bot.cli import build_app
from tests.support import SEEDS


def _commands(group, prefix=()):
    import typer.main

    cmd = group if hasattr(group, "commands") else typer.main.get_command(group)
    for name, sub in cmd.commands.items():
        path = (*prefix, name)
        yield path
        if hasattr(sub, "commands"):
            yield from _commands(sub, path)


ALL_COMMANDS = list(_commands(build_app()))


def test_every_command_is_listed():
    names = {" ".join(p) for p in ALL_COMMANDS}
    assert {"ingest", "search", "ask", "export", "sources", "remove", "serve", "eval", "eval search"} <= names


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=[" ".join(p) for p in ALL_COMMANDS])
def test_every_command_has_help_with_example(cli, path):
    res = cli(*path, "--help")
    assert res.exit_code == 0
    assert "Usage" in res.stdout
    if path[-1] != "eval":
        assert "Example: mianshi" in res.stdout, f"{path} help lacks an example"


def test_every_command_is_listed_in_chinese_first(cli):
    from bot.texts import CLI_HELP

    paths = {" ".join(p) for p in ALL_COMMANDS}
    assert set(CLI_HELP) == paths  # no command without a line, no stale line
    assert all(re.match(r"[\u4e00-\u9fff]", text) for text in CLI_HELP.values())
    groups = [()] + [p for p in ALL_COMMANDS if any(q[:len(p)] == p and len(q) > len(p) for q in ALL_COMMANDS)]
    for group in groups:
        listing = " ".join(cli(*group, "--help").stdout.split("Commands:", 1)[1].split())
        for path in (p for p in ALL_COMMANDS if p[:-1] == group):
            assert " ".join(f"{path[-1]} {CLI_HELP[' '.join(path)]}".split()) in listing, path


def test_ingest_seeds_summary_and_idempotent(cli):
    res = cli("ingest", SEEDS)
    assert res.exit_code == 0, res.stderr
    assert "5 files" in res.stderr and "records" in res.stderr
    db = sqlite3.connect(cli.store / "records.sqlite")
    n_records = db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    n_chunks = db.execute("SELECT COUNT(*) FROM chunks WHERE embedded = 1").fetchone()[0]
    assert n_records > 80 and n_chunks > n_records
    # Same files again: nothing re-embedded, nothing changes.
    res2 = cli("ingest", SEEDS, "--json")
    summary = json.loads(res2.stdout)
    assert summary["unchanged"] == 5 and summary["chunks_embedded"] == 0 and summary["chunks_removed"] == 0
    assert db.execute("SELECT COUNT(*) FROM records").fetchone()[0] == n_records
    assert db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == n_chunks


def test_files_read_by_an_older_parser_are_read_again_without_re_embedding(cli):
    cli("ingest", SEEDS)
    before = cli.jsonl("export")
    db = sqlite3.connect(cli.store / "records.sqlite")
    # What an earlier version stored: the hash of the bytes alone, with no parser digest in it.
    db.executemany("UPDATE files SET sha256=? WHERE path=?",
                   [(hashlib.sha256(p.read_bytes()).hexdigest(), src) for p in sorted(SEEDS.iterdir())
                    for (src,) in db.execute("SELECT path FROM files WHERE path LIKE ?", (f"%{p.name}",))])
    db.commit()
    summary = json.loads(cli("ingest", SEEDS, "--json").stdout)
    assert summary["unchanged"] == 0 and summary["chunks_embedded"] == 0 and summary["chunks_removed"] == 0
    assert cli.jsonl("export") == before
    assert json.loads(cli("ingest", SEEDS, "--json").stdout)["unchanged"] == 5


def test_changed_file_replaces_its_records(cli, corpus):
    cli("ingest", corpus)
    before = {r["question"] for r in cli.jsonl("export")}
    page = corpus / "002_1d861faae2f62ccd.txt"
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("5、什么是玻尔兹曼机?", "5、什么是受限玻尔兹曼机RBM?"), encoding="utf-8")
    summary = json.loads(cli("ingest", corpus, "--json").stdout)
    assert summary["unchanged"] == 4
    after = {r["question"] for r in cli.jsonl("export")}
    assert any("受限玻尔兹曼机" in q for q in after)
    assert not any(q.startswith("什么是玻尔兹曼机") for q in after)
    assert len(after) == len(before)
    # Chroma holds exactly the chunks SQLite says are embedded: stale vectors were deleted.
    from ingest.embed import HashEmbedder
    from ingest.store import Store

    st = Store(cli.store, HashEmbedder())
    assert st.collection.count() == st.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]


def test_export_schema(cli):
    cli("ingest", SEEDS)
    seed_names = {p.name for p in SEEDS.iterdir()}
    rows = cli.jsonl("export")
    assert rows
    for r in rows:
        assert set(r) == {"id", "question", "answers", "kind", "options", "correct", "topics"}
        assert r["kind"] in ("open", "choice")
        for a in r["answers"]:
            assert set(a) == {"text", "display", "source", "title", "rel_path", "section"}
            assert a["title"] and len(a["title"]) <= 60 and a["rel_path"] == Path(a["source"].split("#")[0]).name
            path, _, position = a["source"].rpartition("#")
            assert path.endswith(".txt") and Path(path).name in seed_names and position.isdigit(), a["source"]
        if r["kind"] == "choice":
            assert r["options"] and r["correct"] and set(r["correct"]) <= set(r["options"])
        else:
            assert r["options"] == {} and r["correct"] is None
    assert sum(r["kind"] == "choice" for r in rows) >= 6


def test_search_json_and_input_file(cli, tmp_path):
    cli("ingest", SEEDS)
    res = cli("search", "反卷积", "--k", "3", "--json")
    assert res.exit_code == 0
    obj = json.loads(res.stdout)
    assert obj["query"] == "反卷积" and len(obj["hits"]) == 3
    assert set(obj["hits"][0]) == {"id", "question", "answer", "source", "score"}
    assert any("反卷积" in h["question"] for h in obj["hits"])
    qfile = tmp_path / "q.txt"
    qfile.write_text("Dropout\n\n梯度消失\n", encoding="utf-8")
    lines = cli.jsonl("search", "--input", qfile, "--json")
    assert [line["query"] for line in lines] == ["Dropout", "梯度消失"]


def test_sources_and_remove(cli, corpus):
    cli("ingest", corpus)
    srcs = cli.jsonl("sources", "--json")
    assert len(srcs) == 5 and all(s["records"] > 0 for s in srcs)
    target = srcs[0]["path"]
    res = cli("remove", target)
    assert res.exit_code == 0, res.stderr
    assert target not in [s["path"] for s in cli.jsonl("sources", "--json")]
    assert all(not a["source"].startswith(target + "#") for r in cli.jsonl("export") for a in r["answers"])


def _write(p: Path, data: bytes) -> Path:
    p.write_bytes(data)
    return p


ERROR_CASES = [
    # (name, make args from tmp dir, expected exit code, expected message fragment)
    ("missing path", lambda d: ["ingest", d / "nope"], 2, "no such file"),
    ("empty dir", lambda d: ["ingest", (d / "empty").mkdir() or d / "empty"], 2, "no .txt"),
    ("empty file", lambda d: ["ingest", _write(d / "e.txt", b"")], 2, "empty"),
    ("binary file", lambda d: ["ingest", _write(d / "b.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50)], 2, "not text"),
    ("zip as html", lambda d: ["ingest", _write(d / "z.html", b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 4)],
     2, "not text"),
    ("unsupported type", lambda d: ["ingest", _write(d / "x.pdf", b"%PDF-1.4")], 2, "unsupported"),
    ("search without store", lambda d: ["search", "BN"], 1, "run `mianshi ingest` first"),
    ("ask without store", lambda d: ["ask", "BN"], 1, "run `mianshi ingest` first"),
    ("export without store", lambda d: ["export"], 1, "run `mianshi ingest` first"),
    ("empty query", lambda d: ["search", "  "], 2, "QUERY"),
    ("remove unknown source", lambda d: ["remove", "nope.txt"], 1, "no store"),
    ("bad eval split", lambda d: ["eval", "search", "--split", "x"], 2, "unknown split"),
    ("bad fit split", lambda d: ["eval", "search", "--calibrate", "--fit-split", "x"], 2, "unknown split"),
]


@pytest.mark.parametrize("name,args,code,message", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_are_one_line_messages(cli, tmp_path, name, args, code, message):
    res = cli(*args(tmp_path))
    assert res.exit_code == code, (res.stdout, res.stderr)
    assert message in res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert res.stdout == ""
    assert not cli.store.exists(), "a failed command must not leave an empty store behind"


def test_oversized_file_is_skipped_with_reason(cli, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("1. 什么是BN?\nBN是批归一化。\n" * 20000, encoding="utf-8")
    res = cli("ingest", big, SEEDS / "004_9c3078ab2cf86951.txt", env={"MIANSHI_MAX_FILE_MB": "0.1"})
    assert res.exit_code == 0
    # One unit, derived once from the setting: 0.1 MB prints as "0.1 MB", never as 0.095 (MiB).
    assert "big.txt is 0.74 MB, over the 0.1 MB limit" in res.stderr


def test_unknown_embedder_lists_valid_ones(cli):
    res = cli("ingest", SEEDS, env={"MIANSHI_EMBEDDER": "word2vec"})
    assert res.exit_code == 1
    assert "unknown embedder 'word2vec'" in res.stderr and "e5" in res.stderr and "hash" in res.stderr


def test_failed_ingest_leaves_store_intact(cli, tmp_path):
    cli("ingest", SEEDS)
    before = cli.jsonl("export")
    bad = _write(tmp_path / "bad.txt", b"\x00\x01\x02" * 100)
    res = cli("ingest", bad)
    assert res.exit_code == 2
    assert cli.jsonl("export") == before


def test_embedder_mismatch_is_refused(cli):
    cli("ingest", SEEDS)
    res = cli("search", "BN", env={"MIANSHI_EMBEDDER": "e5"})
    assert res.exit_code == 1
    assert "MIANSHI_EMBEDDER=hash" in res.stderr


def test_newer_store_schema_is_refused(cli):
    cli("ingest", SEEDS)
    db = sqlite3.connect(cli.store / "records.sqlite")
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    res = cli("search", "BN")
    assert res.exit_code == 1 and "schema v99" in res.stderr and "--rebuild" in res.stderr


def test_rebuild_swaps_in_a_fresh_store_and_keeps_the_users_data(cli):
    from bot.interview import History

    cli("ingest", SEEDS)
    before = cli.jsonl("export")
    h = History(cli.store)
    h.start_session("s1", "小明", {"user": "小明"})
    h.close()
    (cli.store / "uploads").mkdir()
    (cli.store / "uploads" / "notes.md").write_text("## 什么是BN？\n\n批归一化。\n", encoding="utf-8")
    res = cli("ingest", SEEDS, "--rebuild", "--json")
    assert json.loads(res.stdout)["unchanged"] == 0
    assert cli.jsonl("export") == before
    assert not (cli.store.parent / "store.rebuild").exists()
    # The bank is new; the history of who practised what, and the uploaded files, are not.
    h = History(cli.store)
    assert [tuple(r) for r in h.db.execute("SELECT id FROM sessions")] == [("s1",)]
    h.close()
    assert (cli.store / "uploads" / "notes.md").read_text(encoding="utf-8").startswith("## 什么是BN")


def test_markup_in_bank_text_and_file_names_prints_literally(cli, tmp_path):
    # Rich would read "[/b]" as a closing tag and fail; document text and names are printed as text.
    doc = tmp_path / "[b]notes[red].md"
    doc.write_text("## Q1: 什么是[/b]批归一化[bold]？\n\nBN对每个小批量做[red]归一化[/red]，再缩放平移。\n", encoding="utf-8")
    assert cli("ingest", doc).exit_code == 0
    res = cli("search", "批归一化", "--k", "1", env={"COLUMNS": "400"})
    assert res.exit_code == 0, res.stderr
    assert "[/b]批归一化[bold]" in res.stdout and "[red]归一化[/red]" in res.stdout
    res = cli("sources", env={"COLUMNS": "400"})
    assert res.exit_code == 0, res.stderr
    assert "[b]notes[red].md" in res.stdout


def test_broken_pipe_is_not_an_internal_error(tmp_path):
    import subprocess
    import sys

    from tests.support import ROOT

    store = tmp_path / "store"
    env = {**__import__("os").environ, "MIANSHI_EMBEDDER": "hash", "MIANSHI_HOME": str(store)}
    subprocess.run([sys.executable, "-m", "bot", "ingest", str(SEEDS)], env=env, cwd=ROOT, check=True,
                   capture_output=True)
    # `mianshi export | head -1`: the reader goes away after one line.
    proc = subprocess.Popen([sys.executable, "-m", "bot", "export"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert b"internal error" not in err and b"Traceback" not in err
    assert proc.returncode == 0


def test_ingest_dry_run_prints_json_lines_and_stores_nothing(cli):
    from tests.support import ROOT

    doc = ROOT / "tests" / "data" / "collections" / "zh_chapter.md"
    res = cli("ingest", "--dry-run", doc)
    assert res.exit_code == 0, res.stderr
    items = [json.loads(line) for line in res.stdout.splitlines()]
    first = items[0]
    assert first["source"] == "zh_chapter.md" and first["title"] == "第十二章 网络搭建及训练"
    assert first["question"] == "常见的深度学习框架有哪些?" and first["section"] == ["网络搭建及训练", "框架选择"]
    assert {i["status"] for i in items} <= {"record", "skipped", "file_skipped"}
    assert any(i["status"] == "skipped" and i["reason"] for i in items)  # generic headings say why
    assert not cli.store.exists()


def test_ingest_summary_counts_added_unanswered_and_non_questions(cli):
    from tests.support import ROOT

    res = cli("ingest", ROOT / "tests" / "data" / "collections" / "zh_chapter.md")
    assert res.exit_code == 0, res.stderr
    added = len(cli.jsonl("export"))
    assert f"{added} records added" in res.stderr and "skipped as non-questions" in res.stderr
    again = cli("ingest", ROOT / "tests" / "data" / "collections" / "zh_chapter.md")
    assert "0 records added" in again.stderr


def test_record_commands_edit_flag_delete(cli):
    cli("ingest", SEEDS)
    rec = next(r for r in cli.jsonl("export") if "成本函数" in r["question"])
    res = cli("record", "edit", rec["id"], "--answer", "成本函数衡量预测和真实值的差距。")
    assert res.exit_code == 0 and f"已修改 edited {rec['id']}: {rec['question']}" in res.stderr
    [shown] = cli.jsonl("record", "show", rec["id"])
    assert shown["question"] == rec["question"] and [a["text"] for a in shown["answers"]] == ["成本函数衡量预测和真实值的差距。"]
    res = cli("record", "edit", rec["id"])  # nothing to change: refused, and nothing is marked edited
    assert res.exit_code == 2 and "nothing to change" in res.stderr
    res = cli("record", "flags")
    assert res.exit_code == 0 and res.stdout == "" and "no flagged records" in res.stderr
    assert cli("record", "flag", rec["id"], "--reason", "太短").exit_code == 0
    assert cli("record", "flag", rec["id"]).exit_code == 0  # flagged again without a reason: the reason stays
    [flag] = cli.jsonl("record", "flags", "--json")
    assert (flag["record_id"], flag["reason"]) == (rec["id"], "太短")
    assert cli("record", "unflag", rec["id"]).exit_code == 0 and cli.jsonl("record", "flags", "--json") == []
    assert cli("record", "delete", rec["id"], input="n\n").exit_code == 1  # asked, declined: nothing deleted
    assert any(r["id"] == rec["id"] for r in cli.jsonl("export"))
    assert cli("record", "delete", rec["id"], "--yes").exit_code == 0
    assert all(r["id"] != rec["id"] for r in cli.jsonl("export"))


@pytest.mark.parametrize("args", [("record", "show", "nope"), ("record", "edit", "nope", "--answer", "x"),
                                  ("record", "delete", "nope", "--yes"), ("record", "flag", "nope")])
def test_record_commands_refuse_an_unknown_id(cli, args):
    cli("ingest", SEEDS)
    res = cli(*args)
    assert res.exit_code == 2 and "no record 'nope'" in res.stderr and "Traceback" not in res.stderr


def test_grade_keeps_extra_fields_and_reports_malformed_lines(cli, tmp_path):
    inp = tmp_path / "answers.jsonl"
    lines = [
        {"sid": 7, "student": "张三", "question": "什么是过拟合？", "answer": "训练集好、测试集差。",
         "reference": "过拟合是模型在训练集上表现好，在测试集上表现差。", "meta": {"class": "A"}},
        {"student": "李四", "question": "什么是过拟合？"},                      # no answer: malformed
        {"student": "王五", "question": "BN是什么？", "answer": "C", "kind": "choice", "correct": "C"},
    ]
    inp.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\nnot json\n", encoding="utf-8")
    res = cli("grade", "--input", inp, env={"MIANSHI_GRADER": "overlap"})
    assert res.exit_code == 2
    assert "line 2: answer: Field required" in res.stderr and "line 4: not valid JSON" in res.stderr
    out = [json.loads(x) for x in res.stdout.splitlines()]
    assert [o["student"] for o in out] == ["张三", "王五"]
    assert out[0]["sid"] == 7 and out[0]["meta"] == {"class": "A"} and list(out[0])[:2] == ["sid", "student"]
    assert out[1]["score"] == 5.0 and 0 <= out[0]["score"] <= 5


ONE_ANSWER = {"id": 1, "question": "什么是过拟合？", "answer": "训练集好、测试集差。",
              "reference": "过拟合是模型在训练集上表现好，在测试集上表现差。"}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_grade_reads_the_encodings_users_save_and_keeps_numeric_ids(cli, tmp_path, encoding):
    inp = tmp_path / "answers.jsonl"
    inp.write_text(json.dumps(ONE_ANSWER, ensure_ascii=False) + "\n", encoding=encoding)
    out = tmp_path / "new" / "dir" / "graded.jsonl"  # a missing folder is made
    res = cli("grade", "--input", inp, "--output", out, env={"MIANSHI_GRADER": "overlap"})
    assert res.exit_code == 0, res.stderr
    row = json.loads(out.read_text(encoding="utf-8"))
    assert row["id"] == 1 and row["question"] == "什么是过拟合？" and 0 <= row["score"] <= 5


@pytest.mark.parametrize("setup, message", [
    (lambda d: d, "is a folder — give a JSONL file"),
    (lambda d: d / "missing.jsonl", "no such file"),
])
def test_grade_refuses_unusable_input_before_work(cli, tmp_path, setup, message):
    res = cli("grade", "--input", setup(tmp_path), env={"MIANSHI_GRADER": "overlap"})
    assert res.exit_code == 2 and message in res.stderr and "internal error" not in res.stderr


@pytest.mark.parametrize("target, message", [
    (lambda d: d, "is a folder — give a file path"),
    (lambda d: d / "answers.jsonl" / "x.jsonl", "is a file, not a folder"),
])
def test_grade_refuses_an_unwritable_output_before_grading(cli, tmp_path, target, message):
    inp = tmp_path / "answers.jsonl"
    inp.write_text(json.dumps(ONE_ANSWER, ensure_ascii=False) + "\n", encoding="utf-8")
    res = cli("grade", "--input", inp, "--output", target(tmp_path), env={"MIANSHI_GRADER": "overlap"})
    assert res.exit_code == 2 and message in res.stderr and "internal error" not in res.stderr
    assert res.stdout == ""


def test_grade_says_when_a_file_has_nothing_to_grade(cli, tmp_path):
    inp = tmp_path / "empty.jsonl"
    inp.write_text("\n\n", encoding="utf-8")
    res = cli("grade", "--input", inp, env={"MIANSHI_GRADER": "overlap"})
    assert res.exit_code == 0 and res.stdout == "" and "nothing to grade" in res.stderr


def test_grade_with_a_model_fitted_for_another_embedder_says_what_to_do(cli, tmp_path):
    inp = tmp_path / "answers.jsonl"
    inp.write_text(json.dumps({"question": "Q?", "answer": "A.", "reference": "R."}) + "\n", encoding="utf-8")
    res = cli("grade", "--input", inp)  # the hash embedder with the e5-fitted model
    assert res.exit_code == 1 and "MIANSHI_EMBEDDER=e5" in res.stderr and "internal error" not in res.stderr


def test_serve_on_a_busy_port_says_so_before_printing_a_url(cli):
    import socket

    cli("ingest", SEEDS)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = cli("serve", "--port", str(port))
    assert res.exit_code == 1 and f"port {port} on 127.0.0.1 is already in use" in res.stderr
    assert "--port N" in res.stderr and "http://" not in res.stderr and "internal error" not in res.stderr


def test_debug_lets_the_original_error_through(cli):
    from ingest.errors import NoStoreError

    res = cli("search", "BN")  # no bank yet: one line, exit 1
    assert res.exit_code == 1 and res.stderr.startswith("错误 error: 没有找到题库 no store at ")
    with pytest.raises(NoStoreError):
        cli("--debug", "search", "BN")
    with pytest.raises(NoStoreError):
        cli("search", "BN", env={"MIANSHI_DEBUG": "1"})
