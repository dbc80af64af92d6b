"""Helpers shared by test modules (paths, the in-process CLI runner, builders). Fixtures live in conftest.py;
test modules import from here, never from each other."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "corpus" / "raw"
PAGES = ROOT / "tests" / "data" / "pages"
# Browser tests drive Debian's chromium (no browser download is possible here); `make test` installs it.
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
ARTIFACTS = ROOT / "tests" / "artifacts"
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


def partial_answers(grader, records, limit: int = 3) -> list[tuple[str, str]]:
    """(question id, answer) pairs where answering with one key point leaves a missed point to follow up on.

    Which partial answers the grader judges incomplete depends on the fitted model, so ask the real grader
    rather than guess.
    """
    out = []
    for r in records:
        if r.kind != "open" or len(r.key_points) < 2:
            continue
        for point in r.key_points[:2]:
            g = grader.grade(r.question, point, [a.text for a in r.answers], reference_ids=[r.id],
                             key_points=r.key_points)
            if g.key_points_missed and g.score <= follow_up_max() and not g.flags:
                out.append((r.id, point))
                break
        if len(out) == limit:
            break
    assert out, "the grader finds no missed key point in any one-key-point answer: follow-ups cannot be tested"
    return out


def follow_up_max() -> float:
    from bot.interview import FOLLOW_UP_MAX

    return FOLLOW_UP_MAX


def openai_roles(fake, **kw):
    from bot.llm import LLMRoles, make_llm
    from bot.settings import Settings

    s = Settings(llm="openai", llm_base_url=f"{fake.url}/v1", llm_model="fake", llm_timeout=kw.pop("timeout", 5),
                 llm_retries=kw.pop("retries", 1), llm_max_tokens=64)
    return LLMRoles(make_llm(s), **kw)


def stop(proc, log=None) -> None:
    """End a server started by a test: politely, then for sure; close its log."""
    import subprocess

    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    if log is not None:
        log.close()
