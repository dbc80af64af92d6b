"""The app's components: a header and four tabs. No events here; ``bot.web.handlers`` wires those.

Element ids are the app's interface to the browser tests and to scripts: keep them stable.
"""

from __future__ import annotations

from bot.interview.state import MAX_ANSWER_CHARS
from bot.texts import CHAT, LIBRARY, UI, topic_name
from bot.web import libview as LV
from bot.web import views as V
from bot.web.docmd import LATEX
from bot.web.services import Services, browser_secret
from ingest.read import SUPPORTED_SUFFIXES

LANGS = ["中文", "English"]
# The chat takes the page's height less the header, tabs, answer box and buttons; the answer row stays on screen.
CSS = """
#header { align-items: center; }
#title h2 { margin: 0; }
#llm-badge { font-size: 0.8em; opacity: 0.75; }
#llm-badge p { margin: 0; }
.gradio-container { padding-top: 6px !important; }
#guide p { margin: 0; font-size: 0.9em; opacity: 0.85; }
#interview-chat { height: calc(100vh - 440px) !important; min-height: 320px; }
#ask-chat { height: calc(100vh - 240px) !important; min-height: 360px; }
.score-card { border-left: 4px solid #999; border-radius: 6px; padding: 2px 12px; margin: 2px 0; }
.score-card p { margin: 4px 0 !important; }
.card-hi { border-color: #3c9a3c; background: rgba(92, 184, 92, 0.10); }
.card-mid { border-color: #d08a1e; background: rgba(240, 173, 78, 0.12); }
.card-lo { border-color: #c9302c; background: rgba(217, 83, 79, 0.10); }
details.reference { margin-top: 6px; }
details.reference > summary { cursor: pointer; font-weight: 600; }
.ref-source { font-weight: normal; opacity: 0.75; font-size: 0.9em; }
#choice .wrap { display: flex; flex-direction: column; gap: 6px; }
#choice label { width: 100%; padding: 10px 12px; border: 1px solid var(--border-color-primary);
                border-radius: 8px; cursor: pointer; }
#choice label.selected, #choice label:has(input:checked) { border-color: var(--color-accent);
                                                           background: var(--color-accent-soft); }
#answer-count p { margin: 0; font-size: 0.8em; opacity: 0.7; text-align: right; }
#answer-count.over p { color: #c9302c; opacity: 1; }
#flag-box { border: 1px dashed var(--border-color-primary); border-radius: 8px; padding: 6px; }
/* Column headers are short words: never break them letter by letter. */
#due th, #due th *, #weak th, #weak th * { white-space: nowrap; word-break: keep-all; }
/* Toasts at the bottom: at the top they cover the name box they ask for. */
.toast-wrap { top: auto !important; bottom: var(--size-4) !important; }
"""
# The live character count: only the browser, no server round trip per key.
COUNT_JS = """(t) => { const box = document.querySelector('#answer-count'); const p = box && box.querySelector('p');
  if (p) { const n = (t || '').length; p.textContent = p.textContent.replace(/^\\d+/, String(n));
           box.classList.toggle('over', n >= %d); } return []; }""" % MAX_ANSWER_CHARS


class Layout:
    """The components by name, and the (component, attribute, label key) triples the language toggle switches."""

    def __init__(self) -> None:
        self.relabel: list[tuple[object, str, str]] = []

    def reg(self, comp, key: str, attr: str = "label"):
        self.relabel.append((comp, attr, key))
        return comp


def kinds_choices(lang: str) -> list[tuple[str, str]]:
    return [(UI[lang][f"k_{k}"], k) for k in ("mixed", "open", "choice")]


def mode_choices(lang: str) -> list[tuple[str, str]]:
    return [(UI[lang][f"m_{m}"], m) for m in ("random", "topic", "review")]


def topic_choices(lang: str, topics: list[str]) -> list[tuple[str, str]]:
    return [(topic_name(t, lang), t) for t in topics]


def labels(lang: str) -> dict[str, str]:
    """Every label of the page in one language (the Library's keys beside the rest)."""
    return {**UI[lang], **LIBRARY[lang]}


def build_layout(svc: Services) -> Layout:
    """Create every component; call inside ``gr.Blocks``. Labels start in Chinese."""
    import gradio as gr

    ui = Layout()
    ui.iv_state = gr.State(None)
    # The name and the interview in progress survive a reload; the interview itself stays on the server.
    ui.saved = gr.BrowserState({"user": "", "iv": ""}, storage_key="mianshi-session",
                               secret=browser_secret(svc.ctx.store_dir))
    ui.chat_relabel = []  # (component, attribute, CHAT key): relabelled by the interview handler
    _header(ui, svc)
    with gr.Tabs():
        _interview_tab(ui, svc)
        _ask_tab(ui)
        _progress_tab(ui)
        _library_tab(ui, svc)
    return ui


