"""Structured documents (Markdown, PDF, DOCX) -> records, on committed fixtures (tests/data/collections).

Expected records were written by reading each fixture; see tests/data/collections/README.md for
where each one comes from and its licence.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest

from ingest.errors import InputError
from ingest.formats import NavigationFile, load_document
from ingest.markdown import parse_markdown
from ingest.sections import clean_question, extract
from ingest.store import SCHEMA_VERSION

DATA = Path(__file__).resolve().parent / "data" / "collections"
MAX = 20 * 1024 * 1024
_RESIDUE = re.compile(r"\*\*|!\[|\]\(|\[\[|&[a-z]{2,8};|<[a-z]+[\s>/]|\$|\\frac|^#+ |TODO|待补充", re.M)


def load(name: str):
    path = DATA / name
    return load_document(path, path.read_bytes(), MAX)


def summary(doc) -> list[tuple[str, str, bool]]:
    return [(q.origin, q.question, bool(q.answer)) for q in doc.questions]


def test_zh_chapter_records():
    doc = load("zh_chapter.md")
    assert doc.title == "第十二章 网络搭建及训练"
    assert summary(doc) == [
        ("heading", "常见的深度学习框架有哪些?", True),
        ("heading", "PyTorch 的特点有哪些?", True),  # its answer is two sub-headings
        ("heading", "为什么要做梯度裁剪?", False),  # "- [ ] TODO"
        ("heading", "什么是 Batch Normalization?", True),
        ("topic", "LeNet-5 · 模型结构", True),
        ("line", "学习率如何设置?", True),
        ("line", "早停的作用是什么?", False),  # 待补充
        ("line", "什么是数据增强?", True),  # [[src]](…) gone from the question
    ]
    by_q = {q.question: q for q in doc.questions}
    assert by_q["常见的深度学习框架有哪些?"].answer == "常见的框架有 PyTorch、TensorFlow、JAX 和 PaddlePaddle。"
    assert by_q["常见的深度学习框架有哪些?"].section == ["网络搭建及训练", "框架选择"]
    pt = by_q["PyTorch 的特点有哪些?"]
    assert pt.answer.startswith("高度的灵活性\n动态图") and "丰富的生态" in pt.answer
    assert "#### 高度的灵活性" in pt.display
    assert by_q["LeNet-5 · 模型结构"].section == ["网络搭建及训练", "经典网络", "LeNet-5"]
    # Page chrome after the final rule is not part of the last answer.
    assert "公众号" not in by_q["什么是数据增强?"].answer and "Copyright" not in by_q["什么是数据增强?"].display
    for q in doc.questions:
        assert not _RESIDUE.search(q.question), q.question
        assert not _RESIDUE.search(q.answer or ""), (q.question, q.answer)


def test_formulas_survive_in_the_display_form():
    bn = next(q for q in load("zh_chapter.md").questions if "Batch" in q.question)
    assert r"$\hat{x} = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}$" in bn.display
    assert "$$\ny = \\gamma \\hat{x} + \\beta\n$$" in bn.display
    # The plain text used for search and grading reads the formula instead of spelling LaTeX.
    assert "(x - μ)/(√(σ^2 + ε))" in bn.answer and "y = γ x + β" in bn.answer


def test_generic_and_reference_sections_are_never_questions():
    doc = load("zh_chapter.md")
    questions = " ".join(q.question for q in doc.questions)
    for word in ("输入", "总结", "代码地址", "参考资料", "注意"):
        assert word not in questions
    reasons = {s.heading: s.reason for s in doc.skipped}
    assert reasons["经典网络 · LeNet-5"].startswith("not a question")


def test_english_collection_excerpt():
    """alexeygrigorev/data-science-interviews: bold question lines with difficulty emoji, formulas as images."""
    doc = load("alexeygrigorev_theory_excerpt.md")
    assert doc.title == "Theoretical interview questions"
    assert [q.question for q in doc.questions] == [
        "What happens to our linear regression model if we have three columns in our data: x, y, z — and z is a sum "
        "of x and y?",
        "What happens to our linear regression model if the column z in the data is a sum of columns x and y and some "
        "random noise?",
        "What is regularization? Why do we need it?",
        "Which regularization techniques do you know?",
        "What kind of regularization techniques are applicable to linear models?",
        "How does L2 regularization look like in a linear model?",
    ]
    assert all(q.answer and q.section == ["Theoretical interview questions", "Regularization"] for q in doc.questions)
    techniques = doc.questions[3]
    assert r"$\lambda$" in techniques.display and "λ" in techniques.answer and "<img" not in techniques.answer
    assert not any("The answers here are given by the community" in (q.answer or "") for q in doc.questions)


@pytest.mark.parametrize("name", ["notes_outline.pdf", "notes_fonts.pdf"])
def test_pdf_headings_from_outline_or_font_size(name):
    doc = load(name)
    assert doc.title == "Deep Learning Notes"
    assert summary(doc) == [
        ("heading", "What is gradient clipping?", True),
        ("heading", "Why does Adam need bias correction?", True),
        ("heading", "How does dropout reduce overfitting?", True),
        ("heading", "What is label smoothing?", False),
    ]
    assert doc.questions[0].section == ["Deep Learning Notes", "Optimisation"]
    assert doc.questions[0].answer.startswith("Gradient clipping rescales gradients whose norm exceeds a threshold")


def test_docx_heading_styles_lists_and_tables():
    doc = load("notes.docx")
    assert doc.title == "深度学习笔记"
    assert summary(doc) == [
        ("heading", "什么是梯度裁剪?", True),
        ("heading", "Adam 为什么需要偏差修正?", True),
        ("heading", "Dropout 如何缓解过拟合?", True),  # owns its 总结 sub-heading
        ("heading", "什么是标签平滑?", False),
        ("heading", "常见激活函数有哪些?", True),
    ]
    dropout = doc.questions[2]
    assert dropout.answer.endswith("推理时不使用 Dropout。")
    act = doc.questions[4]
    assert "- ReLU:计算简单,缓解梯度消失" in act.display and "| sigmoid | (0, 1) |" in act.display


@pytest.mark.parametrize(
    ("heading", "question"),
    [
        ("3.1.1 什么是BN？", "什么是BN?"),
        ("Q1: What is dropout?", "What is dropout?"),
        ("1) Why ReLU?", "Why ReLU?"),
        ("第一题：什么是过拟合？", "什么是过拟合?"),
        ("（2）为什么要归一化？", "为什么要归一化?"),
        ("Q23: What is BERT? [[src]](https://x.y)", "What is BERT?"),
        ("What is a transformer? [Answer](https://x.y)", "What is a transformer?"),
        ("**What is regression? 👶**", "What is regression?"),
        ("05.Pytorch DataLoader的主要参数有哪些", "Pytorch DataLoader的主要参数有哪些"),
        ("一阶段SSD,YOLO之间的区别是什么？<Tencent AI lab-一面(2020)>", "一阶段SSD,YOLO之间的区别是什么?"),
        ("𝐇𝐨𝐰 𝐰𝐨𝐮𝐥𝐝 𝐲𝐨𝐮 𝐜𝐡𝐚𝐧𝐠𝐞 it?", "How would you change it?"),
    ],
)
def test_question_text_is_clean(heading, question):
    doc = parse_markdown(f"# Notes\n\n## {heading}\n\nAn answer long enough to keep.\n")
    qs, _ = extract(doc)
    assert [q.question for q in qs] == [question]


@pytest.mark.parametrize(
    "body",
    ["- [ ] TODO", "TODO", "待补充", "TBD", "Answer here", "参考资料:[某篇文章](https://x.y/a)、[另一篇](https://x.y/b)",
     "- [link one](https://x.y/1)\n- [link two](https://x.y/2)", "![fig](a.png)", "&emsp;&emsp;"],
)
def test_stubs_and_link_lists_are_no_answer(body):
    qs, _ = extract(parse_markdown(f"# Notes\n\n## 1. 什么是梯度消失?\n\n{body}\n\n## 2. 什么是梯度爆炸?\n\n梯度逐层放大。\n"))
    assert [(q.question, q.answer) for q in qs] == [("什么是梯度消失?", None), ("什么是梯度爆炸?", "梯度逐层放大。")]


@pytest.mark.parametrize("name, text", [
    ("notes.md", "# Notes\n\n## 1. 神经网络不收敛的原因?\n\n对应的解决办法分别是:\n\n## 2. 什么是梯度爆炸?\n\n梯度逐层放大。\n"),
    ("notes.txt", "1. 神经网络不收敛的原因?\n对应的解决办法分别是:\n2. 什么是梯度爆炸?\n梯度逐层放大。\n"),
])
def test_a_lone_lead_in_ending_in_a_colon_is_no_answer(tmp_path, name, text):
    from ingest.formats import load_document

    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    doc = load_document(f, f.read_bytes(), 1_000_000)
    assert [(q.question.rstrip("?？"), q.answer) for q in doc.questions] == [
        ("神经网络不收敛的原因", None), ("什么是梯度爆炸", "梯度逐层放大。")]


def test_numbered_run_of_headings_makes_imperatives_questions():
    text = "# 面试题\n\n" + "".join(f"## {i}. {t}\n\n{t}的答案在这里,足够长。\n\n" for i, t in enumerate(
        ["什么是卷积?", "介绍一下空洞卷积", "上采样的原理和常用方式", "为什么用ReLU?"], 1))
    qs, _ = extract(parse_markdown(text))
    assert [q.question for q in qs] == ["什么是卷积?", "介绍一下空洞卷积", "上采样的原理和常用方式", "为什么用ReLU?"]


def test_sentence_fragments_and_bold_captions_are_not_questions():
    text = "# 笔记\n\n## 什么是BN?\n\n**预防过拟合策略:**\n\n- 增加数据\n\n因此,在训练时\n\n**注意**\n"
    qs, _ = extract(parse_markdown(text))
    assert [q.question for q in qs] == ["什么是BN?"]
    assert qs[0].answer.startswith("预防过拟合策略:\n增加数据")


def test_clean_question_keeps_content():
    assert clean_question("VGG使用3*3卷积核的优势是什么?") == "VGG使用3*3卷积核的优势是什么?"
    assert clean_question("# 14.") == ""


# ------------------------------------------------------------------------------ hostile binaries

def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("bomb.docx", lambda: _zip_bytes({"[Content_Types].xml": b"<x/>", "word/document.xml": bytes(60_000_000)}),
         "decompression bomb"),
        ("plain.docx", lambda: b"just some text", "is not a .docx file"),
        ("notword.docx", lambda: _zip_bytes({"a.txt": b"hello"}), "damaged or unsupported .docx"),
        ("cut.docx", lambda: (DATA / "notes.docx").read_bytes()[:5000], "damaged"),
        ("cut.pdf", lambda: (DATA / "notes_outline.pdf").read_bytes()[:900], "PDF"),
        ("text.pdf", lambda: b"hello, not a pdf", "is not a PDF file"),
        ("empty.pdf", lambda: b"", "is empty"),
    ],
)
def test_broken_binaries_are_clear_skips(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data())
    from ingest.read import read_bytes

    with pytest.raises(InputError) as err:
        load_document(path, read_bytes(path, MAX) if path.stat().st_size else b"", MAX)
    assert message in str(err.value) and "\n" not in str(err.value) and str(path) in str(err.value)


def test_encrypted_pdf_is_a_clear_skip(tmp_path):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(DATA / "notes_outline.pdf").pages:
        writer.add_page(page)
    writer.encrypt("secret")
    path = tmp_path / "locked.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    with pytest.raises(InputError, match="password-protected"):
        load_document(path, path.read_bytes(), MAX)


def test_navigation_page_without_questions_is_skipped(tmp_path):
    path = tmp_path / "README.md"
    path.write_text("# My notes\n\n- [Chapter 1](ch1.md)\n- [Chapter 2](ch2.md)\n", encoding="utf-8")
    with pytest.raises(NavigationFile):
        load_document(path, path.read_bytes(), MAX)
    path.write_text("# My notes\n\n## What is BN?\n\nIt normalises activations per channel.\n", encoding="utf-8")
    assert [q.question for q in load_document(path, path.read_bytes(), MAX).questions] == ["What is BN?"]


# ------------------------------------------------------------------------------ through the CLI

def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "my-notes"
    (repo / "docs" / "ch12").mkdir(parents=True)
    (repo / ".git").mkdir()
    shutil.copy(DATA / "zh_chapter.md", repo / "docs" / "ch12" / "chapter.md")
    shutil.copy(DATA / "notes.docx", repo / "docs" / "notes.docx")
    (repo / "README.md").write_text("# my notes\n\n- [第十二章](docs/ch12/chapter.md)\n", encoding="utf-8")
    (repo / ".git" / "HEAD.md").write_text("## What is hidden?\n\nnot a document\n", encoding="utf-8")
    return repo


def test_ingest_a_cloned_repo_stores_display_sections_and_readable_sources(tmp_path, cli):
    repo = _repo(tmp_path)
    res = cli("ingest", repo, "--json")
    assert res.exit_code == 0, res.stderr
    s = json.loads(res.stdout)
    assert (s["files"], s["found"], s["found_unanswered"], s["added"]) == (2, 13, 3, 13)
    assert s["navigation_skipped"] == ["README.md"] and s["skipped"] == []
    assert s["skipped_non_questions"] == 5
    records = {r["question"]: r for r in cli.jsonl("export")}
    assert "What is hidden?" not in records
    bn = records["什么是 Batch Normalization?"]["answers"][0]
    assert bn["rel_path"] == "docs/ch12/chapter.md" and bn["title"] == "第十二章 网络搭建及训练"
    assert bn["section"] == ["网络搭建及训练", "框架选择"] and "$$" in bn["display"]
    sources = {r["rel_path"]: r["title"] for r in cli.jsonl("sources", "--json")}
    assert sources == {"docs/ch12/chapter.md": "第十二章 网络搭建及训练", "docs/notes.docx": "深度学习笔记"}
    again = json.loads(cli("ingest", repo, "--json").stdout)
    assert (again["unchanged"], again["added"], again["found"]) == (2, 0, 0)


def test_schema_v1_store_is_migrated(tmp_path, cli, corpus):
    assert cli("ingest", corpus, "--json").exit_code == 0
    db = sqlite3.connect(tmp_path / "store" / "records.sqlite")
    # Make it a v1 store again: the v1 tables lack the new columns.
    for table, col in (("occurrences", "display"), ("occurrences", "section"), ("files", "title"), ("files", "rel_path")):
        db.execute(f"ALTER TABLE {table} DROP COLUMN {col}")
    db.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    db.commit()
    db.close()
    before = cli.jsonl("export")  # opening migrates
    db = sqlite3.connect(tmp_path / "store" / "records.sqlite")
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    assert db.execute("SELECT COUNT(*) FROM files WHERE sha256 != ''").fetchone()[0] == 0
    db.close()
    assert all(a["display"] is None for r in before for a in r["answers"])
    s = json.loads(cli("ingest", corpus, "--json").stdout)  # re-reads every file, fills the new fields
    assert s["unchanged"] == 0 and s["added"] == 0 and s["chunks_embedded"] == 0
    after = cli.jsonl("export")
    assert [r["question"] for r in after] == [r["question"] for r in before]
    assert all(a["rel_path"] and a["title"] for r in after for a in r["answers"])


def test_dry_run_lists_records_and_skips_without_a_store(tmp_path):
    from ingest.dryrun import dry_run

    repo = _repo(tmp_path)
    items = list(dry_run([repo]))
    assert not (tmp_path / ".mianshi").exists()
    records = [i for i in items if i.status == "record"]
    assert len(records) == 13
    first = records[0]
    assert (first.source, first.title, first.question, first.section, first.answered) == (
        "docs/ch12/chapter.md", "第十二章 网络搭建及训练", "常见的深度学习框架有哪些?", ["网络搭建及训练", "框架选择"], True)
    assert first.answer_preview.startswith("常见的框架有 PyTorch")
    assert [(i.source, i.reason) for i in items if i.status == "file_skipped"] == [
        ("README.md", "navigation page with no questions")]
    skipped = {i.question: i.reason for i in items if i.status == "skipped"}
    assert "经典网络 · LeNet-5" in skipped
    json.loads(first.model_dump_json())  # one JSON line per item


def test_a_change_log_and_dated_headings_are_page_chrome():
    entry = "- 专题-卷积网络\n  - 卷积的内部实现与反向传播\n- 数据结构-链表\n  - 反转链表与环检测\n- 概率题-抽样\n"
    md = ("Updates Log\n===\n\n## ToDo\n- 专题-XGBoost 调参\n- 为什么 RNN 用 tanh 作激活函数\n\n"
          + "".join(f"## 2018-9-{d}\n{entry}\n" for d in (4, 8, 21)) + "## v1.2\n" + entry
          + "\n# 模型\n\n## 什么是BN?\n\nBN 对每个 mini-batch 做归一化，再做缩放和平移。\n")
    questions, skipped = extract(parse_markdown(md, "ToDo.md"))
    assert [q.question for q in questions] == ["什么是BN?"]
    assert ("Updates Log", "generic section heading") in {(s.heading, s.reason) for s in skipped}
