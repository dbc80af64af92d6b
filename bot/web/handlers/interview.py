"""The Interview tab: start, submit (streamed when an LLM is on), hint, skip, end."""

from __future__ import annotations

from bot.interview import InterviewConfig
from bot.web import views as V
from bot.web.layout import Layout
from bot.web.services import Services
from ingest.errors import MianshiError

NOT_STARTED = "请先点「开始面试」 press Start interview first"


def wire(ui: Layout, svc: Services) -> None:
    import gradio as gr

    def view(iv, keep_answer: str = ""):
        cur = iv.current if iv is not None else None
        is_choice = cur is not None and cur.kind == "choice" and iv.phase == "question"
        choice_upd = gr.update(visible=is_choice, value=[],
                               choices=[(f"{k}. {v}", k) for k, v in cur.options.items()] if is_choice else [])
        plot_upd = gr.update(visible=False)
        if iv is not None and iv.done:
            fig = V.summary_figure(svc.engine.summary(iv), iv.config.lang)
            plot_upd = gr.update(visible=fig is not None, value=fig)
        pending = iv.pending_answer if iv is not None and iv.pending_answer else keep_answer
        return iv, V.chat_messages(iv), gr.update(value=pending, visible=not is_choice), choice_upd, plot_upd

    iv_outputs = [ui.iv_state, ui.chat, ui.answer, ui.choice, ui.summary_plot]

    def on_start(name, tps, n, knd, md, lng):
        try:
            cfg = InterviewConfig(user=name or "", topics=tps or [], n_questions=int(n), kinds=knd, mode=md,
                                  lang=V.lang_code(lng))
            return view(svc.engine.start(cfg))
        except MianshiError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

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
                yield gr.skip(), V.chat_messages(cur), gr.skip(), gr.skip(), gr.skip()

    # Offline the handler stays the plain function it always was; with an LLM the feedback streams.
    submit_fn = on_submit_llm if svc.llm_on else step(on_submit)
    # Stable API names (not Gradio's handler_N) so scripts and the load test can drive an interview over HTTP.
    ui.start.click(on_start, [ui.user, ui.topics, ui.count, ui.kinds, ui.mode, ui.lang], iv_outputs,
                   api_name="start")
    ui.submit.click(submit_fn, [ui.iv_state, ui.answer, ui.choice], iv_outputs, concurrency_limit=2,
                    api_name="submit")
    ui.answer.submit(submit_fn, [ui.iv_state, ui.answer, ui.choice], iv_outputs, concurrency_limit=2,
                     api_name="submit_enter")
    ui.skip.click(step(svc.engine.skip), [ui.iv_state], iv_outputs, api_name="skip")
    ui.hint.click(step(svc.engine.hint), [ui.iv_state], iv_outputs, api_name="hint")
    ui.end.click(step(svc.engine.end), [ui.iv_state], iv_outputs, api_name="end")


def _answer(iv, text, picked):
    """The ticked options for a multiple-choice question, else the typed text."""
    if iv is not None and iv.current is not None and iv.current.kind == "choice" and iv.phase == "question":
        return picked or []
    return text or ""
