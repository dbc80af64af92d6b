"""The Gradio app: 面试 Interview, 查询 Ask, 进度 Progress, 题库 Library.

Only wiring lives here: each event calls one function of ``bot.interview.engine``,
``bot.interview.history``, ``bot.lookup.ask`` or ``ingest.pipeline`` and renders the result
with ``bot.web.views``. Interview state sits in ``gr.State`` so every browser
session has its own; history is keyed by the user name typed in the header.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from bot.context import Context

LANGS = ["中文", "English"]
# Keep the whole interview (chat, answer box, buttons) inside a 1366×768 laptop screen.
CSS = """
#header { align-items: center; }
#title h2 { margin: 0; }
#llm-badge { font-size: 0.8em; opacity: 0.75; }
#llm-badge p { margin: 0; }
.gradio-container { padding-top: 6px !important; }
"""


class Services:
    """The library objects one server shares between sessions, built lazily so the page comes up fast."""

    def __init__(self, ctx: Context) -> None:
        from bot.interview.history import History
        from bot.interview.engine import InterviewEngine

        self.ctx = ctx
        self.history = History(ctx.store_dir)
        # Reading ctx.llm_roles builds the backend (``local`` starts a model server), so the engine gets a
        # factory: it runs on a warm-up thread at launch, or on first use, never while serving the first page.
        self.llm_on = (ctx.settings.llm or "none").strip().lower() != "none"
        self.engine = InterviewEngine(ctx.store, history=self.history, grader_factory=self._make_grader,
                                      roles_factory=(lambda: ctx.llm_roles) if self.llm_on else None)
        self.write_lock = threading.Lock()  # one ingest or removal at a time: SQLite has one writer
        self._cal = None

    def _make_grader(self):
        from bot.grading.grader import Grader

        # The bank's other answers are the contrast set: the main model can then tell a right answer
        # to a different question from a right answer to this one.
        return Grader(self.ctx.embedder, self.ctx.tokenizer, contrast=self.ctx.store)

    def ask(self, query: str):
        from bot.lookup.ask import ask, load_calibration

        if self._cal is None:
            self._cal = load_calibration(self.ctx.embedder.name)
        return ask(self.ctx.retriever, query, self._cal)

    def topics(self) -> list[str]:
        from ingest.topics import all_topics

        present = {t for r in self.engine.pool() for t in r.topics}
        return [t for t in all_topics() if t in present]

    def ingest(self, files: dict[Path, str], progress):
        from ingest.pipeline import ingest_paths

        s = self.ctx.settings
        with self.write_lock:
            return ingest_paths(list(files), self.ctx.store, self.ctx.tokenizer, max_bytes=s.max_file_bytes,
                                chunk_chars=s.chunk_chars, chunk_overlap=s.chunk_overlap, progress=progress,
                                sources=files)

    def remove(self, source: str) -> int:
        from ingest.pipeline import Ingestor
        from ingest.schema import IngestSummary

        with self.write_lock:
            ing = Ingestor(self.ctx.store, self.ctx.tokenizer, max_bytes=self.ctx.settings.max_file_bytes)
            n = ing.remove_source(source)
            ing.sync_vectors(IngestSummary())
        return n


def build_app(ctx: Context):
    import gradio as gr

    from bot.web import views as V
    from bot.grading.schema import WEAK_SCORE
    from bot.interview.history import normalize_user
    from bot.interview.engine import InterviewConfig
    from ingest.errors import MianshiError

    svc = Services(ctx)
    L = V.LABELS["zh"]
    relabel: list[tuple[object, str, str]] = []  # (component, attribute, label key) switched by the language toggle

    def reg(comp, key: str, attr: str = "label"):
        relabel.append((comp, attr, key))
        return comp

    def kinds_choices(lang):
        return [(V.LABELS[lang][f"k_{k}"], k) for k in ("mixed", "open", "choice")]

    def mode_choices(lang):
        return [(V.LABELS[lang][f"m_{m}"], m) for m in ("random", "topic", "review")]

    with gr.Blocks(title="面试 Mianshi", analytics_enabled=False) as demo:
        demo.mianshi_services = svc  # tests and launch() reach the history through the app
        iv_state = gr.State(None)
        with gr.Row(equal_height=True, elem_id="header"):
            with gr.Column(scale=1, min_width=360):
                title = reg(gr.Markdown(L["title"], elem_id="title"), "title", "value")
                # Which backend answers, under the title: offline, starting, its label, or why it failed.
                badge = gr.Markdown(V.llm_badge(*svc.engine.roles_status(), "zh"), elem_id="llm-badge")
            user = reg(gr.Textbox(label=L["user"], placeholder=L["user_ph"], max_length=40, scale=0, min_width=320,
                                  show_label=False, container=False, elem_id="user-name"), "user")
            lang = gr.Radio(LANGS, value=LANGS[0], label="语言 Language", scale=0, min_width=210, show_label=False,
                            container=False, elem_id="lang")

        with gr.Tabs():
            with reg(gr.Tab(L["tab_interview"], id="interview", elem_id="tab-interview"), "tab_interview"):
                with gr.Row():
                    with gr.Column(scale=1, min_width=250):
                        topics = reg(gr.Dropdown(svc.topics(), multiselect=True, label=L["topics"],
                                                 elem_id="topics"), "topics")
                        count = reg(gr.Slider(1, 20, value=5, step=1, label=L["count"], elem_id="count"), "count")
                        kinds = reg(gr.Dropdown(kinds_choices("zh"), value="mixed", label=L["kinds"],
                                                elem_id="kinds"), "kinds")
                        mode = reg(gr.Dropdown(mode_choices("zh"), value="random", label=L["mode"], elem_id="mode"),
                                   "mode")
                        start = reg(gr.Button(L["start"], variant="primary", elem_id="start"), "start", "value")
                        # The summary chart sits under the setup, beside the chat, so it shows without scrolling.
                        summary_plot = reg(gr.Plot(label=L["summary_plot"], visible=False, elem_id="summary-plot"),
                                           "summary_plot")
                    with gr.Column(scale=3):
                        chat = reg(gr.Chatbot(label=L["chat"], height=390, elem_id="interview-chat",
                                              sanitize_html=True, latex_delimiters=[], feedback_options=None,
                                              buttons=["copy"]), "chat")
                        choice = reg(gr.CheckboxGroup([], label=L["options"], visible=False, elem_id="choice"),
                                     "options")
                        answer = reg(gr.Textbox(label=L["answer"], placeholder=L["answer_ph"], lines=2, max_lines=8,
                                                elem_id="answer"), "answer")
                        with gr.Row():
                            submit = reg(gr.Button(L["submit"], variant="primary", elem_id="submit"), "submit", "value")
                            hint = reg(gr.Button(L["hint"], elem_id="hint"), "hint", "value")
                            skip = reg(gr.Button(L["skip"], elem_id="skip"), "skip", "value")
                            end = reg(gr.Button(L["end"], variant="stop", elem_id="end"), "end", "value")

            with reg(gr.Tab(L["tab_ask"], id="ask", elem_id="tab-ask"), "tab_ask"):
                ask_chat = reg(gr.Chatbot(label=L["ask_chat"], height=430, elem_id="ask-chat", sanitize_html=True,
                                          latex_delimiters=[], feedback_options=None, buttons=["copy"]), "ask_chat")
                with gr.Row():
                    ask_box = reg(gr.Textbox(label=L["ask_box"], placeholder=L["ask_ph"], scale=5,
                                             elem_id="ask-box"), "ask_box")
                    ask_btn = reg(gr.Button(L["ask_btn"], variant="primary", scale=1, elem_id="ask-btn"), "ask_btn",
                                  "value")

            with reg(gr.Tab(L["tab_progress"], id="progress", elem_id="tab-progress"), "tab_progress") as progress_tab:
                with gr.Row():
                    refresh = reg(gr.Button(L["refresh"], elem_id="refresh"), "refresh", "value")
                    export_csv = reg(gr.Button(L["export_csv"], elem_id="export-csv"), "export_csv", "value")
                    export_anki = reg(gr.Button(L["export_anki"], elem_id="export-anki"), "export_anki", "value")
                with gr.Row():
                    trend_plot = reg(gr.Plot(label=L["trend"], elem_id="trend-plot"), "trend")
                    topic_plot = reg(gr.Plot(label=L["topic_plot"], elem_id="topic-plot"), "topic_plot")
                with gr.Row():
                    due_df = reg(gr.Dataframe(headers=_cols(L, due=True), datatype="str", label=L["due"],
                                              interactive=False, wrap=True, max_height=300, elem_id="due"), "due")
                    weak_df = reg(gr.Dataframe(headers=_cols(L, due=False), datatype="str", label=L["weak"],
                                               interactive=False, wrap=True, max_height=300, elem_id="weak"), "weak")
                download = reg(gr.File(label=L["download"], interactive=False, visible=False, elem_id="download"),
                               "download")

            with reg(gr.Tab(L["tab_library"], id="library", elem_id="tab-library"), "tab_library") as library_tab:
                with gr.Row():
                    with gr.Column(scale=2):
                        upload = reg(gr.File(label=L["upload"], file_count="multiple",
                                             file_types=[".txt", ".md", ".html", ".htm"], elem_id="upload"), "upload")
                        do_import = reg(gr.Button(L["import"], variant="primary", elem_id="import"), "import", "value")
                        import_log = reg(gr.Textbox(label=L["import_log"], lines=4, interactive=False,
                                                    elem_id="import-log"), "import_log")
                    with gr.Column(scale=3):
                        sources_df = reg(gr.Dataframe(
                            value=V.source_rows(ctx.store.sources()), headers=_src_cols(L), datatype="str",
                            label=L["sources"], interactive=False, wrap=True, max_height=330, elem_id="sources"),
                            "sources")
                        with gr.Row():
                            remove_pick = reg(gr.Dropdown([s["path"] for s in ctx.store.sources()],
                                                          label=L["remove_pick"], scale=3, elem_id="remove-pick"),
                                              "remove_pick")
                            remove_btn = reg(gr.Button(L["remove"], variant="stop", scale=1, elem_id="remove"),
                                             "remove", "value")

        # --- interview ---------------------------------------------------------------------
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

        iv_outputs = [iv_state, chat, answer, choice, summary_plot]

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
                    raise gr.Error("请先点「开始面试」 press Start interview first", print_exception=False)
                return view(fn(iv, *args))
            return handler

        def on_submit(iv, text, picked):
            if iv is not None and iv.current is not None and iv.current.kind == "choice" and iv.phase == "question":
                return svc.engine.submit(iv, picked or [])
            return svc.engine.submit(iv, text or "")

        def on_submit_llm(iv, text, picked):
            """Like ``step(on_submit)``, with the LLM's feedback streamed into the chat: partial updates change
            only the chat; the last one is the final state, exactly what ``on_submit`` would show."""
            if iv is None:
                raise gr.Error("请先点「开始面试」 press Start interview first", print_exception=False)
            if iv.current is not None and iv.current.kind == "choice" and iv.phase == "question":
                events = svc.engine.submit_stream(iv, picked or [])
            else:
                events = svc.engine.submit_stream(iv, text or "")
            for final, cur in events:
                if final:
                    yield view(cur)
                else:
                    yield gr.skip(), V.chat_messages(cur), gr.skip(), gr.skip(), gr.skip()

        # Offline the handler stays the plain function it always was; with an LLM the feedback streams.
        submit_fn = on_submit_llm if svc.llm_on else step(on_submit)
        # Stable API names (not Gradio's handler_N) so scripts and the load test can drive an interview over HTTP.
        start.click(on_start, [user, topics, count, kinds, mode, lang], iv_outputs, api_name="start")
        submit.click(submit_fn, [iv_state, answer, choice], iv_outputs, concurrency_limit=2, api_name="submit")
        answer.submit(submit_fn, [iv_state, answer, choice], iv_outputs, concurrency_limit=2,
                      api_name="submit_enter")
        skip.click(step(svc.engine.skip), [iv_state], iv_outputs, api_name="skip")
        hint.click(step(svc.engine.hint), [iv_state], iv_outputs, api_name="hint")
        end.click(step(svc.engine.end), [iv_state], iv_outputs, api_name="end")

        # --- ask ---------------------------------------------------------------------------
        def on_ask(query, msgs, lng):
            msgs = list(msgs or [])
            if not query or not query.strip():
                return msgs, query
            lc = V.lang_code(lng)
            msgs.append({"role": "user", "content": V.esc(query.strip())})
            try:
                msgs.append({"role": "assistant", "content": V.ask_reply(svc.ask(query), lc)})
            except Exception as exc:  # the model or store failed: say so in the chat, keep the conversation
                msgs.append({"role": "assistant", "content": V.esc(f"查询出错 lookup failed: {type(exc).__name__}: {exc}")})
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
                msgs.append({"role": "assistant", "content": V.esc(f"查询出错 lookup failed: {type(exc).__name__}: {exc}")})
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
        ask_btn.click(ask_fn, [ask_box, ask_chat, lang], [ask_chat, ask_box], api_name="ask")
        ask_box.submit(ask_fn, [ask_box, ask_chat, lang], [ask_chat, ask_box], api_name="ask_enter")

        # --- LLM badge ---------------------------------------------------------------------
        def on_badge(lng):
            return V.llm_badge(*svc.engine.roles_status(), V.lang_code(lng))

        lang.change(on_badge, [lang], [badge], api_name="llm_badge")
        if svc.llm_on:
            # Poll while the backend starts, then stop: the badge turns from "starting" to its label or error.
            timer = gr.Timer(2.0, active=True)

            def on_tick(lng):
                state = svc.engine.roles_status()[0]
                return on_badge(lng), gr.Timer(active=state == "starting")

            timer.tick(on_tick, [lang], [badge, timer], show_progress="hidden")
            demo.load(on_badge, [lang], [badge])

        # --- progress ----------------------------------------------------------------------
        def on_refresh(name, lng):
            lc = V.lang_code(lng)
            try:
                who = normalize_user(name)
            except MianshiError:
                return None, None, [], []
            h = svc.history
            return (V.trend_figure(h.trend(who), lc), V.topic_figure(h.topic_strength(who), lc),
                    V.stat_rows(h.due(who), due=True), V.stat_rows(h.weakest(who, max_score=WEAK_SCORE), due=False))

        progress_outputs = [trend_plot, topic_plot, due_df, weak_df]
        refresh.click(on_refresh, [user, lang], progress_outputs)
        progress_tab.select(on_refresh, [user, lang], progress_outputs)

        def on_export(kind):
            def handler(name):
                try:
                    who = normalize_user(name)
                except MianshiError as exc:
                    raise gr.Error(str(exc), print_exception=False) from None
                out = Path(tempfile.mkdtemp(prefix="mianshi-export-"))
                if kind == "csv":
                    path = svc.history.export_csv(who, out / "mianshi_history.csv")
                else:
                    path, n = svc.history.export_apkg(who, out / "mianshi_review.apkg")
                    if n == 0:
                        gr.Info("没有得分 ≤ 2 的题目，牌组为空 no badly answered questions yet: the deck is empty")
                return gr.update(value=str(path), visible=True)
            return handler

        export_csv.click(on_export("csv"), [user], [download], api_name="export_csv")
        export_anki.click(on_export("anki"), [user], [download], api_name="export_anki")

        # --- library -----------------------------------------------------------------------
        def library_view(log: str):
            srcs = ctx.store.sources()
            return (log, V.source_rows(srcs), gr.update(choices=[s["path"] for s in srcs], value=None),
                    gr.update(choices=svc.topics()))

        library_outputs = [import_log, sources_df, remove_pick, topics]

        def on_import(files, progress=gr.Progress()):
            if not files:
                return library_view("请先选择文件 choose files to upload first")
            paths = [f if isinstance(f, str) else f.name for f in files]
            max_bytes = ctx.settings.max_file_bytes
            saved, refused = V.save_uploads(paths, ctx.store_dir, max_bytes)
            lines = [f"跳过 skipped {r}" for r in refused]
            if saved:
                stages = {"read": "读取解析 reading", "embed": "向量化 embedding"}

                def report(stage, done, total):
                    progress((done, max(total, 1)), desc=stages.get(stage, stage))

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

        do_import.click(on_import, [upload], library_outputs, concurrency_limit=1)
        remove_btn.click(on_remove, [remove_pick], library_outputs, concurrency_limit=1)
        library_tab.select(lambda: library_view(gr.skip()), None, library_outputs)

        # --- language ----------------------------------------------------------------------
        def on_lang(lng):
            lc = V.lang_code(lng)
            T = V.LABELS[lc]
            ups = []
            for comp, attr, key in relabel:
                kw = {attr: T[key]}
                if comp is kinds:
                    kw["choices"] = kinds_choices(lc)
                elif comp is mode:
                    kw["choices"] = mode_choices(lc)
                elif comp is user or comp is ask_box or comp is answer:
                    kw["placeholder"] = T[{user: "user_ph", ask_box: "ask_ph", answer: "answer_ph"}[comp]]
                elif comp is due_df or comp is weak_df:
                    kw["headers"] = _cols(T, due=comp is due_df)
                elif comp is sources_df:
                    kw["headers"] = _src_cols(T)
                ups.append(gr.update(**kw))
            return ups

        lang.change(on_lang, [lang], [c for c, _, _ in relabel])
        del title
    return demo


def _cols(T: dict, *, due: bool) -> list[str]:
    cols = [T["col_question"], T["col_avg"], T["col_last"], T["col_times"]]
    return cols + [T["col_due"]] if due else cols


def _src_cols(T: dict) -> list[str]:
    return [T["col_source"], T["col_records"], T["col_time"]]


def launch(ctx: Context, host: str = "127.0.0.1", port: int = 7860, *, block: bool = True):
    """Serve the app. ``block=False`` returns the running Blocks (tests stop it with ``.close()``)."""
    demo = build_app(ctx)
    demo.queue(default_concurrency_limit=4)
    demo.mianshi_services.engine.warm_roles()  # a local model server starts beside, not before, the first page
    demo.launch(server_name=host, server_port=port, share=False, inbrowser=False, quiet=True,
                footer_links=[], css=CSS, max_file_size=f"{ctx.settings.max_file_mb:g}mb", prevent_thread_lock=not block)
    return demo
