"""The Gradio app. Only wiring: every event calls the same library the CLI uses."""

from bot.web.app import build_app, launch

__all__ = ["build_app", "launch"]
