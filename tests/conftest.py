"""Shared fixtures. Everything is real: SQLite and Chroma in temp dirs, the real CLI, real models.

The fast tier uses the deterministic ``hash`` embedder (registered in the same factory as the
real ones); every feature is also exercised with the real e5 model in the ``e5_store`` tests.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support import SEEDS, Cli


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


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
def hash_context(tmp_path_factory):
    """The seed corpus in a store with the ``hash`` embedder, shared read-only by the fast tests."""
    from bot.context import build_context
    from bot.settings import Settings

    c = Cli(tmp_path_factory.mktemp("hash") / "store")
    res = c("ingest", SEEDS)
    assert res.exit_code == 0, res.stderr
    return build_context(c.store, Settings(embedder="hash"))


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


# --- LLM backends: the real SmolLM2 server and the fake OpenAI-compatible server ---------------------------


@pytest.fixture(scope="module")
def local_llm():
    from bot.llm import make_llm
    from bot.llm.backends import smollm2_path
    from bot.settings import Settings

    # Small max_tokens (64 fits the judge JSON) and one attempt per call keep the module fast on 2 shared cores (retries are tested
    # against the fake server). One thread: when other jobs share the cores, llama.cpp's spinning thread
    # barriers stall badly with two. Timeouts are generous for the same reason.
    llm = make_llm(Settings(llm="local", llm_gguf=smollm2_path(), llm_max_tokens=64, llm_timeout=180,
                            llm_retries=0, llm_temperature=0, llm_ctx=2048, llm_threads=1))
    yield llm
    llm.close()


@pytest.fixture(scope="module")
def roles(local_llm):
    from bot.llm import LLMRoles

    r = LLMRoles(local_llm, score_bound=5.0)
    yield r
    r.close()


@pytest.fixture(scope="module")
def fake():
    from tests.fake_llm_server import FakeLLMServer

    srv = FakeLLMServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def fresh_fake(fake):
    fake.reset()
    return fake


# Fixtures that load a real model: a test using one must be marked ``slow`` so `-m "not slow"` stays quick.
MODEL_FIXTURES = {"e5_cli", "e5_context", "local_llm", "roles", "browser"}


def pytest_collection_modifyitems(config, items):
    unmarked = [item.nodeid for item in items
                if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())) and item.get_closest_marker("slow") is None]
    if unmarked:
        raise pytest.UsageError("mark these tests @pytest.mark.slow (they load a real model): " + ", ".join(unmarked))


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium through Playwright, one per test module."""
    from playwright.sync_api import sync_playwright

    from tests.support import ARGS, ARTIFACTS, CHROMIUM

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def history(tmp_path: Path):
    """An interview history database in a temp directory."""
    from bot.interview.history import History

    h = History(tmp_path)
    yield h
    h.close()
