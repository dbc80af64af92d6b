"""`mianshi grade` and `mianshi eval grade`: batch grading of JSONL answers, and the grader's eval."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from pydantic import Field, field_validator

from ingest.errors import BadInputLine, InputError
from ingest.schema import Strict


class GradeInput(Strict):
    question: str
    answer: str
    reference: str | list[str] | None = None
    id: str | None = None
    kind: str | None = Field(None, pattern="^(open|choice)$")
    correct: str | None = None

    @field_validator("question")
    @classmethod
    def _nonempty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("question is empty")
        return v

    def references(self) -> list[str]:
        if self.reference is None:
            return []
        refs = [self.reference] if isinstance(self.reference, str) else self.reference
        return [r for r in refs if r.strip()]


def _parse(lineno: int, line: str) -> GradeInput:
    from pydantic import ValidationError

    try:
        return GradeInput.model_validate_json(line)
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(x) for x in e.get("loc", ()))
        detail = f"{where}: {e['msg']}" if where else e["msg"]
        raise BadInputLine(lineno, f"{detail} — each line must be a JSON object with \"question\" and \"answer\"") from None


def make_grader(embedder, tokenizer):
    from bot.grading import Grader

    return Grader(embedder, tokenizer)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    @app.command("grade")
    def grade_cmd(
        input: Path = typer.Option(..., "--input", help="JSONL: {\"question\", \"answer\"} plus optional \"reference\""),
        output: Optional[Path] = typer.Option(None, "--output", help="write graded JSONL here (default: stdout)"),
        store: Optional[Path] = typer.Option(None, "--store", help="bank used for lines without a reference"),
    ) -> None:
        """Grade answers 0–5 against references (or the bank), one JSON object per line.

        Lines without "reference" are matched to the bank by their question. A malformed
        line is reported on stderr by line number; the other lines are still graded and
        the exit code is 2.

        Example: mianshi grade --input answers.jsonl --output graded.jsonl
        """
        from bot.cli import _Bars, _ctx, _emit, err
        from bot.grading import grade_with_bank

        if not input.exists():
            raise InputError(f"找不到文件 no such file: {input} — give a JSONL file with --input")
        lines = input.read_text(encoding="utf-8", errors="replace").splitlines()
        items: list[tuple[int, GradeInput | None]] = []
        bad = 0
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                items.append((n, _parse(n, line)))
            except BadInputLine as exc:
                err.print(f"错误 error: {exc}", markup=False, highlight=False)
                bad += 1
        ctx = _ctx(store)
        need_bank = any(it is not None and not it.references() and it.kind != "choice" for _, it in items)
        if need_bank and not (ctx.store_dir / "records.sqlite").exists():
            raise InputError(
                f"some lines have no \"reference\" and there is no bank at {ctx.store_dir} — "
                f"add a \"reference\" to each line or run `mianshi ingest` (or pass --store DIR)"
            )
        grader = make_grader(ctx.embedder, ctx.tokenizer)
        # Contrast set: the other questions' references in this batch, plus the bank's answers when a bank
        # exists — an answer should sit closer to its own question's references than to those.
        from bot.grade_features import ContrastSet

        pairs = [(it.question, r) for _, it in items if it.kind != "choice" for r in it.references()]
        batch = ContrastSet.from_pairs(grader.cache, grader.tokenizer, pairs) if pairs else None
        bank = None
        if (ctx.store_dir / "records.sqlite").exists():
            bank = ContrastSet.from_store(ctx.retriever.store, grader.cache)
        contrast = ContrastSet.merge(bank, batch)
        if contrast is not None:
            grader.set_contrast(contrast)
        sink = output.open("w", encoding="utf-8") if output else None
        try:
            with _Bars() as bars:
                for i, (n, it) in enumerate(items, 1):
                    refs = it.references()
                    if refs or it.kind == "choice":
                        g = grader.grade(it.question, it.answer, refs, kind=it.kind or "open", correct=it.correct,
                                         reference_ids=[it.id] * len(refs) if it.id else ())
                    else:
                        g = grade_with_bank(grader, ctx.retriever, it.question, it.answer)
                    row = {**it.model_dump(exclude_none=True), "score": g.score, "feedback": g.feedback,
                           "key_points_hit": g.key_points_hit, "key_points_missed": g.key_points_missed,
                           "reference_ids": g.reference_ids}
                    if sink:
                        sink.write(json.dumps(row, ensure_ascii=False) + "\n")
                    else:
                        _emit(row)
                    bars("grade", i, len(items))
        finally:
            if sink:
                sink.close()
        if output:
            err.print(f"已评分 graded {len(items)} answers → {output}", markup=False, highlight=False)
        if bad:
            err.print(f"错误 error: {bad} malformed line(s) skipped", markup=False, highlight=False)
            raise typer.Exit(2)

    @eval_app.command("grade")
    def eval_grade_cmd(
        split: str = typer.Option("test", "--split", help="test | train | all"),
        fit: bool = typer.Option(False, "--fit", help="refit the scorer on the train split first (writes bot/grader_model.json)"),
        data: Path = typer.Option(Path("evals/grade"), "--data", help="directory with the eval JSONL files"),
        as_json: bool = typer.Option(False, "--json", help="print JSON only on stdout"),
    ) -> None:
        """Agreement of the grader with human labels: QWK, Spearman, Pearson, MAE, confusion, per tag.

        Writes evals/reports/grade-<split>.md and a PNG plot. --fit never sees the test split. The other
        questions' references in the eval set are the contrast set, as the bank would be.

        Example: mianshi eval grade --split test --fit
        """
        from bot import grade_eval
        from bot.cli import _Bars, _ctx, _emit, err, out
        from bot.grade_model import load_params
        from bot.grading import Grader

        rows = grade_eval.load_rows(data)
        grade_eval.select(rows, split)  # fail on a bad split before loading the model
        ctx = _ctx(None)
        if fit:
            grader = grade_eval.grader_for_fit(ctx.embedder, ctx.tokenizer)
            params = grade_eval.fit(grader, rows, log=lambda m: err.print(m, markup=False, highlight=False))
            err.print(f"fitted on the train split (C={params.C}): CV {params.cv} → bot/grader_model.json",
                      markup=False, highlight=False)
        else:
            params = load_params()
            grader = Grader(ctx.embedder, ctx.tokenizer, params.model_dump())
        with _Bars() as bars:
            rep, scored = grade_eval.evaluate(grader, rows, split, params.cv, progress=bars)
        path = grade_eval.write_report(rep, scored)
        if as_json:
            _emit(rep.model_dump())
        else:
            out.print(grade_eval.format_report(rep), markup=False, highlight=False)
        err.print(f"report written to {path}", markup=False, highlight=False)
