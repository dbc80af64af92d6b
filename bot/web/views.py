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
from bot.interview import Summary, fmt_score
from bot.web.chat import chat_messages, plain, with_math  # noqa: F401  (chat_messages: the handlers' name)
from bot.texts import CHAT, LIBRARY, TEXT, UI, topic_name
from ingest.errors import InputError
from ingest.read import SUPPORTED_SUFFIXES
from ingest.sizes import format_mb

UPLOAD_DIR = "uploads"

def lang_code(choice: str | None) -> str:
    return "en" if choice and choice.lower().startswith("en") else "zh"


def esc(text: str | None) -> str:
    """Show text exactly as written in a Markdown+HTML component: no tags, no Markdown syntax, no formula."""
    return plain(text)


def llm_badge(state: str, detail: str, lang: str) -> str:
    """The header's one line on which backend answers: offline, starting, its label, or why it failed."""
    text = UI[lang][f"llm_{state}"].format(label=detail, err=detail[:80])
    return f"<span title=\"{html.escape(detail, quote=True)}\">{esc(text)}</span>" if detail else esc(text)


def interview_note(key: str, lang: str, **kw) -> str:
    """An interviewer's message (``bot.texts``) outside an interview, e.g. in the Ask tab."""
    return TEXT[lang][key].format(**kw)


def notice(text: str | None) -> str:
    """A fallback notice under a reply, set apart and escaped like everything else."""
    return f"\n\n*{esc(text)}*" if text else ""


def ask_reply(result: AskResult, lang: str) -> str:
    body = with_math(result.answer)
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
    # A font cache built before the fonts were installed does not know them: add them once.
    from matplotlib import font_manager as fm

    if not any("CJK" in f.name for f in fm.fontManager.ttflist):
        for path in fm.findSystemFonts():
            if "CJK" in path and "Sans" in path:
                fm.fontManager.addfont(path)
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


def summary_figure(summary: Summary, lang: str, previous: dict[str, float] | None = None):
    """This interview's score per topic, beside the user's previous interview where it had that topic."""
    if not summary.per_topic:
        return None
    previous = previous or {}
    C = CHAT[lang]
    plt = _pyplot()
    names = [p.topic for p in summary.per_topic]
    now_ = [p.average for p in summary.per_topic]
    fig, ax = plt.subplots(figsize=(3.6, 0.55 * max(len(names), 2) + 1.3), dpi=100)
    ys = list(range(len(names)))
    h = 0.38 if previous else 0.6
    colors = ["#d9534f" if is_weak(v) else "#f0ad4e" if v < 4 else "#5cb85c" for v in now_]
    ax.barh([y - (h / 2 if previous else 0) for y in ys], now_, height=h, color=colors, label=C["this_session"])
    if previous:
        ax.barh([y + h / 2 for y in ys], [previous.get(n, 0.0) for n in names], height=h, color="#b8c4d0",
                label=C["prev_session"])
        ax.legend(loc="lower right", fontsize=7)
    for y, v in zip(ys, now_):
        ax.text(min(v + 0.05, 4.6), y - (h / 2 if previous else 0), fmt_score(v), va="center", fontsize=8)
    ax.set_yticks(ys, [topic_name(n, lang) for n in names])
    ax.set_xlim(0, 5)
    ax.invert_yaxis()
    avg = fmt_score(summary.average)
    ax.set_title((f"平均 {avg}/5" if lang == "zh" else f"average {avg}/5"), fontsize=10)
    ax.set_xlabel(C["summary_title"] if previous else ("主题平均分 (0–5)" if lang == "zh" else "score by topic (0–5)"),
                  fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def topic_figure(stats: list[TopicStat], lang: str):
    if not stats:
        return None
    return _bar([f"{topic_name(s.topic, lang)} ({s.answers})" for s in stats], [s.avg_score for s in stats],
                UI[lang]["topic_plot"], UI[lang]["axis_avg"])


def trend_figure(points: list[TrendPoint], lang: str):
    if not points:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 2.8), dpi=100)
    xs = list(range(1, len(points) + 1))
    ax.plot(xs, [p.avg_score for p in points], marker="o", color="#337ab7")
    ax.set_ylim(0, 5.2)
    ax.set_xticks(xs, [p.time[5:16].replace("T", " ") for p in points], rotation=30, ha="right", fontsize=8)
    ax.set_title(UI[lang]["trend"])
    ax.set_ylabel(UI[lang]["axis_trend"])
    ax.grid(alpha=0.3)
    fig.tight_layout()
    plt.close(fig)
    return fig


# --- tables -----------------------------------------------------------------------------
def table(rows: list[list], headers: list[str]):
    """Rows with their headers in the page's language: a DataFrame carries them, a list would keep the
    component's first (Chinese) headers."""
    import pandas as pd

    return pd.DataFrame(rows, columns=headers)


def stat_cols(lang: str, *, due: bool) -> list[str]:
    T = UI[lang]
    cols = [T["col_question"], T["col_avg"], T["col_last"], T["col_times"]]
    return cols + [T["col_due"]] if due else cols


def stat_rows(stats: list[QuestionStat], *, due: bool) -> list[list]:
    # Dataframe cells are typed "str": Gradio shows them as text, so no escaping here.
    rows = []
    for s in stats:
        row = [s.question, fmt_score(s.avg_score), fmt_score(s.last_score), s.attempts]
        if due:
            row.append((s.due or "")[:16].replace("T", " "))
        rows.append(row)
    return rows


def stat_table(stats: list[QuestionStat], lang: str, *, due: bool):
    return table(stat_rows(stats, due=due), stat_cols(lang, due=due))


# --- uploads ----------------------------------------------------------------------------
def safe_name(name: str) -> str:
    """A file name that is only a name: no directories, no dot-files, no odd characters."""
    base = unicodedata.normalize("NFKC", Path(str(name).replace("\\", "/")).name)
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = re.sub(r"[^\w\-]+", "_", stem, flags=re.UNICODE).strip("._-")[:80] or "upload"
    suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""
    return stem + suffix


def upload_refusal(src: Path, name: str, max_bytes: int, lang: str) -> str | None:
    """Why an upload cannot be taken (its type or size), in the page's language; None when it can."""
    L = LIBRARY[lang]
    if Path(name).suffix not in SUPPORTED_SUFFIXES:
        return L["bad_type"].format(name=name, types=" ".join(SUPPORTED_SUFFIXES))
    size = src.stat().st_size
    if size > max_bytes:
        return L["too_big"].format(name=name, size=format_mb(size), limit=format_mb(max_bytes))
    return None


def save_uploads(paths: list[str], store_dir: Path, max_bytes: int,
                 lang: str = "zh") -> tuple[dict[Path, str], list[str]]:
    """Copy uploads into ``<store>/uploads/``; returns {copied path: source name} and messages for refusals."""
    target = (Path(store_dir) / UPLOAD_DIR).resolve()
    target.mkdir(parents=True, exist_ok=True)
    saved: dict[Path, str] = {}
    refused: list[str] = []
    for p in paths:
        src = Path(p)
        name = safe_name(src.name)
        refusal = upload_refusal(src, name, max_bytes, lang)
        if refusal:
            refused.append(refusal)
            continue
        dest = (target / name).resolve()
        if dest.parent != target:  # belt and braces: safe_name already strips directories
            raise InputError(f"refused upload name {name!r} — rename the file")
        shutil.copyfile(src, dest)
        saved[dest] = f"{UPLOAD_DIR}/{name}"
    return saved, refused
