"""Crash safety: SIGKILL `mianshi ingest` at several points, rerun, compare with a clean ingest."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
TERMS = ["卷积", "池化", "归一化", "正则化", "梯度", "学习率", "激活函数", "损失函数", "注意力", "残差"]


def make_corpus(d: Path, files: int = 30, per_file: int = 80) -> Path:
    d.mkdir()
    for f in range(files):
        lines = []
        for i in range(1, per_file + 1):
            a, b = TERMS[(f + i) % 10], TERMS[(f * 3 + i) % 10]
            lines.append(f"{i}. {a}和{b}在第{f}个模块的第{i}层有什么区别?")
            lines.append(f"{a}主要作用于第{i}层的特征，{b}则影响训练过程中的第{f}个阶段。两者结合可以提升模型效果。" * 2)
        (d / f"page_{f:03d}.txt").write_text("\n".join(lines), encoding="utf-8")
    return d


def run_ingest(corpus: Path, store: Path, kill_after: float | None = None) -> int:
    env = {**os.environ, "MIANSHI_HOME": str(store), "MIANSHI_EMBEDDER": "hash"}
    proc = subprocess.Popen([sys.executable, "-m", "bot", "ingest", str(corpus)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if kill_after is None:
        return proc.wait(timeout=600)
    time.sleep(kill_after)
    proc.send_signal(signal.SIGKILL)
    return proc.wait(timeout=60)


def snapshot(store: Path) -> dict:
    env = {**os.environ, "MIANSHI_HOME": str(store), "MIANSHI_EMBEDDER": "hash"}
    out = subprocess.run([sys.executable, "-m", "bot", "export"], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout
    rows = sorted((json.loads(line) for line in out.splitlines()), key=lambda r: r["id"])
    db = sqlite3.connect(store / "records.sqlite")
    chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    pending = db.execute("SELECT COUNT(*) FROM chunks WHERE embedded = 0").fetchone()[0]
    from ingest.embed import HashEmbedder
    from ingest.store import Store

    st = Store(store, HashEmbedder())
    return {"rows": rows, "chunks": chunks, "pending": pending, "vectors": st.collection.count()}


def test_killed_ingest_resumes_without_loss_or_duplicates(tmp_path):
    corpus = make_corpus(tmp_path / "corpus")
    clean = tmp_path / "clean"
    assert run_ingest(corpus, clean) == 0
    expected = snapshot(clean)
    assert len(expected["rows"]) == 30 * 80

    crashed = tmp_path / "crashed"
    killed = 0
    for delay in (1.5, 3.0, 4.5, 6.0):
        rc = run_ingest(corpus, crashed, kill_after=delay)
        killed += rc == -signal.SIGKILL
    assert killed >= 1, "every run finished before the kill: make the corpus bigger"
    assert run_ingest(corpus, crashed) == 0
    got = snapshot(crashed)
    assert got["pending"] == 0
    assert got["vectors"] == got["chunks"] == expected["chunks"]
    assert [r["question"] for r in got["rows"]] == [r["question"] for r in expected["rows"]]
    assert got["rows"] == expected["rows"]
