"""The app's components: a header and four tabs. No events here; ``bot.web.handlers`` wires those.

Element ids are the app's interface to the browser tests and to scripts: keep them stable.
"""

from __future__ import annotations

from bot.web import views as V
from bot.web.services import Services

LANGS = ["中文", "English"]
# Keep the whole interview (chat, answer box, buttons) inside a 1366×768 laptop screen.
CSS = """
#header { align-items: center; }
#title h2 { margin: 0; }
#llm-badge { font-size: 0.8em; opacity: 0.75; }
#llm-badge p { margin: 0; }
.gradio-container { padding-top: 6px !important; }
"""


class Layout:
    """The components by name, and the (component, attribute, label key) triples the language toggle switches."""

    def __init__(self) -> None:
        self.relabel: list[tuple[object, str, str]] = []

    def reg(self, comp, key: str, attr: str = "label"):
        self.relabel.append((comp, attr, key))
        return comp


def kinds_choices(lang: str) -> list[tuple[str, str]]:
    return [(V.LABELS[lang][f"k_{k}"], k) for k in ("mixed", "open", "choice")]


def mode_choices(lang: str) -> list[tuple[str, str]]:
    return [(V.LABELS[lang][f"m_{m}"], m) for m in ("random", "topic", "review")]


def stat_cols(T: dict, *, due: bool) -> list[str]:
    cols = [T["col_question"], T["col_avg"], T["col_last"], T["col_times"]]
    return cols + [T["col_due"]] if due else cols


def source_cols(T: dict) -> list[str]:
    return [T["col_source"], T["col_records"], T["col_time"]]


def build_layout(svc: Services) -> Layout:
    """Create every component; call inside ``gr.Blocks``. Labels start in Chinese."""
    import gradio as gr

    ui = Layout()
    ui.iv_state = gr.State(None)
    _header(ui, svc)
    with gr.Tabs():
        _interview_tab(ui, svc)
        _ask_tab(ui)
        _progress_tab(ui)
        _library_tab(ui, svc)
    return ui


def _header(ui: Layout, svc: Services) -> None:
    import gradio as gr

    L, reg = V.LABELS["zh"], ui.reg
    with gr.Row(equal_height=True, elem_id="header"):
        with gr.Column(scale=1, min_width=360):
            ui.title = reg(gr.Markdown(L["title"], elem_id="title"), "title", "value")
            # Which backend answers, under the title: offline, starting, its label, or why it failed.
            ui.badge = gr.Markdown(V.llm_badge(*svc.engine.roles_status(), "zh"), elem_id="llm-badge")
        ui.user = reg(gr.Textbox(label=L["user"], placeholder=L["user_ph"], max_length=40, scale=0, min_width=320,
                                 show_label=False, container=False, elem_id="user-name"), "user")
        ui.lang = gr.Radio(LANGS, value=LANGS[0], label="语言 Language", scale=0, min_width=210, show_label=False,
                           container=False, elem_id="lang")


