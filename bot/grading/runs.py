"""The fitting and evaluation runs behind `mianshi eval grade`: one function each, the CLI only calls them."""

from __future__ import annotations

from pathlib import Path

from bot.grading import data, evaluation, fitting, report
from bot.grading.cache import DiskCachedEmbedder
from bot.grading.grader import Grader
from ingest.chunk import split_sentences

PER_KIND = 4  # synthetic variants per construction and bank question: ~2,000 training rows on the seed bank


def _pairs(records, rows) -> list[tuple[str, str]]:
    return list(dict.fromkeys([(q, r) for q, r, _, _ in records] + [(r.question, r.reference) for r in rows
                                                                     if not r.is_choice]))


def fit_all(embedder, tokenizer, store, chunking, log=None) -> dict:
    """Manipulation classifier on generated examples, then the scorer on hand rows + synthetic bank rows."""
    records = evaluation.bank_records(store)
    hand = data.load_rows()
    sentences = [s for _, ref, _, _ in records for s in split_sentences(ref)] + [q for q, *_ in records]
    sentences += [r.answer for r in hand if "adversarial" not in r.tags and not r.is_choice]
    for f in data.PUBLIC_FILES:  # ordinary student answers in zh and en (public train/dev data) as negatives
        pub = data.load((f,))
        sentences += list(dict.fromkeys(r.answer for r in pub))[:1200] + list(dict.fromkeys(r.reference for r in pub))[:200]
    man = fitting.fit_manipulation(sentences, log=log)
    rows = evaluation.training_rows(hand, records, per_kind=PER_KIND)
    g = Grader(embedder, tokenizer, scorer=fitting.Unfitted(), chunking=chunking)
    params = fitting.fit(g, rows, _pairs(records, hand), log=log)
    return {"rows": len(rows), "cv": params.cv, "manipulation_heldout": man["heldout_generated_accuracy"]}


def evaluate_all(embedder, tokenizer, store, retriever, chunking, *, sealed: bool = False, progress=None) -> tuple[str, dict]:
    """Dev (hand-labelled zh/en), public sets zero-shot (references given), bank-path latency; with ``sealed``
    the sealed split instead (hash-checked; run once, at the end)."""
    records = evaluation.bank_records(store)
    hand = data.load_rows()
    g = Grader(embedder, tokenizer, chunking=chunking)
    sets: list[tuple[str, list]] = []
    if sealed:
        for name, rows in data.load_sealed().items():
            sets.append((f"sealed {name}", rows if len(rows) <= 1000 else evaluation.sample(rows, 1000)))
    else:
        sets.append(("dev_zh", data.load(data.DEV_FILES)))
        for f in data.PUBLIC_FILES:
            sets.append((f"{Path(f).stem} (zero-shot, sample)", evaluation.sample(data.load((f,)))))
    sections, summary = [], {}
    for name, rows in sets:
        g.set_contrast(_pairs(records, hand + rows))
        scored, times = evaluation.grade_rows(g, rows, progress)
        rep = evaluation.report(name, scored, times)
        sections.append(report.format_report(rep))
        summary[name] = {k: getattr(rep, k) for k in ("n", "qwk", "spearman", "pearson", "mae", "adversarial_max")}
        if "dev" in name or "zh_new" in name:
            tag = "sealed" if sealed else "dev"
            p50, p95 = evaluation.bank_latency(Grader(embedder, tokenizer, chunking=chunking), retriever,
                                               [r for r in rows if not r.is_choice][:60])
            summary[f"{name} bank path ms"] = {"p50": p50, "p95": p95}
            sections.append(f"- bank path (no reference given, question looked up): p50 {p50:.0f} ms, p95 {p95:.0f} ms\n")
            report.plot(scored, report.REPORT_DIR / f"grade-{tag}.png", f"{name}: QWK {rep.qwk:.2f}")
    if isinstance(embedder, DiskCachedEmbedder):
        embedder.save()
    return "\n".join(sections), summary
