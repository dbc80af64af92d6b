"""Convert public human-scored short-answer sets to Mianshi's grade-row JSONL.

Reproducible from the GitHub snapshots fetched as bare git directories (nothing is downloaded here):

    aleversn/SAS-Datasets            LE (Chinese, logistics engineering), SR (Chinese translation, health
                                     informatics)
    leocomelli/score-freetext-answer SemEval-2013 task 7 (SRA corpus: Beetle, SciEntsBank), 2-way labels

Usage (from the repository root):

    python evals/scripts/convert_public.py \
        --sas /work/.mirror/aleversn+SAS-Datasets/repo \
        --semeval /work/.mirror/leocomelli+score-freetext-answer/repo

Each output line: id, question, reference, answer, label (0-5), dataset, split, lang, plus source_label (the
dataset's own score or class) and, for SemEval, references (every reference answer of the question).

Which files go where is fixed here, not chosen by whoever runs it:
- sealed (final evaluation only, hashed in evals/SEALED): SciEntsBank test-unseen-domains (whole) and SR
  (whole) -> evals/grade/sealed/
- training / development: LE, Beetle (train, test-unseen-answers, test-unseen-questions), SciEntsBank (train,
  test-unseen-answers, test-unseen-questions) -> evals/grade/public/

Never read: the ASAG directory of SAS-Datasets (Mohler 2011 translated) and the ADS directory. The script
only opens the exact paths listed below, so those files are never touched.

Label mappings (documented in evals/grade/public/README.md):
- LE, SR: score s in [0, 1] -> round(5 * s) (half up).
- SemEval 2-way: correct -> 5, incorrect -> 0.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

FORBIDDEN_PREFIXES = ("ASAG/", "ADS/")

# SR has no question text, only the kind of sentence the students were asked to write; these prompts state
# the task the dataset's README describes (interpret the test's p-value), one per kind.
SR_QUESTIONS = {
    "hypothesis": "根据 t 检验（假设检验）得到的 p 值，你能对样本之间的差异得出什么结论？",
    "normality": "根据正态性检验（Shapiro-Wilk）得到的 p 值，你能对数据的分布得出什么结论？接下来用什么检验？",
}

SEMEVAL_ROOT = "src/main/resources/corpus/semeval2013-task7"
SEMEVAL_PARTS = {
    # (dataset, split) -> directory in the snapshot
    ("beetle", "train"): "training/2way/beetle",
    ("beetle", "test_ua"): "test/2way/beetle/test-unseen-answers",
    ("beetle", "test_uq"): "test/2way/beetle/test-unseen-questions",
    ("scientsbank", "train"): "training/2way/sciEntsBank",
    ("scientsbank", "test_ua"): "test/2way/sciEntsBank/test-unseen-answers",
    ("scientsbank", "test_uq"): "test/2way/sciEntsBank/test-unseen-questions",
    ("scientsbank", "test_ud"): "test/2way/sciEntsBank/test-unseen-domains",
}
SEMEVAL_LABEL = {"correct": 5, "incorrect": 0}


def git_show(gitdir: Path, path: str) -> str:
    if path.startswith(FORBIDDEN_PREFIXES):
        raise SystemExit(f"refusing to read held-out file {path}")
    return subprocess.run(["git", "--git-dir", str(gitdir), "show", f"HEAD:{path}"], check=True,
                          capture_output=True).stdout.decode("utf-8")


def git_ls(gitdir: Path, folder: str) -> list[str]:
    out = subprocess.run(["git", "--git-dir", str(gitdir), "ls-tree", "--name-only", f"HEAD:{folder}"],
                         check=True, capture_output=True, text=True).stdout
    return sorted(f"{folder}/{name}" for name in out.split() if name.endswith(".xml"))


def head_commit(gitdir: Path) -> str:
    return subprocess.run(["git", "--git-dir", str(gitdir), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()


def score01_to_label(s: float) -> int:
    return int(min(5, max(0, int(5 * s + 0.5 + 1e-9))))


def tsv(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE) if row]


def convert_le(gitdir: Path) -> list[dict]:
    questions = {row[0].strip(): row[1].strip() for row in tsv(git_show(gitdir, "LE/qa.csv"))}
    rows = []
    for fname, split in (("LE/s_train_zh.csv", "train"), ("LE/s_eval_zh.csv", "dev")):
        for i, (qid, ref, ans, score) in enumerate(tsv(git_show(gitdir, fname))):
            s = float(score)
            rows.append({"id": f"le-{split}-{i:04d}", "question": questions.get(qid.strip(), ""),
                         "reference": ref.strip(), "answer": ans.strip(), "label": score01_to_label(s),
                         "dataset": "LE", "split": split, "lang": "zh", "source_label": s, "qid": qid.strip()})
    return rows


def convert_sr(gitdir: Path) -> list[dict]:
    rows = []
    for row in tsv(git_show(gitdir, "SR/sentences-goldstandard.csv")):
        sid, ans, kind, score, _binary, _blank, gold_id, ref = row[:8]
        s = float(score)
        rows.append({"id": f"sr-{sid}", "question": SR_QUESTIONS[kind], "reference": ref.strip(),
                     "answer": ans.strip(), "label": score01_to_label(s), "dataset": "SR", "split": "sealed",
                     "lang": "zh", "source_label": s, "qid": gold_id})
    return rows


def convert_semeval(gitdir: Path, dataset: str, split: str, folder: str, out_split: str) -> list[dict]:
    rows = []
    for path in git_ls(gitdir, f"{SEMEVAL_ROOT}/{folder}"):
        q = ET.fromstring(git_show(gitdir, path))
        qtext = " ".join("".join(q.find("questionText").itertext()).split())
        refs = [(r.get("category"), " ".join("".join(r.itertext()).split()))
                for r in q.find("referenceAnswers")]
        best = [t for c, t in refs if c in (None, "BEST")] or [t for _, t in refs]
        for a in q.find("studentAnswers"):
            acc = a.get("accuracy")
            rows.append({"id": f"{dataset}-{split}-{a.get('id')}", "question": qtext, "reference": best[0],
                         "references": [t for _, t in refs], "answer": " ".join("".join(a.itertext()).split()),
                         "label": SEMEVAL_LABEL[acc], "dataset": f"semeval2013-{dataset}", "split": out_split,
                         "lang": "en", "source_label": acc, "qid": q.get("id")})
    return rows


def write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{path}: {len(rows)} rows", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sas", type=Path, default=Path("/work/.mirror/aleversn+SAS-Datasets/repo"))
    p.add_argument("--semeval", type=Path, default=Path("/work/.mirror/leocomelli+score-freetext-answer/repo"))
    p.add_argument("--out", type=Path, default=Path("evals/grade"))
    p.add_argument("--only", choices=["sealed", "public", "all"], default="all")
    args = p.parse_args(argv)
    print(f"SAS-Datasets @ {head_commit(args.sas)}; score-freetext-answer @ {head_commit(args.semeval)}",
          file=sys.stderr)
    if args.only in ("sealed", "all"):
        write(args.out / "sealed" / "sr_zh.jsonl", convert_sr(args.sas))
        write(args.out / "sealed" / "scientsbank_ud.jsonl",
              convert_semeval(args.semeval, "scientsbank", "test_ud", SEMEVAL_PARTS[("scientsbank", "test_ud")],
                              "sealed"))
    if args.only in ("public", "all"):
        write(args.out / "public" / "le.jsonl", convert_le(args.sas))
        for name in ("beetle", "scientsbank"):
            rows = []
            for (ds, split), folder in SEMEVAL_PARTS.items():
                if ds == name and split != "test_ud":
                    rows += convert_semeval(args.semeval, ds, split, folder, split)
            write(args.out / "public" / f"semeval2013_{name}.jsonl", rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
