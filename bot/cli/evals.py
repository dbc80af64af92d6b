"""`eval search` and `eval grade`: lookup and grading quality on the eval sets in evals/."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bot.cli.common import Bars, JsonOpt, StoreOpt, context, emit, note, say, sub_app
from ingest.errors import InputError


def register(app: typer.Typer) -> None:
    eval_app = sub_app("Measure lookup and grading quality on the eval sets in evals/.")
    eval_app.command("search")(eval_search)
    eval_app.command("grade")(eval_grade)
    app.add_typer(eval_app, name="eval")


def eval_search(
    split: str = typer.Option("test", "--split", help="dev | test | all"),
    data: Path = typer.Option(Path("evals/search_dev.jsonl"), "--data", help="lookup eval set (JSONL)"),
    calibrate: bool = typer.Option(False, "--calibrate", help="fit abstention thresholds on the dev split first"),
    tag: Optional[str] = typer.Option(None, "--tag", help="only rows with this tag (e.g. seed)"),
    as_json: bool = JsonOpt,
    store: Optional[Path] = StoreOpt,
) -> None:
    """Report hit@1, hit@3, MRR and abstain accuracy of lookup.

    Example: mianshi eval search --split test
    """
    from bot.lookup import search_eval

    if split not in ("dev", "test", "all"):
        raise InputError(f"unknown split '{split}' — use dev, test or all")
    ctx = context(store)
    rows = search_eval.load_rows(data)
    if calibrate:
        cal = search_eval.calibrate(ctx.retriever, rows, ctx.embedder.name)
        note(f"calibrated thresholds written to bot/lookup/calibration.json: {cal.model_dump()}")
    report = search_eval.evaluate(ctx.retriever, rows, split, ctx.embedder.name, tag=tag)
    if as_json:
        emit(report.model_dump())
        return
    say(search_eval.format_report(report))


def eval_grade(
    split: str = typer.Option("test", "--split", help="test | train | all"),
    fit: bool = typer.Option(False, "--fit", help="refit the scorer on the train split first "
                                                   "(writes bot/grading/grader_model.json)"),
    data: Path = typer.Option(Path("evals/grade"), "--data", help="directory with the eval JSONL files"),
    as_json: bool = JsonOpt,
) -> None:
    """Agreement of the grader with human labels: QWK, Spearman, Pearson, MAE, confusion, per tag.

    Writes evals/reports/grade-<split>.md and a PNG plot. --fit never sees the test split. The other
    questions' references in the eval set are the contrast set, as the bank would be.

    Example: mianshi eval grade --split test --fit
    """
    from bot.grading import Grader, evaluation, load_params

    rows = evaluation.load_rows(data)
    evaluation.select(rows, split)  # fail on a bad split before loading the model
    ctx = context(None)
    if fit:
        grader = evaluation.grader_for_fit(ctx.embedder, ctx.tokenizer)
        params = evaluation.fit(grader, rows, log=note)
        note(f"fitted on the train split (C={params.C}): CV {params.cv} → bot/grading/grader_model.json")
    else:
        params = load_params()
        grader = Grader(ctx.embedder, ctx.tokenizer, params.model_dump())
    with Bars() as bars:
        rep, scored = evaluation.evaluate(grader, rows, split, params.cv, progress=bars)
    path = evaluation.write_report(rep, scored)
    if as_json:
        emit(rep.model_dump())
    else:
        say(evaluation.format_report(rep))
    note(f"report written to {path}")
