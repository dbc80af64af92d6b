"""Load benchmark: many simulated users doing whole interviews against `mianshi serve` over loopback.

Each user is its own ``gradio_client.Client`` (its own Gradio session, so its own ``gr.State``) in its own
thread. A user starts an interview, answers every question and follow-up with text that carries the user's
name, reads the summary, then exports their history CSV through the app. After the run the driver checks:

* no step failed (Gradio error, timeout, a grading/saving error message in the chat);
* no cross-user leakage: a user's chat and CSV export never contain another user's name, and their history
  rows in ``history.sqlite`` are all theirs;
* every submitted answer is in ``history.sqlite`` exactly once (rows per user == answers submitted, each
  answer text once, ids unique), and each started interview is one session row of that user.

Everything runs on 127.0.0.1 with a bounded number of users, interviews and a time limit.

    python -m tests.bench.load [--users 30] [--interviews 2] [--questions 4] [--time-limit 600] [--store DIR]

Without ``--store`` the seed corpus (corpus/raw) is ingested with the real e5 model into a temp store first.
Writes evals/reports/load.json and load.md. ``tests/test_load.py`` runs the same driver with 20 users.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "evals" / "reports"
SEEDS = ROOT / "corpus" / "raw"
QUIET_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
             "ANONYMIZED_TELEMETRY": "False", "TOKENIZERS_PARALLELISM": "false"}
os.environ.update({k: v for k, v in QUIET_ENV.items() if k not in os.environ})

# Answers are plain Chinese/ASCII words with no Markdown-special characters, so the escaped chat shows them
# verbatim and a substring check is exact. Some are on topic (graded, often followed up), some are not.
BODIES = [
    "批归一化让每层输入的分布更稳定，所以可以用更大的学习率，也有一点正则化的作用",
    "卷积核在空间上共享参数，感受野随着层数加深而变大",
    "梯度消失可以用残差连接 ReLU 激活和合适的初始化来缓解",
    "注意力机制用查询和键的相似度给值加权求和",
    "这个我不太确定，我猜和模型容量以及数据量有关",
    "dropout randomly zeroes activations during training so units cannot co adapt",
]
STEPS = ("start", "answer", "summary", "export")


def name_for(idx: int, run: str) -> str:
    """Alphanumeric only (escaping never changes it) and unique per run: u07z3f9a."""
    return f"u{idx:02d}z{run}"


NAME_RE = re.compile(r"u\d{2,3}z[0-9a-f]{4}")


@dataclass
class UserResult:
    name: str
    interviews_started: int = 0
    interviews_done: int = 0
    answers: list[str] = field(default_factory=list)  # every text submitted, in order
    steps: list[tuple[str, float]] = field(default_factory=list)  # (step, seconds)
    errors: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    export_rows: int | None = None


# --- server ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_store(dest: Path, log: Path) -> Path:
    """Ingest the seed corpus with the real e5 model into ``dest``."""
    env = {**os.environ, **QUIET_ENV, "MIANSHI_EMBEDDER": "e5"}
    with log.open("w") as f:
        res = subprocess.run([sys.executable, "-m", "bot", "ingest", str(SEEDS), "--store", str(dest)], cwd=ROOT,
                             env=env, stdout=f, stderr=subprocess.STDOUT, timeout=600)
    if res.returncode != 0:
        raise RuntimeError(f"ingest failed ({res.returncode}): {log.read_text()[-2000:]}")
    return dest


@contextmanager
def serve(store: Path, log: Path, *, startup_s: float = 90.0):
    """`mianshi serve` in a subprocess on a free loopback port; yields (url, seconds to first page)."""
    port = free_port()
    env = {**os.environ, **QUIET_ENV, "MIANSHI_EMBEDDER": "e5"}
    f = log.open("w")
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--store", str(store)], cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"mianshi serve exited with {proc.returncode}: {log.read_text()[-2000:]}")
            if time.monotonic() - t0 > startup_s:
                raise RuntimeError(f"mianshi serve did not answer within {startup_s:.0f} s")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        yield url, time.monotonic() - t0
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        f.close()


# --- one user -------------------------------------------------------------------------------
def _text(msg: dict) -> str:
    c = msg.get("content")
    if isinstance(c, str):
        return c
    return "\n".join(part.get("text", "") for part in c or [] if isinstance(part, dict))


def _markers():
    from bot.texts import TEXT

    def head(key):  # the fixed part of a message, before its first placeholder or parenthesis
        return {re.split(r"[（({]", TEXT[lang][key])[0] for lang in TEXT}

    return head("done"), head("grade_error") | head("save_error")


DONE_MARKS, ERROR_MARKS = _markers()


def check_chat(res: UserResult, chat: list[dict], own: list[str], where: str) -> bool:
    """Leak and error checks on one chat as returned to this user; returns whether the interview is done."""
    full = "\n".join(_text(m) for m in chat)
    foreign = sorted(set(NAME_RE.findall(full)) - {res.name})
    if foreign:
        res.leaks.append(f"{where}: chat shows other users {foreign}")
    missing = [a for a in own if a not in full]
    if missing:
        res.leaks.append(f"{where}: chat lost this user's own answers {missing[:2]}")
    errs = [m for m in ERROR_MARKS if m in full]
    if errs:
        res.errors.append(f"{where}: error message in chat: {errs}")
    last = _text(chat[-1]) if chat else ""
    return any(m in last for m in DONE_MARKS)


def run_user(idx: int, name: str, url: str, *, interviews: int, questions: int, deadline: float,
             barrier: threading.Barrier, call_timeout: float = 180.0) -> UserResult:
    from gradio_client import Client

    res = UserResult(name=name)
    lang = "English" if idx % 2 else "中文"
    try:
        client = Client(url, verbose=False, analytics_enabled=False, max_workers=2,
                        download_files=tempfile.mkdtemp(prefix=f"mianshi-load-{name}-"))
    except Exception as exc:
        res.errors.append(f"connect: {type(exc).__name__}: {exc}")
        barrier.abort()
        return res
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass

    def call(step: str, *args, api_name: str):
        t0 = time.monotonic()
        out = client.submit(*args, api_name=api_name).result(timeout=call_timeout)
        return out, time.monotonic() - t0

    for k in range(interviews):
        if time.monotonic() > deadline:
            break
        where = f"{name} interview {k + 1}"
        try:
            out, dt = call("start", name, [], questions, "open", "random", lang, api_name="/start")
            res.interviews_started += 1
            res.steps.append(("start", dt))
            own: list[str] = []
            done = check_chat(res, out[0], own, f"{where} start")
            # Each question may get one follow-up: at most 2 submits per question, plus slack.
            for j in range(2 * questions + 2):
                if done:
                    break
                text = f"{name} 第{k + 1}轮第{j + 1}答 {BODIES[(idx + j) % len(BODIES)]}"
                out, dt = call("answer", text, [], api_name="/submit")
                res.answers.append(text)
                own.append(text)
                done = check_chat(res, out[0], own, f"{where} answer {j + 1}")
                res.steps.append(("summary" if done else "answer", dt))
            if done:
                res.interviews_done += 1
            else:
                res.errors.append(f"{where}: no summary after {2 * questions + 2} answers")
        except Exception as exc:  # a Gradio error, a timeout, a dropped connection
            res.errors.append(f"{where}: {type(exc).__name__}: {str(exc)[:200]}")
            break

    # The user's own history, through the app: only their answers, each once.
    if res.interviews_started:
        try:
            out, dt = call("export", name, api_name="/export_csv")
            res.steps.append(("export", dt))
            path = out.get("value") if isinstance(out, dict) else out
            with open(path, encoding="utf-8-sig", newline="") as f:
                rows = list(csv.DictReader(f))
            res.export_rows = len(rows)
            foreign = sorted({n for r in rows for n in NAME_RE.findall(r["answer"])} - {name})
            if foreign:
                res.leaks.append(f"{name} export: rows of other users {foreign}")
            if sorted(r["answer"] for r in rows) != sorted(res.answers):
                res.errors.append(f"{name} export: {len(rows)} rows for {len(res.answers)} answers submitted")
        except Exception as exc:
            res.errors.append(f"{name} export: {type(exc).__name__}: {str(exc)[:200]}")
    return res


# --- the run and its checks -----------------------------------------------------------------
def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def check_history(db_path: Path, results: list[UserResult]) -> dict:
    """Every submitted answer in history.sqlite exactly once, under its own user, one session per interview."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    problems: list[str] = []
    total = db.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM answers").fetchone()
    if total[0] != total[1]:
        problems.append(f"duplicate answer ids: {total[0]} rows, {total[1]} ids")
    rows = 0
    for r in results:
        got = db.execute("SELECT a.answer, a.session_id FROM answers a JOIN users u ON u.id=a.user_id "
                         "WHERE u.name=?", (r.name,)).fetchall()
        rows += len(got)
        texts = [g[0] for g in got]
        if len(texts) != len(r.answers):
            problems.append(f"{r.name}: {len(texts)} rows saved for {len(r.answers)} answers submitted")
        dup = sorted({t for t in texts if texts.count(t) > 1})
        if dup:
            problems.append(f"{r.name}: saved more than once: {dup[:2]}")
        missing = sorted(set(r.answers) - set(texts))
        if missing:
            problems.append(f"{r.name}: never saved: {missing[:2]}")
        foreign = sorted({n for t in texts for n in NAME_RE.findall(t)} - {r.name})
        if foreign:
            problems.append(f"{r.name}: history rows carry other users' names {foreign}")
        sessions = db.execute("SELECT COUNT(*) FROM sessions s JOIN users u ON u.id=s.user_id WHERE u.name=?",
                              (r.name,)).fetchone()[0]
        if sessions != r.interviews_started:
            problems.append(f"{r.name}: {sessions} sessions for {r.interviews_started} interviews started")
        # An answer's session must belong to the same user.
        bad = db.execute("SELECT COUNT(*) FROM answers a JOIN sessions s ON s.id=a.session_id "
                         "WHERE s.user_id != a.user_id").fetchone()[0]
        if bad:
            problems.append(f"{bad} answers filed under another user's session")
            break
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    db.close()
    return {"rows": rows, "integrity": integrity, "problems": problems}


