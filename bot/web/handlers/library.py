"""The Library tab: upload and import documents, list sources, remove one."""

from __future__ import annotations

from bot.web import views as V
from bot.web.layout import Layout
from bot.web.services import Services
from ingest.errors import MianshiError

STAGES = {"read": "读取解析 reading", "embed": "向量化 embedding"}


def wire(ui: Layout, svc: Services) -> None:
    import gradio as gr

    def library_view(log: str):
        srcs = svc.sources()
        return (log, V.source_rows(srcs), gr.update(choices=[s["path"] for s in srcs], value=None),
                gr.update(choices=svc.topics()))

    # The interview's topic list follows the bank: an import or removal may add or drop topics.
    library_outputs = [ui.import_log, ui.sources_df, ui.remove_pick, ui.topics]

    def on_import(files, progress=gr.Progress()):
        if not files:
            return library_view("请先选择文件 choose files to upload first")
        paths = [f if isinstance(f, str) else f.name for f in files]
        saved, refused = V.save_uploads(paths, svc.ctx.store_dir, svc.ctx.settings.max_file_bytes)
        lines = [f"跳过 skipped {r}" for r in refused]
        if saved:
            def report(stage, done, total):
                progress((done, max(total, 1)), desc=STAGES.get(stage, stage))

            try:
                s = svc.ingest(saved, report)
            except MianshiError as exc:
                return library_view("\n".join([*lines, f"导入失败 import failed: {exc}"]))
            lines.insert(0, f"导入完成 done: {s.files} files ({s.unchanged} unchanged), {s.records} records in "
                            f"the bank, {s.choice} choice, {s.duplicates_merged} duplicates merged, "
                            f"{s.chunks_embedded} chunks embedded")
            lines += [f"注意 note: no Q&A recognised in {p} — stored as plain text for lookup" for p in s.plain_docs]
            lines += [f"跳过 skipped {k.path}: {k.reason}" for k in s.skipped]
        return library_view("\n".join(lines))

    def on_remove(source):
        if not source:
            return library_view("请先选择要删除的来源 choose a source to remove")
        try:
            n = svc.remove(source)
        except MianshiError as exc:
            return library_view(str(exc))
        return library_view(f"已删除 removed {source} ({n} records touched)")

    ui.do_import.click(on_import, [ui.upload], library_outputs, concurrency_limit=1)
    ui.remove_btn.click(on_remove, [ui.remove_pick], library_outputs, concurrency_limit=1)
    ui.library_tab.select(lambda: library_view(gr.skip()), None, library_outputs)
