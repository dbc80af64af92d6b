"""What the web app shows, as plain functions: escaping, chat messages, plots, tables, labels, uploads.

Nothing here imports Gradio, so it can be tested and reused without a browser.
Every string that came from a user or a document goes through :func:`esc`
before it reaches a component that renders Markdown/HTML.
"""

from __future__ import annotations

import html
import re
import shutil
import unicodedata
from pathlib import Path

from bot.grading.schema import is_weak
from bot.lookup.ask import AskResult
from bot.interview.history import QuestionStat, TopicStat, TrendPoint
from bot.interview import Interview, Message, Summary, fmt_score
from bot.texts import TEXT
from ingest.errors import InputError
from ingest.read import SUPPORTED_SUFFIXES
from ingest.sizes import format_mb

UPLOAD_DIR = "uploads"
# CommonMark treats any backslash-escaped ASCII punctuation as a literal; '&' and ';' are left alone so the
# entities html.escape produced stay entities, and '$' is escaped in case math rendering is ever turned on.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$=^])")

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "## 面试 Mianshi · 深度学习面试练习",
        "user": "用户名", "user_ph": "用户名：输入你的名字，保存练习记录",
        "lang": "语言",
        "tab_interview": "面试", "tab_ask": "查询", "tab_progress": "进度", "tab_library": "题库",
        "topics": "主题（可多选，不选=全部）", "count": "题目数量", "kinds": "题型", "mode": "模式",
        "start": "开始面试", "chat": "面试对话", "answer": "你的回答", "answer_ph": "在这里输入回答，按「提交」",
        "options": "选项（可多选）", "submit": "提交", "skip": "跳过/不知道", "hint": "提示", "end": "结束",
        "summary_plot": "本次得分",
        "ask_chat": "题库查询", "ask_box": "问题", "ask_ph": "例如：BN层有什么用", "ask_btn": "查询",
        "refresh": "刷新进度", "trend": "得分趋势", "topic_plot": "各主题掌握度", "due": "待复习", "weak": "薄弱题目",
        "export_csv": "导出历史 CSV", "export_anki": "导出错题 Anki", "download": "下载",
        "upload": "上传文档（.txt / .md / .html）", "import": "导入题库", "import_log": "导入结果",
        "sources": "来源文档", "remove_pick": "选择要删除的来源", "remove": "删除来源",
        "k_open": "开放题", "k_choice": "选择题", "k_mixed": "混合",
        "m_random": "随机", "m_topic": "按主题", "m_review": "复习（到期和薄弱优先）",
        "col_question": "题目", "col_avg": "平均分", "col_last": "最近得分", "col_times": "次数", "col_due": "复习时间",
        "col_source": "来源", "col_records": "题目数", "col_time": "导入时间",
        "llm_offline": "离线模式（未接大模型）", "llm_starting": "大模型启动中…", "llm_ready": "大模型：{label}",
        "llm_failed": "大模型不可用，离线模式（{err}）",
    },
    "en": {
        "title": "## Mianshi · deep-learning interview practice",
        "user": "User name", "user_ph": "User name: type your name to keep your history",
        "lang": "Language",
        "tab_interview": "Interview", "tab_ask": "Ask", "tab_progress": "Progress", "tab_library": "Library",
        "topics": "Topics (none = all)", "count": "Questions", "kinds": "Kinds", "mode": "Mode",
        "start": "Start interview", "chat": "Interview", "answer": "Your answer", "answer_ph": "Type your answer, then Submit",
        "options": "Options (one or more)", "submit": "Submit", "skip": "Skip / don't know", "hint": "Hint", "end": "End",
        "summary_plot": "Scores this time",
        "ask_chat": "Look up the bank", "ask_box": "Question", "ask_ph": "e.g. what is batch normalization for",
        "ask_btn": "Ask",
        "refresh": "Refresh", "trend": "Score trend", "topic_plot": "Strength by topic", "due": "Due for review",
        "weak": "Weakest questions", "export_csv": "Export history CSV", "export_anki": "Export Anki deck",
        "download": "Download",
        "upload": "Upload documents (.txt / .md / .html)", "import": "Add to bank", "import_log": "Import result",
        "sources": "Sources", "remove_pick": "Source to remove", "remove": "Remove source",
        "k_open": "Open", "k_choice": "Multiple choice", "k_mixed": "Mixed",
        "m_random": "Random", "m_topic": "By topic", "m_review": "Review (due and weak first)",
        "col_question": "Question", "col_avg": "Average", "col_last": "Last", "col_times": "Attempts", "col_due": "Due",
        "col_source": "Source", "col_records": "Records", "col_time": "Ingested",
        "llm_offline": "Offline mode (no LLM)", "llm_starting": "LLM starting…", "llm_ready": "LLM: {label}",
        "llm_failed": "LLM unavailable, offline mode ({err})",
    },
}


def lang_code(choice: str | None) -> str:
    return "en" if choice and choice.lower().startswith("en") else "zh"


def esc(text: str | None) -> str:
    """Show text exactly as written in a Markdown+HTML component: no tags, no Markdown syntax."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text or "", quote=True))


def render_message(m: Message) -> dict:
    body = esc(m.text)
    if m.title:
        body = f"**{esc(m.title)}**\n{body}" if body else f"**{esc(m.title)}**"
    return {"role": m.role, "content": body}


def chat_messages(iv: Interview | None) -> list[dict]:
    if iv is None:
        return []
    out: list[dict] = []
    for m in iv.messages:
        msg = render_message(m)
        # A grade and its reference share a bubble; each new question or follow-up starts its own.
        if out and out[-1]["role"] == msg["role"] == "assistant" and m.kind not in ("question", "follow_up", "summary"):
            out[-1]["content"] += "\n\n" + msg["content"]
        else:
            out.append(msg)
    return out


def llm_badge(state: str, detail: str, lang: str) -> str:
    """The header's one line on which backend answers: offline, starting, its label, or why it failed."""
    text = LABELS[lang][f"llm_{state}"].format(label=detail, err=detail[:80])
    return f"<span title=\"{html.escape(detail, quote=True)}\">{esc(text)}</span>" if detail else esc(text)


