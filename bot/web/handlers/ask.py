"""The Ask tab: look a question up in the bank; with an LLM on, the answer is composed and streamed."""

from __future__ import annotations

from bot.web import views as V
from bot.web.layout import Layout
from bot.web.services import Services


def wire(ui: Layout, svc: Services) -> None:
    def on_ask(query, msgs, lng):
        msgs = list(msgs or [])
        if not query or not query.strip():
            return msgs, query
        lc = V.lang_code(lng)
        msgs.append({"role": "user", "content": V.esc(query.strip())})
        try:
            msgs.append({"role": "assistant", "content": V.ask_reply(svc.ask(query), lc)})
        except Exception as exc:  # the model or store failed: say so in the chat, keep the conversation
            msgs.append(_failed(exc))
        return msgs, ""

    def on_ask_llm(query, msgs, lng):
        """Like ``on_ask``, then the LLM composes the answer from the same references, streamed into the
        chat; its final text (or the extractive answer after a fallback) replaces what was streamed."""
        from bot.lookup.ask import AskResult

        msgs = list(msgs or [])
        if not query or not query.strip():
            yield msgs, query
            return
        lc = V.lang_code(lng)
        msgs.append({"role": "user", "content": V.esc(query.strip())})
        try:
            res = svc.ask(query)
        except Exception as exc:  # the model or store failed: say so in the chat, keep the conversation
            msgs.append(_failed(exc))
            yield msgs, ""
            return
        roles, why = svc.engine.active_roles()
        if roles is None:
            note = V.interview_note(why, lc, err=svc.engine.roles_error or "") if why else None
            msgs.append({"role": "assistant", "content": V.ask_reply(res, lc) + V.notice(note)})
            yield msgs, ""
            return
        msgs.append({"role": "assistant", "content": "…"})
        yield msgs, ""
        streamed, final, note = "", None, None
        try:
            for ev in roles.stream_lookup(query, res):
                if isinstance(ev, str):
                    streamed += ev
                    msgs[-1] = {"role": "assistant", "content": V.esc(streamed)}
                    yield msgs, ""
                else:
                    final = ev
        except Exception as exc:  # roles fall back rather than raise; a bug there must not lose the lookup
            note = V.interview_note("llm_error", lc, err=f"{type(exc).__name__}: {exc}")
        text = final.text if final is not None else res.answer
        note = note or (final.notice if final is not None else None)
        shown = AskResult(answer=text, sources=res.sources, grounded=res.grounded)
        msgs[-1] = {"role": "assistant", "content": V.ask_reply(shown, lc) + V.notice(note)}
        yield msgs, ""

    # Offline the handler stays the plain function it always was; with an LLM it streams.
    ask_fn = on_ask_llm if svc.llm_on else on_ask
    ui.ask_btn.click(ask_fn, [ui.ask_box, ui.ask_chat, ui.lang], [ui.ask_chat, ui.ask_box], api_name="ask")
    ui.ask_box.submit(ask_fn, [ui.ask_box, ui.ask_chat, ui.lang], [ui.ask_chat, ui.ask_box], api_name="ask_enter")


def _failed(exc: Exception) -> dict:
    return {"role": "assistant", "content": V.esc(f"查询出错 lookup failed: {type(exc).__name__}: {exc}")}
