"""`make bench`: ingest overhead, search latency at 1k/10k/100k records, store size.

Writes evals/reports/bench.json and evals/reports/bench.md. Run with
``python -m tests.bench.run [--sizes 1000,10000,100000] [--queries 200]``.

Scale stores are synthetic: question texts are recombined from the seed bank
and their vectors are real e5 vectors of seed chunks plus small noise, so the
vector index has realistic structure without hours of encoding (said so in
the report). Queries are real e5 encodings, so their cost is included.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bot.context import build_context
from ingest.pipeline import Ingestor, ingest_paths
from ingest.schema import IngestSummary, ParsedDocument, ParsedQuestion
from ingest.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "evals" / "reports"
QUERIES = ["BN层有什么用", "转置卷积是什么", "为什么dropout能防止过拟合", "what does a 1x1 conv do", "LSTM为什么能记住长期信息",
           "学习率太大会怎样", "FPN怎么提升小目标", "梯度消失怎么解决", "Adam和SGD区别", "什么是感受野"]


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def bench_ingest(tmp: Path) -> dict:
    """Ingest the seed corpus from scratch, and encode the same chunk texts raw, in one run."""
    ctx = build_context(tmp / "ingest", Settings(embedder="e5"))
    emb = ctx.embedder
    emb.encode_documents(["warm up"])
    ctx.tokenizer.tokens("warm up")
    store = ctx.open_store(create=True)
    t0 = time.perf_counter()
    summary = ingest_paths([ROOT / "corpus" / "raw"], store, ctx.tokenizer, max_bytes=20_000_000)
    wall = time.perf_counter() - t0
    texts = [r[0] for r in store.db.execute("SELECT text FROM chunks")]
    t1 = time.perf_counter()
    for i in range(0, len(texts), 64):
        emb.encode_documents(texts[i : i + 64])
    raw = time.perf_counter() - t1
    return {"records": summary.records, "chunks": len(texts), "ingest_s": round(wall, 2),
            "raw_encode_s": round(raw, 2), "ratio": round(wall / raw, 2),
            "store_bytes": dir_size(tmp / "ingest")}


def synthetic_store(tmp: Path, n: int, seed_ctx) -> Path:
    path = tmp / f"scale-{n}"
    ctx = build_context(path, Settings(embedder="e5"))
    ctx.__dict__["embedder"] = seed_ctx.embedder  # same loaded model: load once per process
    ctx.__dict__["tokenizer"] = seed_ctx.tokenizer
    store = ctx.open_store(create=True)
    seed_records = list(seed_ctx.store.iter_records())
    rng = random.Random(n)
    ing = Ingestor(store, ctx.tokenizer, max_bytes=20_000_000)
    summary = IngestSummary()
    per_file = 1000
    for f in range(0, n, per_file):
        qs = []
        for i in range(f, min(n, f + per_file)):
            a, b = rng.sample(seed_records, 2)
            q = f"{a.question.rstrip('?？')}与{b.question[:12]}的关系 #{i}"
            ans = " ".join(x.answers[0].text[:150] for x in (a, b) if x.answers)
            qs.append(ParsedQuestion(question=q, answer=ans or None, position=i - f + 1))
        ing._write(f"synthetic/{f // per_file:05d}.txt", f"s{f}", 0, ParsedDocument(questions=qs), summary)
    # Vectors: real seed chunk vectors + noise, instead of hours of encoding.
    seed_vecs = np.asarray(seed_ctx.store.collection.get(include=["embeddings"])["embeddings"], dtype=np.float32)
    nrng = np.random.default_rng(n)
    while True:
        batch = store.pending_chunks(4096)
        if not batch:
            break
        base = seed_vecs[nrng.integers(0, len(seed_vecs), len(batch))]
        vecs = base + nrng.normal(0, 0.03, base.shape).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        for i in range(0, len(batch), 1000):
            part = batch[i : i + 1000]
            store.add_vectors([c.id for c in part], vecs[i : i + len(part)], [c.record_id for c in part])
        store.mark_embedded([c.id for c in batch])
    store.close()
    return path


def bench_search(path: Path, seed_ctx, n_queries: int) -> dict:
    ctx = build_context(path, Settings(embedder="e5"))
    ctx.__dict__["embedder"] = seed_ctx.embedder
    ctx.__dict__["tokenizer"] = seed_ctx.tokenizer
    r = ctx.retriever
    t0 = time.perf_counter()
    r.search("warm up", k=5)  # loads the BM25 index and opens Chroma
    first = time.perf_counter() - t0
    lat = []
    for i in range(n_queries):
        t = time.perf_counter()
        r.search(QUERIES[i % len(QUERIES)], k=5)
        lat.append((time.perf_counter() - t) * 1000)
    return {"records": ctx.store.count_records(), "chunks": ctx.store.collection.count(),
            "p50_ms": round(statistics.median(lat), 1), "p95_ms": round(pct(lat, 95), 1),
            "first_query_s": round(first, 2), "store_bytes": dir_size(path)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    tmp = Path(tempfile.mkdtemp(prefix="mianshi-bench-"))
    try:
        results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "ingest": bench_ingest(tmp)}
        seed_ctx = build_context(tmp / "ingest", Settings(embedder="e5"))
        results["search"] = []
        for n in sizes:
            t = time.perf_counter()
            path = synthetic_store(tmp, n, seed_ctx)
            build_s = time.perf_counter() - t
            row = bench_search(path, seed_ctx, args.queries)
            row["build_s"] = round(build_s, 1)
            results["search"].append(row)
            shutil.rmtree(path, ignore_errors=True)
        results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    (REPORTS / "bench.md").write_text(render(results))
    print(render(results))


def render(r: dict) -> str:
    i = r["ingest"]
    lines = [
        f"# Benchmarks ({r['machine']})", "",
        f"Ingest of corpus/raw: {i['records']} records, {i['chunks']} chunks in {i['ingest_s']} s; "
        f"raw e5 encoding of the same chunks {i['raw_encode_s']} s → ratio {i['ratio']}× (target ≤ 1.3×); "
        f"store {i['store_bytes'] / 1e6:.1f} MB.", "",
        "Search latency (hybrid BM25 + Chroma, k=5, real e5 query encoding; synthetic records with "
        "seed-derived vectors):", "",
        "| records | chunks | p50 ms | p95 ms | first query s | store MB | build s |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in r["search"]:
        lines.append(f"| {s['records']} | {s['chunks']} | {s['p50_ms']} | {s['p95_ms']} | {s['first_query_s']} | "
                     f"{s['store_bytes'] / 1e6:.1f} | {s['build_s']} |")
    lines += ["", f"Peak RSS of the benchmark process: {r['peak_rss_mb']} MB.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
