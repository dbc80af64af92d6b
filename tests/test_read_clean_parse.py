"""read_document -> clean_text -> parse_document on the seed pages and on hand-made messy pages.

Ground truth for the seeds (tests/data/seeds_expected.json) was written by reading each page:
``has_answer`` is true/false, or null where the page's answer was lost in the scrape (images,
formulas) so either outcome is acceptable; ``answer_contains`` is a distinctive phrase of the
real answer; ``key`` is the multiple-choice key.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ingest.clean import clean_text
from ingest.errors import InputError
from ingest.parse import parse_document
from ingest.read import SUPPORTED_SUFFIXES, read_document
from ingest.schema import ParsedDocument

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "corpus" / "raw"
DATA = Path(__file__).resolve().parent / "data"
PAGES = DATA / "pages"
MAX = 20 * 1024 * 1024

_JUNK = re.compile(
    r"https?://|www\.|红包|余额|二维码|公众号|点击|在这里插入图片描述|\\times|\\frac|\\left|\\right|充值|扫码"
)
_TRIPLED = re.compile(r"(?<!\S)(\S+) \1 \1(?!\S)")
_PUNCT = re.compile(r"[\s,.:;?!()\[\]“”\"'、。·—\-_/|*#]+")


def load(path: Path) -> ParsedDocument:
    return parse_document(clean_text(read_document(path, MAX)))


def norm(s: str) -> str:
    return _PUNCT.sub("", s).lower()


def same_question(expected: str, found: str) -> bool:
    a, b = norm(expected), norm(found)
    if not a or not b:
        return False
    short, long_ = sorted((a, b), key=len)
    return short in long_ and len(short) >= 0.4 * len(long_)


def junk_in(text: str) -> list[str]:
    problems = [m.group(0) for m in _JUNK.finditer(text)]
    problems += [m.group(0) for m in _TRIPLED.finditer(text)]
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    run = 0
    for ln in lines:
        run = run + 1 if len(ln) <= 1 else 0
        if run >= 3:
            problems.append("run of single-character lines")
            break
    return problems


def match_seed(doc: ParsedDocument, expected: list[dict]) -> tuple[int, list[str]]:
    """Match expected questions to records in document order; return (#right, failure notes)."""
    found, notes, j = 0, [], 0
    qs = doc.questions
    for exp in expected:
        k = next((k for k in range(j, len(qs)) if same_question(exp["question"], qs[k].question)), None)
        if k is None:
            notes.append(f"missing: {exp['question']}")
            continue
        j = k + 1
        rec = qs[k]
        if exp.get("key"):
            if rec.kind != "choice" or rec.correct != exp["key"]:
                notes.append(f"wrong key for {exp['question']}: {rec.kind} {rec.correct}")
                continue
        if exp["has_answer"] is True and not (rec.answer and exp["answer_contains"] in rec.answer):
            notes.append(f"answer of {exp['question']} lacks {exp['answer_contains']!r}: {rec.answer!r:.80}")
            continue
        if exp["has_answer"] is False and rec.answer is not None:
            notes.append(f"{exp['question']} should have no answer, got {rec.answer!r:.60}")
            continue
        found += 1
    return found, notes


SEED_EXPECTED: dict[str, list[dict]] = json.loads((DATA / "seeds_expected.json").read_text("utf-8"))


def test_seeds_extraction_quality() -> None:
    total_found = total_expected = 0
    report = []
    for name, expected in SEED_EXPECTED.items():
        doc = load(SEEDS / name)
        found, notes = match_seed(doc, expected)
        total_found += found
        total_expected += len(expected)
        report.append(f"{name}: {found}/{len(expected)} (records: {len(doc.questions)})")
        report += [f"    {n}" for n in notes]
        assert [q.position for q in doc.questions] == list(range(1, len(doc.questions) + 1))
    summary = "\n".join(report)
    assert total_found >= 0.95 * total_expected, summary
    for name, expected in SEED_EXPECTED.items():  # every key must be right, not 95% of them
        doc = load(SEEDS / name)
        keys = [e for e in expected if e.get("key")]
        _, notes = match_seed(doc, keys)
        assert not [n for n in notes if "key" in n or "missing" in n], summary


@pytest.mark.parametrize("name", sorted(SEED_EXPECTED))
def test_seed_records_have_no_boilerplate(name: str) -> None:
    doc = load(SEEDS / name)
    assert doc.questions and doc.plain_text
    for q in doc.questions:
        for text in [q.question, q.answer or "", *q.options.values()]:
            assert not junk_in(text), (q.position, q.question, junk_in(text))


def test_seed_001_formula_repair() -> None:
    text = clean_text((SEEDS / "001_fac37740bcd879ab.txt").read_text("utf-8"))
    assert "3×3的卷积核" in text and "A与B的Tensor进行融合" in text
    assert "感受野(Receptive Field)的定义" in text and "(feature map)上的像素点" in text
    assert "N_depthwise = 3 × 3 × 3 = 27" in text  # a real formula line survives
    assert "C++知识库" not in text and "正文阅读" not in text and "qq:" not in text


def test_seed_003_doubled_symbols() -> None:
    text = clean_text((SEEDS / "003_7598c59d64f35aa6.txt").read_text("utf-8"))
    assert "隐藏状态ht−1与当前时刻的输入xt," in text and "Wxh与Whh" in text
    assert "阅读过本文的人还看了" not in text and "特征工程(一)" not in text


# ---------------------------------------------------------------- hand-made pages in other styles

PAGE_CASES = {
    # (a) HTML with nav, sidebar, script, share buttons, comments and footer; h2/h3 questions
    "chrome_headings.html": [
        ("什么是感受野?", "层数越深,感受野越大"),
        ("为什么使用残差连接?", "- 缓解梯度消失"),
        ("Batch Normalization 在训练和测试时有什么不同?", "滑动平均"),
        ("1×1 卷积有什么作用?", "- 实现跨通道的信息交互"),
    ],
    # (b) GBK, 问题一: … 答: …
    "gbk_wenda.txt": [
        ("什么是过拟合?", "记住了训练数据中的噪声"),
        ("如何缓解梯度消失?", "加入残差连接"),
        ("解释一下Dropout", "随机丢弃神经元"),
        ("L1 和 L2 正则化有什么区别?", "稀疏解"),
    ],
    # (c) Big5 traditional Chinese, and GB18030 with a character GBK cannot encode
    "big5_traditional.txt": [
        ("什麼是卷積神經網路?", "權值共享"),
        ("為什麼需要激活函數?", "單層線性模型"),
        ("批次正規化的作用", "加速收斂"),
    ],
    "gb18030_rare.txt": [
        ("什么是残差网络?", "生僻字“𠮷”"),
        ("什么是注意力机制?", "加权求和"),
    ],
    # (d) UTF-8 with BOM markdown, ## Q1: headings, English Q&A, a non-question section at the end
    "bom_notes.md": [
        ("What is the vanishing gradient problem?", "shrink exponentially"),
        ("Why does dropout reduce overfitting?", "- Activations are rescaled by 1/(1-p)."),
        ("什么是注意力机制?", "加权求和"),
    ],
    # (e) （1）-numbered questions, full-width punctuation, (1)(2)(3) list inside an answer
    "paren_fullwidth.txt": [
        ("什么是池化?它有什么作用?", "(3) 提供一定的平移不变性。"),
        ("卷积层的参数量怎么计算?", "3×3×64×128+128"),
        ("感受野的定义", "区域大小!"),
        ("为什么小卷积核更受欢迎?", "f = max(αx, x)"),
    ],
}


@pytest.mark.parametrize("name", sorted(PAGE_CASES))
def test_messy_pages(name: str) -> None:
    doc = load(PAGES / name)
    got = [(q.question, q.answer) for q in doc.questions]
    assert [q for q, _ in got] == [q for q, _ in PAGE_CASES[name]], got
    for (question, answer), (_, must) in zip(got, PAGE_CASES[name]):
        assert answer and must in answer, (question, answer)
        assert not junk_in(question + (answer or ""))
    assert all(q.kind == "open" for q in doc.questions)


def test_html_chrome_is_gone() -> None:
    text = clean_text(read_document(PAGES / "chrome_headings.html", MAX))
    for chrome in ("首页", "热门文章", "扫码", "路人甲", "Copyright", "ICP", "analytics", "分享到", "_hmt"):
        assert chrome not in text, chrome


def test_markdown_section_heading_is_not_a_question() -> None:
    doc = load(PAGES / "bom_notes.md")
    assert "Further reading" not in [q.question for q in doc.questions]
    assert "Nothing here is official" not in "".join(q.answer or "" for q in doc.questions)


def test_choice_questions() -> None:  # (f)
    doc = load(PAGES / "mcq.txt")
    got = [(q.kind, q.correct, q.answer) for q in doc.questions]
    assert got == [
        ("choice", "B", "Sigmoid 在输入很大或很小时导数趋近于 0。"),
        ("choice", "AD", None),
        ("choice", "C", None),
        ("open", None, "使每层输入分布稳定,加快收敛。"),
    ]
    assert doc.questions[0].options == {"A": "ReLU", "B": "Sigmoid", "C": "Leaky ReLU", "D": "ELU"}
    assert doc.questions[2].options == {"A": "SGD", "B": "Momentum", "C": "Adam", "D": "牛顿法"}


def test_prose_has_no_questions() -> None:  # (g)
    doc = load(PAGES / "prose.txt")
    assert doc.questions == []
    assert "推理延迟" in doc.plain_text


def test_html_fallback_when_main_text_is_tiny() -> None:
    html = (
        "<html><head><script>var secret=1;</script><style>p{color:red}</style></head><body>"
        "<nav>首页 | 登录</nav><h2>什么是BN?</h2><p>对每层输入做归一化。</p>"
        "<h2>什么是LN?</h2><p>在特征维上归一化。</p><footer>版权所有</footer></body></html>"
    )
    path = Path(__file__).parent / "data" / "pages" / "_tiny.html"
    path.write_text(html, "utf-8")
    try:
        doc = load(path)
    finally:
        path.unlink()
    assert [(q.question, q.answer) for q in doc.questions] == [
        ("什么是BN?", "对每层输入做归一化。"),
        ("什么是LN?", "在特征维上归一化。"),
    ]
    assert "secret" not in doc.plain_text and "color" not in doc.plain_text


# ---------------------------------------------------------------- unit checks of the rules

@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("让原本 3 × 3 3\\times 3 3×3的卷积核", "让原本3×3的卷积核"),
        ("将 A A A与 B B B的 T e n s o r Tensor Tensor进行融合", "将A与B的Tensor进行融合"),
        ("隐藏状态ht−1ht−1与输入xtxt", "隐藏状态ht−1与输入xt"),
        ("1×1 卷积、3x3 卷积和 (1) 列表", "1×1 卷积、3x3 卷积和 (1) 列表"),
        ("参数 N = 4 × 3 × 3 × 3 = 108", "参数 N = 4 × 3 × 3 × 3 = 108"),
        ("问题：什么是ＢＮ？（答案见下）", "问题:什么是BN?(答案见下)"),
        ("a\u00a0b\u3000c\t d   ", "a b c d"),
        ("文本\n\n\n\n\n下一段", "文本\n\n下一段"),
        ("答案在这里插入图片描述如下", "答案如下"),
        ("正文\n本文地址: https://example.com/x\n结尾", "正文\n结尾"),
        ("正文\n机器学习 • 6 年前 • 797 次点击\n结尾", "正文\n结尾"),
        ("首页 » 人工智能 » 正文\n内容", "内容"),
        ("内容很多,模型应关注那些难分样本。", "内容很多,模型应关注那些难分样本。"),
        ("  • dropout:输入不变", "  • dropout:输入不变"),
    ],
)
def test_clean_rules(raw: str, want: str) -> None:
    assert clean_text(raw) == want


