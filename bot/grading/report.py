"""Grading reports as Markdown (evals/reports/grade-*.md) and a predicted-vs-human plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.grading.evaluation import ADVERSARIAL, GradeReport

REPORT_DIR = Path("evals/reports")


def format_report(rep: GradeReport) -> str:
    lines = [f"### {rep.name} ({rep.n} rows)", "",
             f"- QWK {rep.qwk:.3f} · Spearman {rep.spearman:.3f} · Pearson {rep.pearson:.3f} · MAE {rep.mae:.3f}",
             f"- adversarial max score {rep.adversarial_max:.2f}",
             f"- latency per answer (reference given, warm): p50 {rep.latency_ms_p50:.0f} ms, p95 {rep.latency_ms_p95:.0f} ms",
             "", "| human \\ pred | 0 | 1 | 2 | 3 | 4 | 5 |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {i} | " + " | ".join(str(c) for c in row) + " |" for i, row in enumerate(rep.confusion)]
    if rep.per_tag:
        lines += ["", "| kind (tag) | n | human mean | predicted mean | MAE | max |", "|---|---|---|---|---|---|"]
        lines += [f"| {t} | {int(v['n'])} | {v['label_mean']:.2f} | {v['pred_mean']:.2f} | {v['mae']:.2f} | "
                  f"{v['max_score']:.2f} |" for t, v in rep.per_tag.items()]
    return "\n".join(lines) + "\n"


def plot(scored, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)  # fixed jitter: the same data draws the same picture
    y = np.asarray([r.label for r, _ in scored], dtype=float)
    p = np.asarray([s for _, s in scored])
    adv = np.asarray([ADVERSARIAL in r.tags for r, _ in scored])
    fig, ax = plt.subplots(figsize=(5.5, 5), dpi=110)
    jx = y + rng.uniform(-0.18, 0.18, len(y))
    ax.scatter(jx[~adv], p[~adv], s=14, alpha=0.6, label="answers")
    ax.scatter(jx[adv], p[adv], s=18, alpha=0.8, marker="x", color="crimson", label="adversarial")
    ax.plot([0, 5], [0, 5], color="grey", lw=0.8, ls="--")
    ax.set_xlabel("human label")
    ax.set_ylabel("predicted score")
    ax.set_title(title)
    ax.set_xlim(-0.5, 5.5)
    ax.set_ylim(-0.3, 5.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write(name: str, sections: list[str], out_dir: Path = REPORT_DIR) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"grade-{name}.md"
    path.write_text("\n".join(sections), encoding="utf-8")
    return path
