"""Regenerate the PDF and DOCX fixtures in tests/data/collections from the text below.

    pip install fpdf2 python-docx && python tests/data/make_fixtures.py

Committed outputs: notes_outline.pdf (headings in the PDF outline), notes_fonts.pdf (no outline:
headings only by font size), notes.docx (Word heading styles, a list, a table). The content is
written for these tests (no third-party text). fpdf2 is only needed here, not by mianshi.
"""

from __future__ import annotations

from pathlib import Path

OUT = Path(__file__).resolve().parent / "collections"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

# (level, heading, paragraphs)
EN = [
    (1, "Deep Learning Notes", ["Short notes for interview practice."]),
    (2, "1. Optimisation", []),
    (3, "1.1 What is gradient clipping?", ["Gradient clipping rescales gradients whose norm exceeds a threshold, "
                                           "which keeps updates stable when training recurrent networks."]),
    (3, "1.2 Why does Adam need bias correction?", ["The moment estimates start at zero, so early estimates are "
                                                    "biased towards zero; dividing by one minus beta to the power t "
                                                    "removes that bias."]),
    (2, "2. Regularisation", []),
    (3, "2.1 How does dropout reduce overfitting?", ["Dropout randomly zeroes activations during training, so units "
                                                     "cannot co-adapt and the network behaves like an ensemble."]),
    (3, "2.2 What is label smoothing?", ["TODO"]),
]
ZH = [
    (1, "深度学习笔记", ["面试练习用的简短笔记。"]),
    (2, "优化", []),
    (3, "什么是梯度裁剪？", ["梯度裁剪在梯度范数超过阈值时按比例缩小梯度，使训练循环网络时更新更稳定。"]),
    (3, "Adam 为什么需要偏差修正？", ["一阶和二阶矩估计从零开始，早期估计偏向零；除以一减去 beta 的 t 次方可以消除这一偏差。"]),
    (2, "正则化", []),
    (3, "Dropout 如何缓解过拟合？", ["训练时随机将部分激活置零，神经元无法相互依赖，网络近似一个集成模型。"]),
    (4, "总结", ["推理时不使用 Dropout。"]),
    (3, "什么是标签平滑？", ["待补充"]),
]


def make_pdf(path: Path, outline: bool) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("DejaVu", "", FONT)
    pdf.set_title("Deep Learning Notes" if outline else "")
    pdf.add_page()
    sizes = {1: 20, 2: 16, 3: 13}
    for level, heading, paras in EN:
        pdf.set_font("DejaVu", size=sizes[level])
        if outline:
            pdf.start_section(heading, level=level - 1)
        pdf.multi_cell(0, 9, heading)
        pdf.ln(2)
        pdf.set_font("DejaVu", size=10)
        for p in paras:
            pdf.multi_cell(0, 6, p)
            pdf.ln(3)
    pdf.output(str(path))


def make_docx(path: Path) -> None:
    import docx

    d = docx.Document()
    d.core_properties.title = "深度学习笔记"
    for level, heading, paras in ZH:
        d.add_heading(heading, level=level)
        for p in paras:
            d.add_paragraph(p)
    d.add_heading("常见激活函数有哪些？", level=3)
    d.add_paragraph("ReLU：计算简单，缓解梯度消失", style="List Bullet")
    d.add_paragraph("GELU：Transformer 中常用", style="List Bullet")
    table = d.add_table(rows=2, cols=2)
    for i, row in enumerate((("函数", "值域"), ("sigmoid", "(0, 1)"))):
        for j, text in enumerate(row):
            table.cell(i, j).text = text
    d.save(str(path))


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    make_pdf(OUT / "notes_outline.pdf", outline=True)
    make_pdf(OUT / "notes_fonts.pdf", outline=False)
    make_docx(OUT / "notes.docx")
    print("written to", OUT)