def test_clean_related_list_and_nav_run() -> None:
    raw = "首页\n博客\n问答\n招聘\n下载\n\n1. 什么是BN?\n归一化。\n\n推荐阅读\n\nPython入门\n\n十分钟学会Docker\n"
    assert clean_text(raw) == "1. 什么是BN?\n归一化。"


@pytest.mark.parametrize(
    ("text", "questions"),
    [
        ("1. 什么是A?\n甲\n2. 什么是B?\n乙", [("什么是A?", "甲"), ("什么是B?", "乙")]),
        ("一、卷积的作用\n提取特征\n二、池化的作用\n降维", [("卷积的作用", "提取特征"), ("池化的作用", "降维")]),
        ("Q1: What is BN?\nIt normalizes.\nQ2. Why ReLU?\nNo saturation.",
         [("What is BN?", "It normalizes."), ("Why ReLU?", "No saturation.")]),
        ("问:什么是过拟合?\n答:训练好测试差。", [("什么是过拟合?", "训练好测试差。")]),
        ("10. 1*1 卷积作用?\n  1. 跨通道交互;\n  2. 降维;\n11. 下一题?\n答案",
         [("1*1 卷积作用?", "1. 跨通道交互;\n2. 降维;"), ("下一题?", "答案")]),
        ("16、A的区别是什么?\n17、B是什么?\n解释", [("A的区别是什么?", None), ("B是什么?", "解释")]),
        ("1. 为什么神经网络高效:并行的先验知识使得模型可学习", [("为什么神经网络高效", "并行的先验知识使得模型可学习")]),
        ("1. BN层的作用(1)使分布稳定 2. 空洞卷积空洞卷积是一种卷积 3. 知识蒸馏知识蒸馏指的是迁移知识",
         [("BN层的作用", "(1)使分布稳定"), ("空洞卷积", "空洞卷积是一种卷积"), ("知识蒸馏", "知识蒸馏指的是迁移知识")]),
        ("第一段介绍文字,不是问题。\n\n防止过拟合:\n\n使用L2正则化。\n\n浅层VS深层:\n\n深层更高效。",
         [("防止过拟合", "使用L2正则化。"), ("浅层VS深层", "深层更高效。")]),
        ("1. 什么是RNN?\n深度学习之循环神经网络(RNN) — 理论与代码相结合\n2. 下一题?\n有答案。",
         [("什么是RNN?", None), ("下一题?", "有答案。")]),
        ("1. 选哪个?\nA.甲\nB.乙\nC.丙\n答案: A、C\n因为甲丙对。",
         [("选哪个?", "因为甲丙对。")]),
    ],
)
def test_parse_rules(text: str, questions: list[tuple[str, str | None]]) -> None:
    doc = parse_document(text)
    assert [(q.question, q.answer) for q in doc.questions] == questions
    assert doc.plain_text == text


