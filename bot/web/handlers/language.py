"""The header: the LLM badge (polled while a backend starts) and the language toggle that relabels the page."""


from bot.web import views as V
from bot.texts import UI
from bot.web.layout import Layout, kinds_choices, labels, mode_choices
from bot.web import libview as LV
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

    placeholders = {ui.user: "user_ph", ui.ask_box: "ask_ph", ui.answer: "answer_ph", ui.rec_search: "search_ph"}

    def on_lang(lng):
        lc = V.lang_code(lng)
        T = labels(lc)
        ups = []
        for comp, attr, key in ui.relabel:
            kw = {attr: T[key]}
            if comp is ui.kinds:
                kw["choices"] = kinds_choices(lc)
            elif comp is ui.mode:
                kw["choices"] = mode_choices(lc)
            elif comp in placeholders:
                kw["placeholder"] = T[placeholders[comp]]
            elif comp is ui.rec_filter:
                kw["choices"] = LV.choices(lc, LV.FILTERS, "f_")
            ups.append(gr.update(**kw))
        return ups

    ui.lang.change(on_lang, [ui.lang], [c for c, _, _ in ui.relabel])


def wire_session(ui: Layout, svc: Services, demo) -> None:
    """On a shared server, each page load fills in who logged in and shows the bank's controls to admins only."""
    import gradio as gr

    if svc.users is None:
        return

    def on_load(lng, request: gr.Request):
        who = svc.user_of(request, None) or ""
        shown = gr.update(visible=svc.can_edit(request))
        return who, V.esc(UI[V.lang_code(lng)]["signed_in"].format(user=who)), *[shown for _ in ui.admin_boxes]

    demo.load(on_load, [ui.lang], [ui.user, ui.signed_in, *ui.admin_boxes])
    ui.lang.change(on_load, [ui.lang], [ui.user, ui.signed_in, *ui.admin_boxes])