def _header(ui: Layout, svc: Services) -> None:
    import gradio as gr

    L, reg = UI["zh"], ui.reg
    with gr.Row(equal_height=True, elem_id="header"):
        with gr.Column(scale=1, min_width=360):
            ui.title = reg(gr.Markdown(L["title"], elem_id="title"), "title", "value")
            # Which backend answers, under the title: offline, starting, its label, or why it failed.
            ui.badge = gr.Markdown(V.llm_badge(*svc.engine.roles_status(), "zh"), elem_id="llm-badge")
        if svc.users is None:
            ui.user = reg(gr.Textbox(label=L["user"], placeholder=L["user_ph"], max_length=40, scale=0, min_width=320,
                                     show_label=False, container=False, elem_id="user-name"), "user")
        else:
            # Shared server: the user is who logged in, kept on the server (a State the browser cannot set).
            ui.user = gr.State("")
            with gr.Column(scale=0, min_width=320), gr.Row(equal_height=True, elem_id="signed-in-row"):
                ui.signed_in = gr.Markdown("", elem_id="signed-in")
                ui.logout = reg(gr.Button(L["logout"], link="/logout", size="sm", scale=0, min_width=90,
                                          elem_id="logout"), "logout", "value")
        ui.lang = gr.Radio(LANGS, value=LANGS[0], label="语言 Language", scale=0, min_width=210, show_label=False,
                           container=False, elem_id="lang")


def _interview_tab(ui: Layout, svc: Services) -> None:
    import gradio as gr

    L, reg, C = UI["zh"], ui.reg, CHAT["zh"]

    def creg(comp, key: str, attr: str = "label"):
        ui.chat_relabel.append((comp, attr, key))
        return comp

    with reg(gr.Tab(L["tab_interview"], id="interview", elem_id="tab-interview"), "tab_interview"):
        ui.guide = creg(gr.Markdown(C["guide"], elem_id="guide"), "guide", "value")
        with gr.Row():
            with gr.Column(scale=1, min_width=250):
                ui.topics = reg(gr.Dropdown(topic_choices("zh", svc.topics()), multiselect=True, label=L["topics"], elem_id="topics"),
                                "topics")
                ui.count = reg(gr.Slider(1, 20, value=5, step=1, label=L["count"], elem_id="count"), "count")
                ui.kinds = reg(gr.Dropdown(kinds_choices("zh"), value="mixed", label=L["kinds"], elem_id="kinds"),
                               "kinds")
                ui.mode = reg(gr.Dropdown(mode_choices("zh"), value="random", label=L["mode"], elem_id="mode"),
                              "mode")
                ui.start = reg(gr.Button(L["start"], variant="primary", elem_id="start"), "start", "value")
                # The summary chart sits under the setup, beside the chat, so it shows without scrolling.
                ui.summary_plot = reg(gr.Plot(label=L["summary_plot"], visible=False, elem_id="summary-plot"),
                                      "summary_plot")
            with gr.Column(scale=3):
                ui.chat = reg(gr.Chatbot(label=L["chat"], elem_id="interview-chat", sanitize_html=True, autoscroll=True,
                                         latex_delimiters=LATEX, feedback_options=None, buttons=["copy"],
                                         group_consecutive_messages=False, placeholder=C["guide"]), "chat")
                ui.choice = reg(gr.CheckboxGroup([], label=L["options"], visible=False, elem_id="choice"), "options")
                # Live only during an interview: before Start there is nothing to answer.
                ui.answer = reg(gr.Textbox(label=L["answer"], placeholder=L["answer_ph"], lines=2, max_lines=8,
                                           max_length=MAX_ANSWER_CHARS, interactive=False, elem_id="answer"), "answer")
                ui.counter = creg(gr.Markdown(C["counter"].format(n=0, max=MAX_ANSWER_CHARS), elem_id="answer-count"),
                                  "counter", "value")
                with gr.Row():
                    ui.submit = reg(gr.Button(L["submit"], variant="primary", interactive=False, min_width=80, elem_id="submit"),
                                    "submit", "value")
                    ui.hint = reg(gr.Button(L["hint"], interactive=False, min_width=70, elem_id="hint"), "hint", "value")
                    ui.skip = reg(gr.Button(L["skip"], interactive=False, min_width=100, elem_id="skip"), "skip", "value")
                    ui.end = reg(gr.Button(L["end"], variant="stop", interactive=False, min_width=70, elem_id="end"), "end", "value")
                    ui.flag = creg(gr.Button(C["flag"], size="sm", interactive=False, elem_id="flag"), "flag", "value")
                with gr.Column(visible=False, elem_id="flag-box") as box:
                    ui.flag_box = box
                    ui.flag_pick = creg(gr.Radio([], label=C["flag_pick"], elem_id="flag-pick"), "flag_pick")
                    ui.flag_reason = creg(gr.Textbox(label=C["flag_reason"], placeholder=C["flag_reason_ph"],
                                                     max_length=500, elem_id="flag-reason"), "flag_reason")
                    with gr.Row():
                        ui.flag_send = creg(gr.Button(C["flag_send"], variant="primary", size="sm",
                                                      elem_id="flag-send"), "flag_send", "value")
                        ui.flag_cancel = creg(gr.Button(C["flag_cancel"], size="sm", elem_id="flag-cancel"),
                                              "flag_cancel", "value")


