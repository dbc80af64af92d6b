"""The Interview tab: start, submit (streamed when an LLM is on), hint, skip, end, report a question, and
resume after a reload (the browser keeps the name and the interview's id; the server keeps the interview)."""

from __future__ import annotations

from bot.interview import InterviewConfig
from bot.interview.state import MAX_ANSWER_CHARS, short
from bot.texts import CHAT, UI
from bot.web import views as V
from bot.web.layout import COUNT_JS, Layout
from bot.web.services import Services
from ingest.errors import MianshiError

# The answer buttons are off until an interview starts, so this only shows to a script: say it in both languages.
NOT_STARTED = f"{UI['zh']['not_started']} {UI['en']['not_started']}"


def flag_choices(iv) -> list[tuple[str, str]]:
    """The questions a report can be about: the one on screen and the one before it (whose reference was
    just shown), newest first."""
    if iv is None:
        return []
    last = min(iv.index, len(iv.questions) - 1)
    return [(short(q.question, 40), q.id) for q in reversed(iv.questions[max(0, last - 1):last + 1])]


def wire(ui: Layout, svc: Services, demo=None) -> None:
    import gradio as gr

    def view(iv, keep_answer: str = ""):
        """Every output an interview step changes, in ``iv_outputs`` order."""
        if iv is not None:
            svc.live.put(iv)
        cur = iv.current if iv is not None else None
        running = iv is not None and not iv.done
        is_choice = cur is not None and cur.kind == "choice" and iv.phase == "question"
        # The box says whether one or several letters are wanted (a single-answer key: 单选).
        label = ({"label": UI[iv.config.lang]["options_single" if len(cur.correct or "") <= 1 else "options"]}
                 if is_choice else {})
        choice_upd = gr.update(visible=is_choice, value=[],
                               choices=[(f"{k}. {v}", k) for k, v in cur.options.items()] if is_choice else [], **label)
        plot_upd = gr.update(visible=False)
        if iv is not None and iv.done:
            fig = V.summary_figure(svc.engine.summary(iv), iv.config.lang, svc.engine.previous_topics(iv))
            plot_upd = gr.update(visible=fig is not None, value=fig)
        pending = iv.pending_answer if iv is not None and iv.pending_answer else keep_answer
        live = gr.update(interactive=running)
        saved = {"user": iv.config.user, "iv": iv.id if running else ""} if iv is not None else gr.skip()
        return (iv, V.chat_messages(iv), gr.update(value=pending, visible=not is_choice, interactive=running),
                choice_upd, plot_upd, live, live, live, live, gr.update(interactive=iv is not None), saved,
                gr.update(visible=not is_choice))

    iv_outputs = [ui.iv_state, ui.chat, ui.answer, ui.choice, ui.summary_plot, ui.submit, ui.hint, ui.skip, ui.end,
                  ui.flag, ui.saved, ui.counter]
    # The chat's own trash button would empty the view of a running interview (the interview goes on): put the
    # conversation straight back.
    ui.chat.clear(lambda iv: V.chat_messages(iv) if iv is not None else [], [ui.iv_state], [ui.chat], queue=False)

    def on_start(name, tps, n, knd, md, lng):
        try:
            cfg = InterviewConfig(user=name or "", topics=tps or [], n_questions=int(n), kinds=knd, mode=md,
                                  lang=V.lang_code(lng))
            return view(svc.engine.start(cfg))
        except MianshiError as exc:
            raise gr.Error(str(exc), title=UI[V.lang_code(lng)]["error_title"], print_exception=False) from None

    def step(fn):
        def handler(iv, *args):
            if iv is None:
                raise gr.Error(NOT_STARTED, print_exception=False)
            return view(fn(iv, *args))
        return handler

    def on_submit(iv, text, picked):
        return svc.engine.submit(iv, _answer(iv, text, picked))

    def on_submit_llm(iv, text, picked):
        """Like ``step(on_submit)``, with the LLM's feedback streamed into the chat: partial updates change
        only the chat; the last one is the final state, exactly what ``on_submit`` would show."""
        if iv is None:
            raise gr.Error(NOT_STARTED, print_exception=False)
        for final, cur in svc.engine.submit_stream(iv, _answer(iv, text, picked)):
            if final:
                yield view(cur)
            else:
                yield (gr.skip(), V.chat_messages(cur), *[gr.skip()] * (len(iv_outputs) - 2))

    # Offline the handler stays the plain function it always was; with an LLM the feedback streams.
    submit_fn = on_submit_llm if svc.llm_on else step(on_submit)
    # Stable API names (not Gradio's handler_N) so scripts and the load test can drive an interview over HTTP.
    # On a phone the setup panel sits above the chat: bring the chat into view once there is a question.
    to_chat = ("() => { if (window.innerWidth < 768) "
               "document.getElementById('interview-chat')?.scrollIntoView({block: 'start', behavior: 'smooth'}); }")
    ui.start.click(on_start, [ui.user, ui.topics, ui.count, ui.kinds, ui.mode, ui.lang], iv_outputs,
                   api_name="start").then(None, None, None, js=to_chat)
    ui.submit.click(submit_fn, [ui.iv_state, ui.answer, ui.choice], iv_outputs, concurrency_limit=2,
                    api_name="submit")
    ui.answer.submit(submit_fn, [ui.iv_state, ui.answer, ui.choice], iv_outputs, concurrency_limit=2,
                     api_name="submit_enter")
    ui.skip.click(step(svc.engine.skip), [ui.iv_state], iv_outputs, api_name="skip")
    ui.hint.click(step(svc.engine.hint), [ui.iv_state], iv_outputs, api_name="hint")
    ui.end.click(step(svc.engine.end), [ui.iv_state], iv_outputs, api_name="end")
    ui.answer.input(None, [ui.answer], None, js=COUNT_JS)

    # --- 报告题目问题: pick the question (this one or the last), an optional reason, send ----------------
    def on_flag_open(iv):
        if iv is None:
            raise gr.Error(NOT_STARTED, print_exception=False)
        choices = flag_choices(iv)
        return gr.update(visible=True), gr.update(choices=choices, value=choices[0][1] if choices else None)

    def on_flag_send(iv, record_id, reason):
        if iv is None or not record_id:
            raise gr.Error(NOT_STARTED, print_exception=False)
        try:
            new = svc.engine.flag(iv, record_id, reason or "")
        except MianshiError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        return (*view(new), gr.update(visible=False), "")

    ui.flag.click(on_flag_open, [ui.iv_state], [ui.flag_box, ui.flag_pick], api_name="flag_open")
    ui.flag_send.click(on_flag_send, [ui.iv_state, ui.flag_pick, ui.flag_reason],
                       [*iv_outputs, ui.flag_box, ui.flag_reason], api_name="flag")
    ui.flag_cancel.click(lambda: (gr.update(visible=False), ""), None, [ui.flag_box, ui.flag_reason])

    # --- the session in the browser: the name as typed, the running interview's id -------------------
    def on_name(name, saved):
        return {**(saved or {}), "user": (name or "").strip()}

    ui.user.change(on_name, [ui.user, ui.saved], [ui.saved], queue=False, show_progress="hidden")

    def on_load(saved):
        saved = saved or {}
        user = saved.get("user") or ""
        iv = svc.live.get(saved.get("iv"), user)
        if iv is None:
            return (gr.update(value=user) if user else gr.skip(), *[gr.skip()] * len(iv_outputs))
        out = list(view(iv))
        out[1] = out[1] + [{"role": "assistant", "content": V.esc(CHAT[iv.config.lang]["resumed"])}]
        return (user, *out)

    if demo is not None:
        demo.load(on_load, [ui.saved], [ui.user, *iv_outputs], api_name="resume")

    # The interview tab's own labels (``CHAT``), beside the language toggle's relabelling of the rest.
    def on_lang(lng):
        T = CHAT[V.lang_code(lng)]
        ups = []
        for comp, attr, key in ui.chat_relabel:
            val = T[key].format(n=0, max=MAX_ANSWER_CHARS) if key == "counter" else T[key]
            kw = {attr: val}
            if comp is ui.flag_reason:
                kw["placeholder"] = T["flag_reason_ph"]
            ups.append(gr.update(**kw))
        return (*ups, gr.update(placeholder=T["guide"]))

    ui.lang.change(on_lang, [ui.lang], [c for c, _, _ in ui.chat_relabel] + [ui.chat])


def _answer(iv, text, picked):
    """The ticked options for a multiple-choice question, else the typed text."""
    if iv is not None and iv.current is not None and iv.current.kind == "choice" and iv.phase == "question":
        return picked or []
    return text or ""