def _interview_tab(ui: Layout, svc: Services) -> None:
    import gradio as gr

    L, reg = V.LABELS["zh"], ui.reg
    with reg(gr.Tab(L["tab_interview"], id="interview", elem_id="tab-interview"), "tab_interview"):
        with gr.Row():
            with gr.Column(scale=1, min_width=250):
                ui.topics = reg(gr.Dropdown(svc.topics(), multiselect=True, label=L["topics"], elem_id="topics"),
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
                ui.chat = reg(gr.Chatbot(label=L["chat"], height=390, elem_id="interview-chat", sanitize_html=True,
                                         latex_delimiters=[], feedback_options=None, buttons=["copy"]), "chat")
                ui.choice = reg(gr.CheckboxGroup([], label=L["options"], visible=False, elem_id="choice"), "options")
                ui.answer = reg(gr.Textbox(label=L["answer"], placeholder=L["answer_ph"], lines=2, max_lines=8,
                                           elem_id="answer"), "answer")
                with gr.Row():
                    ui.submit = reg(gr.Button(L["submit"], variant="primary", elem_id="submit"), "submit", "value")
                    ui.hint = reg(gr.Button(L["hint"], elem_id="hint"), "hint", "value")
                    ui.skip = reg(gr.Button(L["skip"], elem_id="skip"), "skip", "value")
                    ui.end = reg(gr.Button(L["end"], variant="stop", elem_id="end"), "end", "value")


def _ask_tab(ui: Layout) -> None:
    import gradio as gr

    L, reg = V.LABELS["zh"], ui.reg
    with reg(gr.Tab(L["tab_ask"], id="ask", elem_id="tab-ask"), "tab_ask"):
        ui.ask_chat = reg(gr.Chatbot(label=L["ask_chat"], height=430, elem_id="ask-chat", sanitize_html=True,
                                     latex_delimiters=[], feedback_options=None, buttons=["copy"]), "ask_chat")
        with gr.Row():
            ui.ask_box = reg(gr.Textbox(label=L["ask_box"], placeholder=L["ask_ph"], scale=5, elem_id="ask-box"),
                             "ask_box")
            ui.ask_btn = reg(gr.Button(L["ask_btn"], variant="primary", scale=1, elem_id="ask-btn"), "ask_btn",
                             "value")


def _progress_tab(ui: Layout) -> None:
    import gradio as gr

    L, reg = V.LABELS["zh"], ui.reg
    with reg(gr.Tab(L["tab_progress"], id="progress", elem_id="tab-progress"), "tab_progress") as tab:
        ui.progress_tab = tab
        with gr.Row():
            ui.refresh = reg(gr.Button(L["refresh"], elem_id="refresh"), "refresh", "value")
            ui.export_csv = reg(gr.Button(L["export_csv"], elem_id="export-csv"), "export_csv", "value")
            ui.export_anki = reg(gr.Button(L["export_anki"], elem_id="export-anki"), "export_anki", "value")
        with gr.Row():
            ui.trend_plot = reg(gr.Plot(label=L["trend"], elem_id="trend-plot"), "trend")
            ui.topic_plot = reg(gr.Plot(label=L["topic_plot"], elem_id="topic-plot"), "topic_plot")
        with gr.Row():
            ui.due_df = reg(gr.Dataframe(headers=stat_cols(L, due=True), datatype="str", label=L["due"],
                                         interactive=False, wrap=True, max_height=300, elem_id="due"), "due")
            ui.weak_df = reg(gr.Dataframe(headers=stat_cols(L, due=False), datatype="str", label=L["weak"],
                                          interactive=False, wrap=True, max_height=300, elem_id="weak"), "weak")
        ui.download = reg(gr.File(label=L["download"], interactive=False, visible=False, elem_id="download"),
                          "download")


def _library_tab(ui: Layout, svc: Services) -> None:
    import gradio as gr

    L, reg = V.LABELS["zh"], ui.reg
    with reg(gr.Tab(L["tab_library"], id="library", elem_id="tab-library"), "tab_library") as tab:
        ui.library_tab = tab
        with gr.Row():
            with gr.Column(scale=2):
                ui.upload = reg(gr.File(label=L["upload"], file_count="multiple",
                                        file_types=[".txt", ".md", ".html", ".htm"], elem_id="upload"), "upload")
                ui.do_import = reg(gr.Button(L["import"], variant="primary", elem_id="import"), "import", "value")
                ui.import_log = reg(gr.Textbox(label=L["import_log"], lines=4, interactive=False,
                                               elem_id="import-log"), "import_log")
            with gr.Column(scale=3):
                sources = svc.sources()
                ui.sources_df = reg(gr.Dataframe(value=V.source_rows(sources), headers=source_cols(L),
                                                 datatype="str", label=L["sources"], interactive=False, wrap=True,
                                                 max_height=330, elem_id="sources"), "sources")
                with gr.Row():
                    ui.remove_pick = reg(gr.Dropdown([s["path"] for s in sources], label=L["remove_pick"], scale=3,
                                                     elem_id="remove-pick"), "remove_pick")
                    ui.remove_btn = reg(gr.Button(L["remove"], variant="stop", scale=1, elem_id="remove"), "remove",
                                        "value")
