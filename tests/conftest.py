"""Shared fixtures. Everything is real: SQLite and Chroma in temp dirs, the real CLI, real models.

The fast tier uses the deterministic ``hash`` embedder (registered in the same factory as the
real ones); every feature is also exercised with the real e5 model in the ``e5_store`` tests.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "corpus" / "raw"
PAGES = ROOT / "tests" / "data" / "pages"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


class Cli:
    """Runs `mianshi` in-process through Click's runner against one store."""

    def __init__(self, store: Path, embedder: str = "hash", **env: str) -> None:
        self.store = store
        self.env = {"MIANSHI_HOME": str(store), "MIANSHI_EMBEDDER": embedder, **env}
        self.runner = CliRunner()

    def __call__(self, *args: str, env: dict | None = None, input: str | None = None):
        from bot.cli import build_app

        return self.runner.invoke(build_app(), [str(a) for a in args], env={**self.env, **(env or {})}, input=input,
                                  catch_exceptions=False)

    def jsonl(self, *args: str) -> list[dict]:
        res = self(*args)
        assert res.exit_code == 0, res.stderr
        return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of the seed corpus that a test may modify."""
    d = tmp_path / "corpus"
    shutil.copytree(SEEDS, d)
    return d


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "store")


@pytest.fixture(scope="session")
def e5_cli(tmp_path_factory) -> Cli:
    """One store built from the seed corpus with the real e5 model, shared by the slow tests."""
    store = tmp_path_factory.mktemp("e5") / "store"
    c = Cli(store, embedder="e5")
    res = c("ingest", SEEDS)
    assert res.exit_code == 0, res.stderr
    return c


@pytest.fixture(scope="session")
def e5_context(e5_cli):
    from bot.context import build_context
    from bot.settings import Settings

    return build_context(e5_cli.store, Settings(embedder="e5"))
