"""The header: the LLM badge (polled while a backend starts) and the language toggle that relabels the page."""

from __future__ import annotations

from bot.web import views as V
from bot.web.layout import Layout, kinds_choices, mode_choices, source_cols, stat_cols
from bot.web.services import Services


def wire_badge(ui: Layout, svc: Services, demo) -> None:
    import gradio as gr

    def on_badge(lng):
        return V.llm_badge(*svc.engine.roles_status(), V.lang_code(lng))

    ui.lang.change(on_badge, [ui.lang], [ui.badge], api_name="llm_badge")
    if svc.llm_on:
        # Poll while the backend starts, then stop: the badge turns from "starting" to its label or error.
        timer = gr.Timer(2.0, active=True)

        def on_tick(lng):
            state = svc.engine.roles_status()[0]
            return on_badge(lng), gr.Timer(active=state == "starting")

        timer.tick(on_tick, [ui.lang], [ui.badge, timer], show_progress="hidden")
        demo.load(on_badge, [ui.lang], [ui.badge])


def wire_labels(ui: Layout) -> None:
    import gradio as gr

    placeholders = {ui.user: "user_ph", ui.ask_box: "ask_ph", ui.answer: "answer_ph"}

    def on_lang(lng):
        lc = V.lang_code(lng)
        T = V.LABELS[lc]
        ups = []
        for comp, attr, key in ui.relabel:
            kw = {attr: T[key]}
            if comp is ui.kinds:
                kw["choices"] = kinds_choices(lc)
            elif comp is ui.mode:
                kw["choices"] = mode_choices(lc)
            elif comp in placeholders:
                kw["placeholder"] = T[placeholders[comp]]
            elif comp is ui.due_df or comp is ui.weak_df:
                kw["headers"] = stat_cols(T, due=comp is ui.due_df)
            elif comp is ui.sources_df:
                kw["headers"] = source_cols(T)
            ups.append(gr.update(**kw))
        return ups

    ui.lang.change(on_lang, [ui.lang], [c for c, _, _ in ui.relabel])
