"""The Progress tab: trend, per-topic strength, due and weak questions, CSV and Anki exports."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bot.grading.schema import WEAK_SCORE
from bot.interview import normalize_user
from bot.web import views as V
from bot.web.layout import Layout
from bot.web.services import Services
from ingest.errors import MianshiError


def wire(ui: Layout, svc: Services) -> None:
    import gradio as gr

    def on_refresh(name, lng):
        lc = V.lang_code(lng)
        try:
            who = normalize_user(name)
        except MianshiError:
            return None, None, [], []
        h = svc.history
        return (V.trend_figure(h.trend(who), lc), V.topic_figure(h.topic_strength(who), lc),
                V.stat_rows(h.due(who), due=True), V.stat_rows(h.weakest(who, max_score=WEAK_SCORE), due=False))

    progress_outputs = [ui.trend_plot, ui.topic_plot, ui.due_df, ui.weak_df]
    ui.refresh.click(on_refresh, [ui.user, ui.lang], progress_outputs)
    ui.progress_tab.select(on_refresh, [ui.user, ui.lang], progress_outputs)

    def on_export(kind):
        def handler(name):
            try:
                who = normalize_user(name)
            except MianshiError as exc:
                raise gr.Error(str(exc), print_exception=False) from None
            out = Path(tempfile.mkdtemp(prefix="mianshi-export-"))
            if kind == "csv":
                path = svc.history.export_csv(who, out / "mianshi_history.csv")
            else:
                path, n = svc.history.export_apkg(who, out / "mianshi_review.apkg")
                if n == 0:
                    gr.Info("没有得分 ≤ 2 的题目，牌组为空 no badly answered questions yet: the deck is empty")
            return gr.update(value=str(path), visible=True)
        return handler

    ui.export_csv.click(on_export("csv"), [ui.user], [ui.download], api_name="export_csv")
    ui.export_anki.click(on_export("anki"), [ui.user], [ui.download], api_name="export_anki")