def _ask_tab(ui: Layout) -> None:
    import gradio as gr

    L, reg = UI["zh"], ui.reg
    with reg(gr.Tab(L["tab_ask"], id="ask", elem_id="tab-ask"), "tab_ask"):
        ui.ask_chat = reg(gr.Chatbot(label=L["ask_chat"], elem_id="ask-chat", sanitize_html=True,
                                     latex_delimiters=LATEX, feedback_options=None, buttons=["copy"],
                                     group_consecutive_messages=False), "ask_chat")
        with gr.Row():
            ui.ask_box = reg(gr.Textbox(label=L["ask_box"], placeholder=L["ask_ph"], scale=5, elem_id="ask-box"),
                             "ask_box")
            ui.ask_btn = reg(gr.Button(L["ask_btn"], variant="primary", scale=1, elem_id="ask-btn"), "ask_btn",
                             "value")


def _progress_tab(ui: Layout) -> None:
    import gradio as gr

    L, reg = UI["zh"], ui.reg
    with reg(gr.Tab(L["tab_progress"], id="progress", elem_id="tab-progress"), "tab_progress") as tab:
        ui.progress_tab = tab
        with gr.Row():
            ui.refresh = reg(gr.Button(L["refresh"], elem_id="refresh"), "refresh", "value")
            ui.export_csv = reg(gr.Button(L["export_csv"], elem_id="export-csv"), "export_csv", "value")
            ui.export_anki = reg(gr.Button(L["export_anki"], elem_id="export-anki"), "export_anki", "value")
        with gr.Row():
            # min_width: on a phone the pair stacks instead of squeezing two tables into 180 px each.
            ui.trend_plot = reg(gr.Plot(label=L["trend"], elem_id="trend-plot", min_width=320), "trend")
            ui.topic_plot = reg(gr.Plot(label=L["topic_plot"], elem_id="topic-plot", min_width=320), "topic_plot")
        with gr.Row():
            ui.due_df = reg(gr.Dataframe(headers=V.stat_cols("zh", due=True), datatype="str", label=L["due"],
                                         interactive=False, wrap=True, max_height=300, elem_id="due", min_width=320,
                                         column_widths=["26%", "17%", "21%", "13%", "23%"]), "due")
            ui.weak_df = reg(gr.Dataframe(headers=V.stat_cols("zh", due=False), datatype="str", label=L["weak"],
                                          interactive=False, wrap=True, max_height=300, elem_id="weak", min_width=320,
                                          column_widths=["40%", "18%", "24%", "18%"]), "weak")
        ui.download = reg(gr.File(label=L["download"], interactive=False, visible=False, elem_id="download"),
                          "download")