def run_load(url: str, store: Path, *, users: int, interviews: int, questions: int, time_limit: float,
             baseline: bool = True) -> dict:
    """``baseline``: one user alone first, for unloaded latencies (it also loads the grader, so the loaded
    numbers are those of a warm server); its answers are checked in history like everyone else's."""
    run = secrets.token_hex(2)
    names = [name_for(i, run) for i in range(users)]
    alone = None
    if baseline:
        alone = run_user(users, name_for(users, run), url, interviews=1, questions=questions,
                         deadline=time.monotonic() + time_limit, barrier=threading.Barrier(1))
    opened: list[float] = []  # the clock starts when every user is connected and the barrier opens
    barrier = threading.Barrier(users, action=lambda: opened.append(time.monotonic()), timeout=120)
    results: list[UserResult | None] = [None] * users
    t_connect = time.monotonic()
    deadline = t_connect + time_limit

    def work(i):
        results[i] = run_user(i, names[i], url, interviews=interviews, questions=questions, deadline=deadline,
                              barrier=barrier)

    threads = [threading.Thread(target=work, args=(i,), daemon=True, name=f"load-{i}") for i in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline + 200 - time.monotonic()))  # + the last calls' own timeouts
    t0 = opened[0] if opened else t_connect  # a broken barrier: count from the first connection
    wall = time.monotonic() - t0
    hung = [names[i] for i, t in enumerate(threads) if t.is_alive()]
    done = [r for r in results if r is not None]

    steps = {s: [dt for r in done for k, dt in r.steps if k == s] for s in STEPS}
    answers = sum(len(r.answers) for r in done)
    hist = check_history(Path(store) / "history.sqlite", done + ([alone] if alone else []))
    hist["rows"] -= len(alone.answers) if alone else 0  # the report's row count is that of the load phase
    unloaded = {s: _r(pct([dt for k, dt in alone.steps if k == s], 50)) for s in STEPS} if alone else {}
    return {
        "unloaded_p50_s": unloaded,
        "users": users, "interviews_per_user": interviews, "questions": questions, "time_limit_s": time_limit,
        "connect_s": round(t0 - t_connect, 2), "wall_s": round(wall, 2),
        "interviews_started": sum(r.interviews_started for r in done),
        "interviews_done": sum(r.interviews_done for r in done),
        "answers": answers, "answers_per_s": round(answers / wall, 2) if wall else None,
        "interviews_per_min": round(sum(r.interviews_done for r in done) / wall * 60, 1) if wall else None,
        "steps": {s: {"n": len(v), "p50_s": _r(pct(v, 50)), "p95_s": _r(pct(v, 95)), "max_s": _r(max(v or [0]))}
                  for s, v in steps.items()},
        "errors": [e for r in done for e in r.errors] + [f"{n}: still running at the time limit" for n in hung]
        + ((alone.errors + alone.leaks) if alone else []),
        "leaks": [e for r in done for e in r.leaks],
        "history": hist,
        "per_user": [{"name": r.name, "interviews": r.interviews_done, "answers": len(r.answers),
                      "export_rows": r.export_rows} for r in done],
    }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def server_errors(log: Path) -> list[str]:
    text = log.read_text(errors="replace") if log.exists() else ""
    return [line for line in text.splitlines() if "Traceback" in line or "Error" in line][:20]


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def summary_paragraph(rep: dict) -> str:
    s = rep["steps"]

    def p(step):
        return f"{s[step]['p50_s']:.2f} s / {s[step]['p95_s']:.2f} s" if s[step]["n"] else "—"

    errors = len(rep["errors"]) + len(rep["server_errors"])
    return (
        f"**Load held:** {rep['users']} simulated users in parallel over loopback (one Gradio session each, "
        f"`gradio_client` against `mianshi serve`, real e5 grader) ran {rep['interviews_done']} whole interviews "
        f"({rep['interviews_started']} started) with {rep['answers']} graded answers in {rep['wall_s']:.0f} s: "
        f"{rep['answers_per_s']:.2f} answers/s on {rep['machine']['cpus']} CPU cores. "
        f"Latency p50 / p95 per step — start {p('start')}, answer {p('answer')}, "
        f"last answer + summary {p('summary')}, history export {p('export')}"
        f"{unloaded_note(rep)}. "
        f"Errors: {errors}; cross-user leaks: {len(rep['leaks'])}; history.sqlite holds {rep['history']['rows']} "
        f"rows for {rep['answers']} answers submitted (each exactly once, integrity {rep['history']['integrity']}"
        f"{'' if not rep['history']['problems'] else '; PROBLEMS: ' + '; '.join(rep['history']['problems'][:3])}). "
        f"Grading runs one answer at a time (one grader behind a lock), so under load an answer mostly waits "
        f"in Gradio's queue: latency grows with the number of users, throughput does not."
    )