def interview_note(key: str, lang: str, **kw) -> str:
    """An interviewer's message (``bot.texts``) outside an interview, e.g. in the Ask tab."""
    return TEXT[lang][key].format(**kw)


def notice(text: str | None) -> str:
    """A fallback notice under a reply, set apart and escaped like everything else."""
    return f"\n\n*{esc(text)}*" if text else ""


def ask_reply(result: AskResult, lang: str) -> str:
    body = esc(result.answer)
    if not result.sources:
        return body
    head = "来源" if lang == "zh" else "Sources"
    cites = "\n".join(f"\\[{n}\\] {esc(s.question)} — {esc(s.source)}" for n, s in enumerate(result.sources, 1))
    return f"{body}\n\n**{head}**\n{cites}"


# --- plots ------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Debian's fonts-noto-cjk; without it Chinese labels become boxes, so fall back to DejaVu silently.
    plt.rcParams["font.sans-serif"] = ["Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def _bar(names: list[str], values: list[float], title: str, xlabel: str, width: float = 6.4):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(width, 0.4 * max(len(names), 2) + 1.1), dpi=100)
    colors = ["#d9534f" if is_weak(v) else "#f0ad4e" if v < 4 else "#5cb85c" for v in values]
    ax.barh(names, values, color=colors)
    ax.set_xlim(0, 5)
    ax.invert_yaxis()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    for i, v in enumerate(values):
        ax.text(min(v + 0.05, 4.6), i, fmt_score(v), va="center")
    fig.tight_layout()
    plt.close(fig)
    return fig


def summary_figure(summary: Summary, lang: str):
    if not summary.per_topic:
        return None
    title = f"平均 {fmt_score(summary.average)}/5" if lang == "zh" else f"average {fmt_score(summary.average)}/5"
    return _bar([p.topic for p in summary.per_topic], [p.average for p in summary.per_topic], title,
                "主题平均分 (0–5)" if lang == "zh" else "score by topic (0–5)", width=3.4)


def topic_figure(stats: list[TopicStat], lang: str):
    if not stats:
        return None
    return _bar([f"{s.topic} ({s.answers})" for s in stats], [s.avg_score for s in stats],
                LABELS[lang]["topic_plot"], "平均分 (0–5)" if lang == "zh" else "average (0–5)")


def trend_figure(points: list[TrendPoint], lang: str):
    if not points:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 2.8), dpi=100)
    xs = list(range(1, len(points) + 1))
    ax.plot(xs, [p.avg_score for p in points], marker="o", color="#337ab7")
    ax.set_ylim(0, 5.2)
    ax.set_xticks(xs, [p.time[5:16].replace("T", " ") for p in points], rotation=30, ha="right", fontsize=8)
    ax.set_title(LABELS[lang]["trend"])
    ax.set_ylabel("平均分" if lang == "zh" else "average")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    plt.close(fig)
    return fig


# --- tables -----------------------------------------------------------------------------
def stat_rows(stats: list[QuestionStat], *, due: bool) -> list[list]:
    # Dataframe cells are typed "str": Gradio shows them as text, so no escaping here.
    rows = []
    for s in stats:
        row = [s.question, fmt_score(s.avg_score), fmt_score(s.last_score), s.attempts]
        if due:
            row.append((s.due or "")[:16].replace("T", " "))
        rows.append(row)
    return rows


def source_rows(sources: list[dict]) -> list[list]:
    return [[s["path"], s["records"], (s["ingested_at"] or "")[:16].replace("T", " ")] for s in sources]


# --- uploads ----------------------------------------------------------------------------
def safe_name(name: str) -> str:
    """A file name that is only a name: no directories, no dot-files, no odd characters."""
    base = unicodedata.normalize("NFKC", Path(str(name).replace("\\", "/")).name)
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = re.sub(r"[^\w\-]+", "_", stem, flags=re.UNICODE).strip("._-")[:80] or "upload"
    suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""
    return stem + suffix


def save_uploads(paths: list[str], store_dir: Path, max_bytes: int) -> tuple[dict[Path, str], list[str]]:
    """Copy uploads into ``<store>/uploads/``; returns {copied path: source name} and messages for refusals."""
    target = (Path(store_dir) / UPLOAD_DIR).resolve()
    target.mkdir(parents=True, exist_ok=True)
    saved: dict[Path, str] = {}
    refused: list[str] = []
    for p in paths:
        src = Path(p)
        name = safe_name(src.name)
        if Path(name).suffix not in SUPPORTED_SUFFIXES:
            refused.append(f"{name}: 不支持的类型 unsupported type — upload {' '.join(SUPPORTED_SUFFIXES)} files")
            continue
        size = src.stat().st_size
        if size > max_bytes:
            refused.append(f"{name}: 文件太大 {format_mb(size)}, over the {format_mb(max_bytes)} limit — "
                           f"split the file or raise MIANSHI_MAX_FILE_MB")
            continue
        dest = (target / name).resolve()
        if dest.parent != target:  # belt and braces: safe_name already strips directories
            raise InputError(f"refused upload name {src.name!r} — rename the file")
        shutil.copyfile(src, dest)
        saved[dest] = f"{UPLOAD_DIR}/{name}"
    return saved, refused
