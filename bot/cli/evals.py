"""`eval search` and `eval grade`: lookup and grading quality on the eval sets in evals/."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bot.cli.common import Bars, JsonOpt, StoreOpt, context, emit, note, say, sub_app
from bot.texts import CLI_HELP
from ingest.errors import InputError


def register(app: typer.Typer) -> None:
    eval_app = sub_app("Measure lookup and grading quality on the eval sets in evals/.")
    eval_app.command("search", short_help=CLI_HELP["eval search"])(eval_search)
    eval_app.command("grade", short_help=CLI_HELP["eval grade"])(eval_grade)
    app.add_typer(eval_app, name="eval", short_help=CLI_HELP["eval"])


def eval_search(
    split: str = typer.Option("test", "--split", help="dev | test | all"),
    data: Path = typer.Option(Path("evals/search_dev.jsonl"), "--data", help="lookup eval set (JSONL)"),
    calibrate: bool = typer.Option(False, "--calibrate", help="fit the reranker, then the abstention thresholds, "
                                                               "on the --fit-split rows first"),
    fit_split: str = typer.Option("dev", "--fit-split", help="rows --calibrate fits on: dev | test | all"),
    tag: Optional[str] = typer.Option(None, "--tag", help="only rows with this tag (e.g. seed)"),
    also: list[str] = typer.Option([], "--calibrate-with", help="STORE=DATA: also fit on this bank's rows "
                                                                "(repeat it; one store may take several files)"),
    as_json: bool = JsonOpt,
    store: Optional[Path] = StoreOpt,
) -> None:
    """Report hit@1, hit@3, MRR and abstain accuracy of lookup.

    Example: mianshi eval search --split test
    """
    from bot.lookup import search_eval

    for name, value in (("--split", split), ("--fit-split", fit_split)):
        if value not in ("dev", "test", "all"):
            raise InputError(f"unknown split '{value}' for {name} — use dev, test or all")
    ctx = context(store)
    rows = search_eval.load_rows(data)
    if calibrate:
        by_store: dict[Path, list] = {}
        for spec in also:
            other, sep, other_data = spec.partition("=")
            if not sep:
                raise InputError(f"--calibrate-with wants STORE=DATA, got '{spec}'")
            by_store.setdefault(Path(other), []).extend(search_eval.load_rows(Path(other_data)))
        extra = [(context(p).retriever, rs) for p, rs in by_store.items()]
        model = search_eval.fit_reranker([(ctx.retriever, rows), *extra], fit_split)
        if model is not None:
            note(f"reranker written to bot/lookup/rerank.json: fitted on {model.fitted_on}")
        cal = search_eval.calibrate(ctx.retriever, rows, ctx.embedder.name, also=extra, split=fit_split)
        note(f"calibrated thresholds written to bot/lookup/calibration.json: {cal.model_dump()}")
    report = search_eval.evaluate(ctx.retriever, rows, split, ctx.embedder.name, tag=tag)
    if as_json:
        emit(report.model_dump())
        return
    say(search_eval.format_report(report))


def eval_grade(
    fit: bool = typer.Option(False, "--fit", help="refit the manipulation classifier and the scorer first "
                                                   "(writes bot/grading/*_model.json; never reads the sealed split)"),
    sealed: bool = typer.Option(False, "--sealed", help="evaluate on the current sealed split (hash-checked; once, "
                                                        "at the end)"),
    store: Optional[Path] = typer.Option(None, "--store", help="bank for synthetic rows, contrast and latency"),
    cache: Optional[Path] = typer.Option(None, "--cache", help="on-disk vector cache (.npz) for repeated runs"),
    as_json: bool = JsonOpt,
) -> None:
    """Agreement of the grader with human labels: QWK, Spearman, Pearson, MAE, confusion, per answer kind.

    By default every hand-labelled file out-of-fold (a model fitted without the row's question) and every
    public set cross-domain (a model fitted without that set); writes evals/reports/grade-dev.md. With
    --sealed, the current sealed split once (evals/reports/grade-sealed.md).

    Example: mianshi eval grade --fit
    """
    from bot.grading import report, runs
    from bot.grading.cache import DiskCachedEmbedder, DiskCachedStates
    from ingest.e5states import StateEncoder
    from bot.grading.pairhead import MAX_TOKENS, load_pair_scorer

    ctx = context(store)
    emb = DiskCachedEmbedder(ctx.embedder, cache) if cache else ctx.embedder
    states = (DiskCachedStates(StateEncoder(), cache.with_suffix(".states.npz"), MAX_TOKENS) if cache
              else StateEncoder())
    pair = load_pair_scorer(required=not fit, encoder=states)
    chunking = (ctx.settings.chunk_chars, ctx.settings.chunk_overlap)
    prepared = None
    if fit:
        info, prepared = runs.fit_all(emb, ctx.tokenizer, ctx.store, chunking, log=note, pair=pair)
        note(f"fitted on {info['rows']} rows: CV {info['cv']}")
        if cache:
            states.save()
    with Bars() as bars:
        text, summary = runs.evaluate_all(emb, ctx.tokenizer, ctx.store, ctx.retriever, chunking, sealed=sealed,
                                          progress=bars, log=note, prepared=prepared, pair=pair)
    if cache:
        states.save()
    path = report.write("sealed" if sealed else "dev", [f"# Grading eval ({'sealed' if sealed else 'dev'})\n", text])
    if as_json:
        emit(summary)
    else:
        say(text)
    note(f"report written to {path}")
