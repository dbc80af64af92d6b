"""Grading eval data: the labelled rows in evals/grade/ (train/dev, public sets, the sealed split).

Sealed files are read only through ``load_sealed``, which checks every file against evals/SEALED first.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from pydantic import ConfigDict, Field

from bot.jsonl import read_models
from ingest.errors import InputError
from ingest.schema import Strict

EVAL_DIR = Path("evals/grade")
SEALED_LIST = Path("evals/SEALED")
TRAIN_FILES = ("part_a.jsonl", "part_b.jsonl")
DEV_FILES = ("dev/dev_zh.jsonl", "dev/dev_zh2.jsonl")
# Sealed files whose numbers were already seen (the issue-11 grader, evaluated once and changed after): still
# hash-checked, never returned as a test split again. See evals/grade/README.md.
SPENT_SEALED = frozenset({"evals/grade/sealed/zh_new.jsonl", "evals/grade/sealed/scientsbank_ud.jsonl",
                          "evals/grade/sealed/sr_zh.jsonl", "evals/grade/sealed2/zh_fresh.jsonl",
                          "evals/grade/sealed3/zh_fresh3.jsonl", "evals/grade/sealed4/zh_fresh4.jsonl",
                          "evals/grade/sealed5/zh_fresh5.jsonl", "evals/grade/sealed6/zh_fresh6.jsonl",
                          "evals/grade/sealed7/zh_fresh7.jsonl"})
PUBLIC_FILES = ("public/le.jsonl", "public/semeval2013_beetle.jsonl", "public/semeval2013_scientsbank.jsonl")
# Spent sealed files that are training data now: hand-written answers, and two public sets.
SPENT_HAND = ("sealed/zh_new.jsonl", "sealed2/zh_fresh.jsonl", "sealed3/zh_fresh3.jsonl", "sealed4/zh_fresh4.jsonl",
              "sealed5/zh_fresh5.jsonl", "sealed6/zh_fresh6.jsonl",
              "sealed7/zh_fresh7.jsonl")
SPENT_PUBLIC = ("sealed/sr_zh.jsonl", "sealed/scientsbank_ud.jsonl")


class GradeRow(Strict):
    """One labelled answer; files carry more fields (dataset, lang, bank_id, qid …): read leniently."""

    model_config = ConfigDict(extra="ignore")
    id: str
    question: str
    reference: str
    answer: str
    label: int = Field(ge=0, le=5)
    reason: str = ""
    tags: list[str] = Field(default_factory=list)
    split: str = ""
    dataset: str = "mianshi"
    lang: str = ""

    @property
    def is_choice(self) -> bool:
        # MCQ rows carry the answer key ("C", "AD") as their reference.
        return "choice" in self.tags or bool(re.fullmatch(r"[A-Fa-f]{1,6}", self.reference.strip()))


def read_rows(path: Path) -> list[GradeRow]:
    return read_models(path, GradeRow, missing=f"找不到评测集 no eval file {path} — see evals/grade/README.md")


def load(names: tuple[str, ...], directory: Path = EVAL_DIR) -> list[GradeRow]:
    return [r for name in names for r in read_rows(Path(directory) / name)]


def hand_sets() -> dict[str, list[GradeRow]]:
    """Every hand-labelled file the scorer may fit on, by name: the older rows, both dev files and the spent
    sealed split (its numbers were seen once; it is training data now, never a test split)."""
    names = (*TRAIN_FILES, *DEV_FILES, *SPENT_HAND)
    return {Path(n).stem: read_rows(EVAL_DIR / n) for n in names}


def public_sets() -> dict[str, list[GradeRow]]:
    """The public human-scored sets the scorer may fit on, by name (the held-out ones are never converted)."""
    return {Path(n).stem: read_rows(EVAL_DIR / n) for n in (*PUBLIC_FILES, *SPENT_PUBLIC)}


def sealed_entries(listing: Path = SEALED_LIST) -> list[tuple[str, Path]]:
    """(sha256, path) for each ``<path>  <sha256>`` line of evals/SEALED."""
    out = []
    for line in listing.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            path, digest = line.rsplit(None, 1)
            out.append((digest, Path(path.strip())))
    return out


def load_sealed(listing: Path = SEALED_LIST, root: Path = Path("."), *,
                include_spent: bool = False) -> dict[str, list[GradeRow]]:
    """The unspent sealed files, after checking every listed file's sha256 against evals/SEALED (refuses on any
    mismatch); spent files only with ``include_spent``."""
    out = {}
    for digest, rel in sealed_entries(listing):
        if not rel.as_posix().startswith("evals/grade/"):
            continue  # the lookup eval's sealed files are listed here too
        path = root / rel
        if not path.is_file():
            raise InputError(f"sealed file {rel} is missing — restore it from git")
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise InputError(f"sealed file {rel} does not match its hash in {listing} — it was changed; "
                             f"restore it from git or write a fresh sealed split")
        if include_spent or rel.as_posix() not in SPENT_SEALED:
            out[rel.name] = read_rows(path)
    return out


def current_sealed(listing: Path = SEALED_LIST, root: Path = Path(".")) -> tuple[str, list[GradeRow]]:
    """The one grading split the next final run reads: the oldest unspent one in evals/SEALED (the newer ones
    wait for later iterations). Every listed file is hash-checked first."""
    unspent = load_sealed(listing, root)
    if not unspent:
        raise InputError("no unspent sealed grading split in evals/SEALED — write a fresh one first "
                         "(see evals/grade/README.md)")
    name = next(iter(unspent))
    return name, unspent[name]