def unloaded_note(rep: dict) -> str:
    u = rep.get("unloaded_p50_s") or {}
    if not u.get("answer"):
        return ""
    return f" (one user alone, warm server: answer p50 {u['answer']:.2f} s, start {u['start']:.2f} s)"


def write_report(rep: dict, out_dir: Path = REPORTS) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "load.json").write_text(json.dumps(rep, ensure_ascii=False, indent=2) + "\n")
    s = rep["steps"]
    lines = [
        "# Load test: concurrent users",
        "",
        f"`python -m tests.bench.load --users {rep['users']} --interviews {rep['interviews_per_user']} "
        f"--questions {rep['questions']}` on {rep['machine']['cpus']} cores, Python {rep['machine']['python']}, "
        f"{rep['date']}.",
        "",
        summary_paragraph(rep),
        "",
        "| step | calls | p50 (s) | p95 (s) | max (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    for step in STEPS:
        v = s[step]
        if v["n"]:
            lines.append(f"| {step} | {v['n']} | {v['p50_s']:.3f} | {v['p95_s']:.3f} | {v['max_s']:.3f} |")
    lines += [
        "",
        f"- users {rep['users']}, interviews {rep['interviews_done']}/{rep['interviews_started']} finished, "
        f"answers {rep['answers']} (main answers and follow-ups), wall {rep['wall_s']} s, "
        f"{rep['answers_per_s']} answers/s, {rep['interviews_per_min']} interviews/min",
        f"- errors: {len(rep['errors'])} client, {len(rep['server_errors'])} server log lines; "
        f"leaks: {len(rep['leaks'])}; history problems: {len(rep['history']['problems'])}",
        "- steps: *start* = new interview (plans questions, opens a history session); *answer* = grade one answer "
        "or follow-up and save it; *summary* = the last answer, whose reply also carries the summary and chart; "
        "*export* = the user's history CSV through the app.",
        "- the server queues events (default 4 workers, submit limited to 2 at a time, grading one at a time "
        "behind a lock), so with more users than workers the p95 is dominated by waiting in the queue.",
    ]
    for e in (rep["errors"] + rep["leaks"] + rep["history"]["problems"] + rep["server_errors"])[:20]:
        lines.append(f"- problem: {e}")
    crash = ROOT / "tests" / "artifacts" / "history_crash.txt"  # written by tests/test_history_crash.py
    if crash.exists():
        first, *runs = crash.read_text().splitlines()
        lines += ["", "## History crash safety", "",
                  f"From `pytest tests/test_history_crash.py` ({time.strftime('%Y-%m-%d', time.localtime(crash.stat().st_mtime))}): "
                  f"{first}. After every kill `PRAGMA integrity_check` was ok, every answer reported committed "
                  "was there exactly once, every row was whole, and every review card equalled a replay of its "
                  "answers; the next run resumed with retried saves and inserted nothing twice.", "",
                  *[f"- {r}" for r in runs]]
    path = out_dir / "load.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=30)
    ap.add_argument("--interviews", type=int, default=2, help="interviews per user")
    ap.add_argument("--questions", type=int, default=4, help="questions per interview")
    ap.add_argument("--time-limit", type=float, default=600, help="no user starts an interview after this (s)")
    ap.add_argument("--store", type=Path, help="an ingested store to copy (default: ingest corpus/raw now)")
    ap.add_argument("--out", type=Path, default=REPORTS)
    args = ap.parse_args(argv)
    if not 1 <= args.users <= 200:
        ap.error("--users must be 1..200")

    with tempfile.TemporaryDirectory(prefix="mianshi-load-") as tmp:
        tmp = Path(tmp)
        store = tmp / "store"
        if args.store:
            shutil.copytree(args.store, store)
        else:
            print("ingesting corpus/raw with e5 …", file=sys.stderr)
            build_store(store, tmp / "ingest.log")
        log = tmp / "serve.log"
        with serve(store, log) as (url, cold):
            print(f"serving {url} (up in {cold:.1f} s); {args.users} users × {args.interviews} interviews × "
                  f"{args.questions} questions …", file=sys.stderr)
            rep = run_load(url, store, users=args.users, interviews=args.interviews, questions=args.questions,
                           time_limit=args.time_limit)
        rep["server_errors"] = server_errors(log)
        rep["cold_start_s"] = round(cold, 2)
        rep["machine"] = machine()
        rep["date"] = time.strftime("%Y-%m-%d")
        path = write_report(rep, args.out)
    print(summary_paragraph(rep))
    print(f"wrote {path}", file=sys.stderr)
    ok = not (rep["errors"] or rep["leaks"] or rep["history"]["problems"] or rep["server_errors"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
