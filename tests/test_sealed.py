"""evals/SEALED: every sealed split is listed as `<path>  <sha256>`, matches its file, and a changed file is refused."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from bot.grading import data
from ingest.errors import InputError
from tests.support import ROOT


def test_every_sealed_file_matches_its_listed_hash():
    entries = data.sealed_entries(ROOT / "evals" / "SEALED")
    assert len(entries) == 5
    for digest, rel in entries:
        assert hashlib.sha256((ROOT / rel).read_bytes()).hexdigest() == digest, rel


def test_a_changed_sealed_file_is_refused(tmp_path):
    listing = ROOT / "evals" / "SEALED"
    for _, rel in data.sealed_entries(listing):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    assert set(data.load_sealed(listing, tmp_path)) == {"zh_fresh.jsonl"}  # the spent splits are not returned
    with (tmp_path / "evals/grade/sealed2/zh_fresh.jsonl").open("a", encoding="utf-8") as f:
        f.write("\n")
    with pytest.raises(InputError, match="does not match its hash"):
        data.load_sealed(listing, tmp_path)
