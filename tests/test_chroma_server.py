"""Client–server mode: a real `chroma run` on loopback, the same commands through MIANSHI_CHROMA_URL."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import SEEDS, Cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    exe = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen([str(exe), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma server did not start")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.slow
def test_ingest_search_ask_against_chroma_server(tmp_path, chroma_server):
    cli = Cli(tmp_path / "store", embedder="e5", MIANSHI_CHROMA_URL=chroma_server)
    res = cli("ingest", SEEDS)
    assert res.exit_code == 0, res.stderr
    assert not (cli.store / "chroma").exists(), "vectors must live on the server, not in the local store"
    hits = json.loads(cli("search", "转置卷积", "--json", "--k", "3").stdout)["hits"]
    assert any("反卷积" in h["question"] for h in hits)
    obj = json.loads(cli("ask", "BN层有什么用", "--json").stdout)
    assert obj["grounded"] is True
    # A second store on the same server gets its own collection.
    other = Cli(tmp_path / "other", embedder="e5", MIANSHI_CHROMA_URL=chroma_server)
    assert other("ingest", SEEDS / "004_9c3078ab2cf86951.txt").exit_code == 0
    assert json.loads(cli("ingest", SEEDS, "--json").stdout)["unchanged"] == 5
    assert len(cli.jsonl("export")) > len(other.jsonl("export"))


def test_unreachable_server_is_a_clear_error(tmp_path):
    cli = Cli(tmp_path / "store", MIANSHI_CHROMA_URL=f"http://127.0.0.1:{_free_port()}")
    res = cli("ingest", SEEDS / "004_9c3078ab2cf86951.txt")
    assert res.exit_code == 1
    assert "cannot reach the Chroma server" in res.stderr and "chroma run" in res.stderr
