"""The Library tab: preview an upload then import or cancel it; list and remove sources (after a confirmation);
browse, filter, edit, delete and review records. On a shared server only admins change the bank, and every
changing handler checks that itself, whatever the page shows."""


from pathlib import Path

from bot.texts import LIBRARY, UI
from bot.web import libview as LV
from bot.web import views as V
from bot.web.layout import Layout, topic_choices
from bot.web.services import Services
from ingest.editing import MAX_ANSWER_CHARS, MAX_QUESTION_CHARS
from ingest.errors import MianshiError


def _paths(files) -> list[str]:
    return [f if isinstance(f, str) else f.name for f in files or []]


def wire(ui: Layout, svc: Services) -> None:
    import gradio as gr

    def admin_or_refuse(request, lc):
        if not svc.can_edit(request):
            raise gr.Error(LIBRARY[lc]["admin_only"], title=UI[lc]["error_title"], print_exception=False)

    def records_view(which, query, lc):
        recs, flagged, edited = svc.bank_records()
        shown = LV.pick_records(recs, flagged, which or "all", query)
        return LV.record_table(shown, flagged, edited, lc), [r.id for r in shown]

    def library_view(log, lc, which="all", query=""):
        srcs = svc.sources()
        table, ids = records_view(which, query, lc)
        return (log, LV.source_table(srcs, lc), gr.update(choices=[s["path"] for s in srcs], value=None),
                gr.update(choices=topic_choices(lc, svc.topics())), table, ids)

    # The interview's topic list follows the bank: an import or removal may add or drop topics.
    library_outputs = [ui.import_log, ui.sources_df, ui.remove_pick, ui.topics, ui.records_df, ui.record_ids]

    # --- upload: preview, then import or cancel ------------------------------------------------
    def on_preview(files, lng, request: gr.Request):
        lc = V.lang_code(lng)
        if not files:
            return gr.update(visible=False), "", None, gr.skip()
        admin_or_refuse(request, lc)
        items: list[dict] = []
        for p in _paths(files):
            name = LV.upload_name(p)
            refusal = V.upload_refusal(Path(p), Path(name).name, svc.ctx.settings.max_file_bytes, lc)
            if refusal:
                items.append({"source": name, "status": "file_skipped", "reason": refusal})
                continue
            try:
                items += [{**i, "source": name} for i in svc.preview([Path(p)])]
            except MianshiError as exc:
                items.append({"source": name, "status": "file_skipped", "reason": str(exc)})
        any_records = any(i["status"] == "record" for i in items)
        note = LV.preview_line(items, lc) if any_records else LIBRARY[lc]["nothing_to_import"]
        return gr.update(visible=True), V.esc(note), LV.preview_table(items, lc), ""

    def on_import(files, lng, which, query, request: gr.Request, progress=gr.Progress()):
        lc = V.lang_code(lng)
        L = LIBRARY[lc]
        admin_or_refuse(request, lc)
        if not files:
            return gr.update(), gr.update(visible=False), *library_view(L["choose_files"], lc, which, query)
        saved, refused = V.save_uploads(_paths(files), svc.ctx.store_dir, svc.ctx.settings.max_file_bytes, lc)
        lines = list(refused)
        if saved:
            def report(stage, done, total):
                progress((done, max(total, 1)), desc=L.get(f"stage_{stage}", stage))

            try:
                s = svc.ingest(saved, report)
            except MianshiError as exc:
                lines.append(L["failed"].format(err=LV.scrub_paths(str(exc))))
            else:
                lines.insert(0, L["done"].format(files=s.files, unchanged=s.unchanged, records=s.records,
                                                 choice=s.choice, dups=s.duplicates_merged, chunks=s.chunks_embedded))
                lines += [L["plain"].format(name=LV.scrub_paths(str(p))) for p in s.plain_docs]
                lines += [L["skipped_file"].format(name=LV.scrub_paths(k.path), reason=LV.scrub_paths(k.reason))
                          for k in s.skipped]
        # The upload box clears, which hides the preview too (its change event sees no files).
        return gr.update(value=None), gr.update(visible=False), *library_view("\n".join(lines), lc, which, query)

    def on_cancel(lng):
        return gr.update(value=None), gr.update(visible=False), LIBRARY[V.lang_code(lng)]["cancelled"]

    ui.upload.change(on_preview, [ui.upload, ui.lang], [ui.preview_box, ui.preview_note, ui.preview_df,
                                                        ui.import_log], concurrency_limit=2)
    ui.do_import.click(on_import, [ui.upload, ui.lang, ui.rec_filter, ui.rec_search], [ui.upload, ui.preview_box, *library_outputs],
                       concurrency_limit=1)
    ui.cancel.click(on_cancel, [ui.lang], [ui.upload, ui.preview_box, ui.import_log])

    # --- sources: remove after a confirmation -------------------------------------------------------
    def on_ask_remove(source, lng, request: gr.Request):
        lc = V.lang_code(lng)
        admin_or_refuse(request, lc)
        if not source:
            return gr.update(visible=False), "", LIBRARY[lc]["pick_source"]
        n = next((s["records"] for s in svc.sources() if s["path"] == source), 0)
        return gr.update(visible=True), V.esc(LIBRARY[lc]["confirm_line"].format(source=source, n=n)), ""

    def on_remove(source, lng, which, query, request: gr.Request):
        lc = V.lang_code(lng)
        admin_or_refuse(request, lc)
        if not source:
            return gr.update(visible=False), *library_view(LIBRARY[lc]["pick_source"], lc, which, query)
        try:
            n = svc.remove(source)
            log = LIBRARY[lc]["removed"].format(source=source, n=n)
        except MianshiError as exc:
            log = LV.scrub_paths(str(exc))
        return gr.update(visible=False), *library_view(log, lc, which, query)

    ui.remove_btn.click(on_ask_remove, [ui.remove_pick, ui.lang], [ui.confirm_row, ui.confirm_text, ui.import_log])
    ui.confirm_btn.click(on_remove, [ui.remove_pick, ui.lang, ui.rec_filter, ui.rec_search],
                         [ui.confirm_row, *library_outputs], concurrency_limit=1)
    ui.keep_btn.click(lambda: gr.update(visible=False), None, [ui.confirm_row])
    ui.remove_pick.change(lambda: gr.update(visible=False), None, [ui.confirm_row])

    def on_tab(lng, which, query):
        return library_view(gr.skip(), V.lang_code(lng), which, query)

    ui.library_tab.select(on_tab, [ui.lang, ui.rec_filter, ui.rec_search], library_outputs)
    ui.lang.change(on_tab, [ui.lang, ui.rec_filter, ui.rec_search], library_outputs)
    _wire_records(ui, svc, records_view, admin_or_refuse)