def test_parse_choice_key_is_sorted() -> None:
    doc = parse_document("1. 选哪个?\nA.甲\nB.乙\nC.丙\n答案: C、A\n因为甲丙对。")
    q = doc.questions[0]
    assert (q.kind, q.correct, q.options) == ("choice", "AC", {"A": "甲", "B": "乙", "C": "丙"})


# ---------------------------------------------------------------- read_document errors

def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "max_bytes", "message"),
    [
        ("empty.txt", b"", MAX, "is empty"),
        ("blank.md", b"  \n\n \t\n", MAX, "is empty"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), MAX, "PNG image"),
        ("archive.html", b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 4, MAX, "ZIP archive"),
        ("nul.txt", b"some text\x00\x00\x00 with NUL bytes", MAX, "NUL bytes"),
        ("big.txt", "问答".encode() * 700_000, 2_000_000, "4.2 MB, over the 2 MB limit — raise MIANSHI_MAX_FILE_MB"),
        ("garbage.txt", b"\xff\x80\xfe\x81" * 50, MAX, "re-save it as UTF-8"),
        ("slides.pdf", b"%PDF-1.4", MAX, "damaged or unsupported PDF"),
        ("notes.pdf", b"just text named .pdf", MAX, "is not a PDF file"),
        ("notes.docx", b"just text named .docx", MAX, "is not a .docx file"),
        ("slides.pptx", b"PK\x03\x04", MAX, "unsupported type '.pptx'"),
    ],
)
def test_read_errors(tmp_path: Path, name: str, data: bytes, max_bytes: int, message: str) -> None:
    path = _write(tmp_path, name, data)
    with pytest.raises(InputError) as err:
        read_document(path, max_bytes)
    text = str(err.value)
    assert message in text and str(path) in text and "\n" not in text


def test_read_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_document(tmp_path / "nope.txt", MAX)


@pytest.mark.parametrize(
    ("encoding", "suffix"),
    [("utf-8", ".txt"), ("utf-8-sig", ".md"), ("gbk", ".txt"), ("gb18030", ".txt"), ("big5", ".txt"), ("utf-16", ".txt")],
)
def test_read_encodings(tmp_path: Path, encoding: str, suffix: str) -> None:
    text = "1. 什麼是卷積?\n卷積核在輸入上滑動,提取局部特徵,權值共享。\n" if encoding == "big5" else (
        "1. 什么是卷积?\n卷积核在输入上滑动,提取局部特征,权值共享,参数量小。\n"
    )
    path = _write(tmp_path, "doc" + suffix, text.encode(encoding))
    assert read_document(path, MAX).replace("\ufeff", "") == text


def test_supported_suffixes() -> None:
    assert SUPPORTED_SUFFIXES == (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
