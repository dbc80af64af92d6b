"""Build or update a bank in a store directory: the whole `ingest` operation, for any entry point."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from ingest.pipeline import Ingestor, discover, ingest_paths, rebuild_dir, swap_in
from ingest.schema import IngestSummary
from ingest.settings import BankSettings
from ingest.store import Store, store_exists

Progress = Callable[[str, int, int], None]


def _noop(stage: str, done: int, total: int) -> None:
    pass


def build_bank(paths: list[Path], store_dir: Path, embedder, tokenizer, settings: BankSettings, *,
               rebuild: bool = False, progress: Progress = _noop) -> IngestSummary:
    """Ingest ``paths`` into the store at ``store_dir`` (created if missing).

    With ``rebuild`` a fresh store is built beside the old one and swapped in only when done. Bad paths
    fail before anything is opened or created; when nothing was readable no empty store is left behind.
    """
    discover(paths)
    target = rebuild_dir(store_dir) if rebuild else store_dir
    existed = store_exists(target)
    st = Store(target, embedder, create=True, chroma_url=settings.chroma_url)
    try:
        summary = ingest_paths(paths, st, tokenizer, max_bytes=settings.max_file_bytes,
                               chunk_chars=settings.chunk_chars, chunk_overlap=settings.chunk_overlap,
                               progress=progress)
    finally:
        st.close()
    if summary.files == 0 and not existed:
        shutil.rmtree(target, ignore_errors=True)
    elif rebuild:
        swap_in(target, store_dir)
    return summary


def remove_source(store: Store, tokenizer, settings: BankSettings, source: str) -> int:
    """Remove one source document; returns how many records it touched. Vectors are dropped before returning."""
    ing = Ingestor(store, tokenizer, max_bytes=settings.max_file_bytes)
    n = ing.remove_source(source)
    ing.sync_vectors(IngestSummary())
    return n
