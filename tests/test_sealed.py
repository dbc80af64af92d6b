"""evals/SEALED: every sealed split is listed as `<path>  <sha256>`, matches its file, and a changed file is refused."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from bot.grading import data
from ingest.errors import InputError
from tests.support import ROOT


def test_every_sealed_file_matches_its_listed_hash():
    entries = data.sealed_entries(ROOT / "evals" / "SEALED")
    assert {rel.as_posix() for _, rel in entries} >= data.SPENT_SEALED | {"evals/grade/sealed2/zh_fresh.jsonl"}
    for digest, rel in entries:
        assert hashlib.sha256((ROOT / rel).read_bytes()).hexdigest() == digest, rel


def test_a_changed_sealed_file_is_refused(tmp_path):
    listing = ROOT / "evals" / "SEALED"
    for _, rel in data.sealed_entries(listing):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    unspent = data.load_sealed(listing, tmp_path)
    assert not {Path(p).name for p in data.SPENT_SEALED} & set(unspent)  # the spent splits are not returned
    # The next final run reads only the oldest unspent split; newer ones wait for later iterations.
    waiting = [rel for _, rel in data.sealed_entries(listing)
               if rel.as_posix().startswith("evals/grade/") and rel.as_posix() not in data.SPENT_SEALED]
    if waiting:
        assert unspent and data.current_sealed(listing, tmp_path)[0] == waiting[0].name
    else:  # between a sealed run and the next split being written
        with pytest.raises(InputError, match="no unspent sealed grading split"):
            data.current_sealed(listing, tmp_path)
    with (tmp_path / "evals/grade/sealed2/zh_fresh.jsonl").open("a", encoding="utf-8") as f:
        f.write("\n")
    with pytest.raises(InputError, match="does not match its hash"):
        data.load_sealed(listing, tmp_path)
