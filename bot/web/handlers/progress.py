"""The Progress tab: trend, per-topic strength, due and weak questions, CSV and Anki exports.

No ``from __future__ import annotations`` here: Gradio finds the ``gr.Request`` parameter by its live annotation.
"""

from bot.grading.schema import WEAK_SCORE
from bot.interview import normalize_user
from bot.texts import UI
from bot.web import views as V
from bot.web.layout import Layout
from bot.web.services import Services
from ingest.errors import MianshiError


def wire(ui: Layout, svc: Services) -> None:
    import gradio as gr

    def on_refresh(name, lng, request: gr.Request):
        lc = V.lang_code(lng)
        try:
            who = normalize_user(svc.user_of(request, name))
        except MianshiError:
            return None, None, V.stat_table([], lc, due=True), V.stat_table([], lc, due=False)
        h = svc.history
        return (V.trend_figure(h.trend(who), lc), V.topic_figure(h.topic_strength(who), lc),
                V.stat_table(h.due(who), lc, due=True),
                V.stat_table(h.weakest(who, max_score=WEAK_SCORE), lc, due=False))

    progress_outputs = [ui.trend_plot, ui.topic_plot, ui.due_df, ui.weak_df]
    ui.refresh.click(on_refresh, [ui.user, ui.lang], progress_outputs)
    ui.progress_tab.select(on_refresh, [ui.user, ui.lang], progress_outputs)
    ui.lang.change(on_refresh, [ui.user, ui.lang], progress_outputs)  # plots and headers follow the language

    def on_export(kind):
        def handler(name, lng, request: gr.Request):
            lc = V.lang_code(lng)
            try:
                # On a shared server the name comes from the login, never from the page.
                who = normalize_user(svc.user_of(request, name))
            except MianshiError:
                raise gr.Error(UI[lc]["need_user"], title=UI[lc]["error_title"], print_exception=False) from None
            out = svc.exports.new_dir()
            if kind == "csv":
                path = svc.history.export_csv(who, out / "mianshi_history.csv")
            else:
                path, n = svc.history.export_apkg(who, out / "mianshi_review.apkg")
                if n == 0:
                    gr.Info(UI[lc]["anki_empty"])
            return gr.update(value=str(path), visible=True)
        return handler

    ui.export_csv.click(on_export("csv"), [ui.user, ui.lang], [ui.download], api_name="export_csv")
    ui.export_anki.click(on_export("anki"), [ui.user, ui.lang], [ui.download], api_name="export_anki")
