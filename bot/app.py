"""Gradio app. Until the interview UI lands it serves the lookup (查询 Ask) tab over the same library."""

from __future__ import annotations

from bot.context import Context


def build_app(ctx: Context):
    import gradio as gr

    from bot.ask import ask, load_calibration

    cal = load_calibration(ctx.embedder.name)
    retriever = ctx.retriever

    def on_ask(query: str) -> str:
        if not query or not query.strip():
            return "请输入问题。"
        result = ask(retriever, query, cal)
        cites = "\n".join(f"- {s.question} — {s.source}" for s in result.sources)
        return result.answer + (f"\n\n来源 Sources:\n{cites}" if cites else "")

    with gr.Blocks(title="面试 Mianshi", analytics_enabled=False) as demo:
        gr.Markdown("# 面试 Mianshi\n深度学习面试练习 — 查询题库 (interview mode coming next)")
        with gr.Tab("查询 Ask"):
            q = gr.Textbox(label="问题 Question", placeholder="例如：BN层有什么用")
            a = gr.Textbox(label="回答 Answer", lines=12, interactive=False)
            gr.Button("查询 Ask", variant="primary").click(on_ask, q, a)
            q.submit(on_ask, q, a)
    return demo


def launch(ctx: Context, host: str = "127.0.0.1", port: int = 7860) -> None:
    demo = build_app(ctx)
    demo.queue(default_concurrency_limit=4).launch(server_name=host, server_port=port, show_api=False,
                                                    share=False, inbrowser=False)