def _library_tab(ui: Layout, svc: Services) -> None:
    import gradio as gr

    L, reg = LIBRARY["zh"], ui.reg
    admin = svc.users is None  # on a shared server the admin controls appear after an admin's page loads
    with reg(gr.Tab(UI["zh"]["tab_library"], id="library", elem_id="tab-library"), "tab_library") as tab:
        ui.library_tab = tab
        ui.admin_boxes = []
        with gr.Row():
            with gr.Column(scale=2, min_width=300, visible=admin) as upload_box:
                ui.upload = reg(gr.File(label=L["upload"], file_count="multiple",
                                        file_types=list(SUPPORTED_SUFFIXES), elem_id="upload"), "upload")
                ui.import_log = reg(gr.Textbox(label=L["import_log"], lines=3, interactive=False,
                                               elem_id="import-log"), "import_log")
            with gr.Column(scale=3, min_width=300):
                sources = svc.sources()
                ui.sources_df = reg(gr.Dataframe(value=LV.source_table(sources, "zh"), datatype="str",
                                                 label=L["sources"], interactive=False, wrap=True, max_height=260,
                                                 elem_id="sources"), "sources")
                with gr.Row(visible=admin) as remove_box:
                    ui.remove_pick = reg(gr.Dropdown([s["path"] for s in sources], label=L["remove_pick"], scale=3,
                                                     elem_id="remove-pick"), "remove_pick")
                    ui.remove_btn = reg(gr.Button(L["remove"], variant="stop", scale=1, elem_id="remove"), "remove",
                                        "value")
                with gr.Row(visible=False, elem_id="confirm-row") as ui.confirm_row:
                    ui.confirm_text = gr.Markdown("", elem_id="confirm-text")
                    ui.confirm_btn = reg(gr.Button(L["confirm_remove"], variant="stop", scale=0, min_width=110,
                                                   elem_id="confirm-remove"), "confirm_remove", "value")
                    ui.keep_btn = reg(gr.Button(L["keep"], scale=0, min_width=80, elem_id="keep"), "keep", "value")
        with gr.Column(visible=False, elem_id="preview-box") as ui.preview_box:
            ui.preview_note = gr.Markdown("", elem_id="preview-note")
            ui.preview_df = reg(gr.Dataframe(datatype="str", label=L["preview"], interactive=False, wrap=True,
                                             max_height=320, column_widths=["17%", "8%", "25%", "30%", "10%", "10%"],
                                             elem_id="preview"), "preview")
            with gr.Row():
                ui.do_import = reg(gr.Button(L["import"], variant="primary", elem_id="import"), "import", "value")
                ui.cancel = reg(gr.Button(L["cancel"], elem_id="cancel"), "cancel", "value")
        _records(ui, admin)
        ui.admin_boxes += [upload_box, remove_box, ui.editor]


def _records(ui: Layout, admin: bool) -> None:
    import gradio as gr

    L, reg = LIBRARY["zh"], ui.reg
    ui.record_ids = gr.State([])  # the ids behind the rows of the records table, in order
    ui.record_id = gr.State(None)
    with gr.Row(equal_height=True):
        ui.rec_filter = reg(gr.Radio(LV.choices("zh", LV.FILTERS, "f_"), value="all", label=L["filter"], scale=2,
                                     elem_id="rec-filter"), "filter")
        ui.rec_search = reg(gr.Textbox(label=L["search"], placeholder=L["search_ph"], scale=3,
                                       elem_id="rec-search"), "search")
    ui.records_df = reg(gr.Dataframe(datatype="str", label=L["records"], interactive=False, wrap=True,
                                     max_height=300, column_widths=["66%", "20%", "14%"],
                                     elem_id="records"), "records")
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            ui.record_view = reg(gr.Markdown(L["pick_record"], latex_delimiters=LATEX, label=L["view"],
                                             show_label=True, container=True, elem_id="record-view"), "view")
            ui.record_msg = gr.Markdown("", elem_id="record-msg")
        with gr.Column(scale=1, min_width=300, visible=admin) as ui.editor:
            ui.flag_note = gr.Markdown("", visible=False, elem_id="flag-note")
            ui.edit_q = reg(gr.Textbox(label=L["edit_question"], lines=1, max_lines=4, elem_id="edit-question"),
                            "edit_question")
            ui.edit_a = reg(gr.Textbox(label=L["edit_answer"], lines=6, max_lines=16, elem_id="edit-answer"),
                            "edit_answer")
            with gr.Row():
                ui.save_btn = reg(gr.Button(L["save"], variant="primary", elem_id="save-edit"), "save", "value")
                ui.unflag_btn = reg(gr.Button(L["unflag"], visible=False, elem_id="unflag"), "unflag", "value")
                ui.delete_btn = reg(gr.Button(L["delete"], variant="stop", elem_id="delete-record"), "delete",
                                    "value")
            with gr.Row(visible=False, elem_id="confirm-delete-row") as ui.delete_confirm_row:
                ui.delete_confirm_text = reg(gr.Markdown(L["confirm_delete_line"], elem_id="confirm-delete-text"),
                                             "confirm_delete_line", "value")
                ui.delete_confirm_btn = reg(gr.Button(L["confirm_delete"], variant="stop", scale=0, min_width=110,
                                                      elem_id="confirm-delete"), "confirm_delete", "value")
                ui.delete_keep_btn = reg(gr.Button(L["keep"], scale=0, min_width=80, elem_id="keep-record"), "keep",
                                         "value")