def _wire_records(ui: Layout, svc: Services, records_view, admin_or_refuse) -> None:
    import gradio as gr

    def on_filter(which, query, lng):
        return records_view(which, query, V.lang_code(lng))

    for ev in (ui.rec_filter.change, ui.rec_search.change):
        # One queue for both, in order: a slow filter result must not land after a newer search's.
        ev(on_filter, [ui.rec_filter, ui.rec_search, ui.lang], [ui.records_df, ui.record_ids],
           show_progress="hidden", concurrency_id="records", concurrency_limit=1, trigger_mode="always_last")

    def show(rid, lc, msg=""):
        rec = svc.record(rid) if rid else None
        if rec is None:
            return (None, LIBRARY[lc]["pick_record"], "", "", gr.update(visible=False), gr.update(visible=False),
                    V.esc(msg))
        flag = svc.flag_of(rid)
        note = (V.esc(LIBRARY[lc]["flag_line"].format(reason=flag.reason or "—", user=flag.flagged_by or "—",
                                                      time=flag.flagged_at[:16].replace("T", " ")))
                if flag else "")
        return (rid, LV.record_markdown(rec, lc), rec.question, LV.answer_source(rec),
                gr.update(visible=flag is not None, value=note), gr.update(visible=flag is not None), V.esc(msg))

    record_outputs = [ui.record_id, ui.record_view, ui.edit_q, ui.edit_a, ui.flag_note, ui.unflag_btn,
                      ui.record_msg]

    def on_pick(ids, lng, evt: gr.SelectData):
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        rid = ids[row] if isinstance(row, int) and 0 <= row < len(ids) else None
        return show(rid, V.lang_code(lng))

    ui.records_df.select(on_pick, [ui.record_ids, ui.lang], record_outputs)

    def changed(fn):
        """A bank change on the shown record, then the record and the list again."""
        def handler(rid, q, a, which, query, lng, request: gr.Request):
            lc = V.lang_code(lng)
            admin_or_refuse(request, lc)
            if not rid or svc.record(rid) is None:
                return *show(None, lc, LIBRARY[lc]["gone"]), *records_view(which, query, lc)
            msg, keep = fn(rid, (q or "").strip(), (a or "").strip(), lc, getattr(request, "username", None) or "")
            return *show(rid if keep else None, lc, msg), *records_view(which, query, lc)
        return handler

    def save(rid, q, a, lc, who):
        L = LIBRARY[lc]
        if not q:
            return L["empty_question"], True
        if len(q) > MAX_QUESTION_CHARS or len(a) > MAX_ANSWER_CHARS:
            return L["too_long"].format(q=MAX_QUESTION_CHARS, a=MAX_ANSWER_CHARS), True
        try:
            svc.edit(rid, q, a, who)
        except MianshiError as exc:
            return LV.scrub_paths(str(exc)), True
        return L["saved"], True

    def delete(rid, q, a, lc, who):
        svc.delete(rid, who)
        return LIBRARY[lc]["deleted"], False

    def unflag(rid, q, a, lc, who):
        svc.unflag(rid)
        return LIBRARY[lc]["unflagged"], True

    inputs = [ui.record_id, ui.edit_q, ui.edit_a, ui.rec_filter, ui.rec_search, ui.lang]
    outputs = [*record_outputs, ui.records_df, ui.record_ids]
    ui.save_btn.click(changed(save), inputs, outputs, concurrency_limit=1, api_name="edit_record")
    # Deleting asks first (as removing a source does): a misclick on the red button must not be final.
    ui.delete_btn.click(lambda: gr.update(visible=True), None, [ui.delete_confirm_row], queue=False)
    ui.delete_keep_btn.click(lambda: gr.update(visible=False), None, [ui.delete_confirm_row], queue=False)
    ui.delete_confirm_btn.click(lambda: gr.update(visible=False), None, [ui.delete_confirm_row], queue=False).then(
        changed(delete), inputs, outputs, concurrency_limit=1, api_name="delete_record")
    ui.record_id.change(lambda: gr.update(visible=False), None, [ui.delete_confirm_row], queue=False)
    ui.unflag_btn.click(changed(unflag), inputs, outputs, concurrency_limit=1, api_name="unflag_record")
