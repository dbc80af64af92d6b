"""The Gradio app: 面试 Interview, 查询 Ask, 进度 Progress, 题库 Library.

Only wiring lives here: ``layout`` builds the components, each ``handlers`` module attaches one tab's events
to the library objects in ``services``. Interview state sits in ``gr.State`` so every browser session has
its own; history is keyed by the user name typed in the header.
"""

from __future__ import annotations

from bot.context import Context
from bot.web.layout import CSS, build_layout
from bot.web.services import Services


def build_app(ctx: Context, users=None):
    """``users`` (a ``bot.web.auth.UserFile``) makes it a shared server: the user is who logged in."""
    import gradio as gr

    from bot.web.handlers import ask, interview, language, library, progress

    svc = Services(ctx, users)
    with gr.Blocks(title="面试 Mianshi", analytics_enabled=False) as demo:
        demo.mianshi_services = svc  # tests and launch() reach the history through the app
        ui = build_layout(svc)
        interview.wire(ui, svc, demo)
        ask.wire(ui, svc)
        language.wire_badge(ui, svc, demo)
        progress.wire(ui, svc)
        library.wire(ui, svc)
        language.wire_labels(ui)
        language.wire_session(ui, svc, demo)
    return demo


def launch(ctx: Context, host: str = "127.0.0.1", port: int = 7860, *, block: bool = True, users=None):
    """Serve the app. ``block=False`` returns the running Blocks (tests stop it with ``.close()``).
    ``users`` turns on Gradio's login, checked against the accounts file's hashed passwords."""
    from bot.texts import UI

    demo = build_app(ctx, users)
    demo.queue(default_concurrency_limit=4)
    demo.mianshi_services.engine.warm_roles()  # a local model server starts beside, not before, the first page
    login = {} if users is None else {"auth": users.authenticate,
                                      "auth_message": f'{UI["zh"]["login"]} · {UI["en"]["login"]}'}
    try:
        demo.launch(server_name=host, server_port=port, share=False, inbrowser=False, quiet=True, footer_links=[],
                    css=CSS, max_file_size=f"{ctx.settings.max_file_mb:g}mb", prevent_thread_lock=not block, **login)
    finally:
        if block:  # the server has stopped: its downloads go with it
            demo.mianshi_services.exports.close()
    return demo
