"""Crash safety of the answer history: SIGKILL a process that is saving answers, reopen, nothing lost or torn.

A child process opens a real ``History`` and saves answers with ``History.save_answer`` (the call the
interview's ``_flush`` makes) from several threads at once, like Gradio's workers; each answer's id goes to
stdout, flushed, only after ``save_answer`` returned, i.e. after COMMIT. The test kills the child with SIGKILL
at several points (right after opening, after the first commit, mid-stream, across WAL checkpoints), then
checks the database file: ``PRAGMA integrity_check`` is ok, every reported answer is there exactly once, every
row present is whole (all columns as written), each main answer's review card was updated in the same
transaction, and every card equals a replay of that user's answers (so no answer was ever applied twice).
The next child resumes a little before where each thread was last seen, re-saving some answers that are
already stored (a retried save); at the end every answer is stored exactly once.

The workload is deterministic from the answer index, so parent and child agree on what a row must hold.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path


from tests.support import ROOT

TOTAL = 6000  # answers in the whole workload
THREADS = 4  # writer threads in the child, one user each
OVERLAP = 3  # answers per thread re-saved on resume
# When to kill: after this many answers this child has reported committed (0 = as soon as History is open).
KILL_AFTER = [0, 1, 7, 60, 400, 900, 1500, 2200]
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


# --- the workload, shared by child and parent --------------------------------------------------
def user_of(i: int) -> str:
    return f"崩溃测试用户{i % THREADS}"


def record(i: int) -> dict:
    """Answer ``i`` as the interview would save it; long answers so the WAL fills and checkpoints run."""
    t = i % THREADS
    n = i // THREADS  # this user's n-th answer
    score = (i * 7 % 11) / 2
    return dict(
        id=f"ans{i:06d}", session_id=f"sess-{t}-{n // 25}", user=user_of(i), question_id=f"q{n % 40:03d}",
        question=f"第{n % 40}题：为什么需要归一化？", kind="open", topics=["normalization", f"t{n % 3}"],
        follow_up=i % 7 == 3, answer=f"回答{i:06d} " + ("批归一化稳定了每层输入的分布。" * 40), score=score,
        level=int(score), feedback=f"反馈 {i}", hint_used=i % 5 == 0, skipped=i % 13 == 0,
        reference="参考答案" * 10, source=f"corpus/raw/f{n % 5}.txt#{n % 40}",
        created_at=(T0 + timedelta(seconds=i)).isoformat(timespec="milliseconds"),
    )


def review_time(i: int) -> datetime:
    return T0 + timedelta(hours=i)


def child(store: str, starts: list[int]) -> None:
    """Save answers from ``starts[t]`` on, in steps of THREADS, on thread t; print each id after commit."""
    from bot.interview.history import AnswerRecord, History

    h = History(Path(store))
    os.write(1, b"open\n")

    def work(t: int) -> None:
        for i in range(starts[t], TOTAL, THREADS):
            rec = record(i)
            if (i // THREADS) % 25 == 0:
                h.start_session(rec["session_id"], rec["user"], {"n": 25})
            inserted = h.save_answer(AnswerRecord(**rec), now=review_time(i))
            os.write(1, f"{rec['id']} {int(inserted)}\n".encode())  # one write: lines never interleave

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    h.close()
    os.write(1, b"done\n")


# --- the test ---------------------------------------------------------------------------------
def _spawn(store: Path, starts: list[int]) -> subprocess.Popen:
    code = "import sys, json; from tests.test_history_crash import child; child(sys.argv[1], json.loads(sys.argv[2]))"
    return subprocess.Popen([sys.executable, "-c", code, str(store), json.dumps(starts)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _run(store: Path, starts: list[int], kill_after: int | None) -> tuple[list[tuple[str, int]], bool]:
    """One child; SIGKILL it once it has reported ``kill_after`` commits. Returns its reports and whether it
    was killed (rather than finishing)."""
    proc = _spawn(store, starts)
    watchdog = threading.Timer(120, proc.kill)  # a stuck child fails the test instead of hanging it
    watchdog.start()
    reports: list[tuple[str, int]] = []
    killed = False
    for raw in proc.stdout:
        line = raw.decode().strip()
        if line.startswith("ans"):
            aid, ins = line.split()
            reports.append((aid, int(ins)))
        if kill_after is not None and (line == "open" if kill_after == 0 else len(reports) >= kill_after):
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
    # Lines the child wrote before it died are still in the pipe: they were committed too.
    for raw in proc.stdout:
        line = raw.decode().strip()
        if line.startswith("ans"):
            aid, ins = line.split()
            reports.append((aid, int(ins)))
    proc.wait(30)
    watchdog.cancel()
    err = proc.stderr.read().decode()
    if killed:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 0, err[-3000:]
    return reports, killed


def _check(db_path: Path, committed: set[str]) -> dict:
    """The database after a crash: intact, every committed answer once, every row whole, cards consistent."""
    from fsrs import Card, Scheduler

    from bot.interview.history import rating_for

    db = sqlite3.connect(db_path)  # a plain connection recovers the WAL like the app's would
    db.row_factory = sqlite3.Row
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    rows = db.execute("SELECT a.*, u.name AS user FROM answers a JOIN users u ON u.id=a.user_id").fetchall()
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), "an answer id is stored twice"
    lost = committed - set(ids)
    assert not lost, f"{len(lost)} answers reported committed are missing: {sorted(lost)[:5]}"
    for r in rows:  # no partial rows: every column exactly as written
        want = record(int(r["id"][3:]))
        got = {k: r[k] for k in want}
        got["topics"] = json.loads(got["topics"])
        for k in ("follow_up", "hint_used", "skipped"):
            got[k] = bool(got[k])
        assert got == want, f"row {r['id']} differs from what was saved"
    orphans = db.execute("SELECT COUNT(*) FROM answers a LEFT JOIN sessions s ON s.id=a.session_id "
                         "WHERE s.id IS NULL").fetchone()[0]
    assert orphans == 0
    # Each main answer reschedules its card in the same transaction: replaying the stored main answers in
    # order must give exactly the stored cards (a lost update or a double review would not).
    sched = Scheduler(enable_fuzzing=False)
    replay: dict[tuple[str, str], Card] = {}
    for r in sorted(rows, key=lambda r: r["id"]):
        if r["follow_up"]:
            continue
        i = int(r["id"][3:])
        key = (r["user"], r["question_id"])
        card = replay.get(key) or Card(due=review_time(i))
        replay[key], _ = sched.review_card(card, rating_for(r["score"]), review_datetime=review_time(i))
    cards = {(c["name"], c["question_id"]): json.loads(c["card"]) for c in db.execute(
        "SELECT u.name, c.question_id, c.card FROM cards c JOIN users u ON u.id=c.user_id")}
    assert set(cards) == set(replay), "cards and main answers disagree"
    for key, card in replay.items():
        want = json.loads(json.dumps(card.to_dict()))
        got = cards[key]
        want.pop("card_id"), got.pop("card_id")  # fsrs stamps new cards with the wall clock
        assert got == want, f"card {key} is not the replay of its answers"
    db.close()
    return {"rows": len(ids), "cards": len(cards)}


def test_history_survives_sigkill_while_saving(tmp_path: Path):
    from bot.interview.history import History

    store = tmp_path / "store"
    db_path = store / "history.sqlite"
    committed: set[str] = set()
    inserted_once: dict[str, int] = {}  # id → how many saves reported inserting it (must stay ≤ 1)
    last = {t: None for t in range(THREADS)}  # last index each thread reported
    log = []
    for n, kill_after in enumerate(KILL_AFTER + [None]):
        # Resume a little before where each thread was last seen: those saves are retries of stored answers.
        starts = [t if last[t] is None else max(t, last[t] - OVERLAP * THREADS) for t in range(THREADS)]
        reports, killed = _run(store, starts, kill_after)
        for aid, ins in reports:
            committed.add(aid)
            inserted_once[aid] = inserted_once.get(aid, 0) + ins
            i = int(aid[3:])
            last[i % THREADS] = max(last[i % THREADS] or 0, i)
        assert killed == (kill_after is not None)
        if not db_path.exists():  # killed before the file was created: nothing was committed
            assert not committed
            continue
        state = _check(db_path, committed)
        resaved = sum(1 for aid, ins in reports if not ins)
        log.append(f"run {n + 1}: {'SIGKILL after ' + str(kill_after) + ' commits' if killed else 'to the end'}, "
                   f"{len(reports)} saves reported ({resaved} retries of stored answers), {state['rows']} rows, "
                   f"{state['cards']} cards, lost 0")
        # The app reopens the file through History as usual.
        h = History(store)
        assert len(h.answers(user_of(0))) >= sum(1 for a in committed if int(a[3:]) % THREADS == 0)
        h.close()
    print("\n" + "\n".join(log))
    # All of it, each answer exactly once; no save ever inserted an answer that was already there.
    final = _check(db_path, {f"ans{i:06d}" for i in range(TOTAL)})
    assert final["rows"] == TOTAL
    assert max(inserted_once.values()) == 1
    assert sum(inserted_once.values()) <= TOTAL
    kills = len(KILL_AFTER)
    out = ROOT / "tests" / "artifacts"
    out.mkdir(parents=True, exist_ok=True)
    (out / "history_crash.txt").write_text(
        f"{kills} SIGKILLs while saving, {TOTAL} answers from {THREADS} threads, rows lost: 0, duplicates: 0\n"
        + "\n".join(log) + "\n")
