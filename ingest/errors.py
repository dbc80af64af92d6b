"""Small named exceptions. Every message tells the user how to fix the problem."""

from __future__ import annotations


class MianshiError(Exception):
    """Base class: the CLI prints ``str(err)`` on one line and exits non-zero."""

    exit_code = 1


class InputError(MianshiError):
    """A path or file the user gave cannot be used."""

    exit_code = 2


class NoStoreError(MianshiError):
    def __init__(self, path) -> None:
        super().__init__(f"没有找到题库 no store at {path} — run `mianshi ingest` first")


class StoreVersionError(MianshiError):
    def __init__(self, path, found: int, expected: int) -> None:
        super().__init__(
            f"题库版本不兼容 store at {path} has schema v{found}, this mianshi needs v{expected} — "
            f"run `mianshi ingest --rebuild` to rebuild it"
        )


class StoreMismatchError(MianshiError):
    """The store was built with another embedding model than the one configured."""


class UnknownBackendError(MianshiError):
    def __init__(self, kind: str, name: str, valid: list[str]) -> None:
        super().__init__(f"unknown {kind} '{name}' — choose one of: {', '.join(sorted(valid))}")


class ModelLoadError(MianshiError):
    """An embedding or language model could not be loaded offline."""


class ChromaUnavailableError(MianshiError):
    def __init__(self, url: str, cause: Exception) -> None:
        super().__init__(
            f"连不上向量库 cannot reach the Chroma server at {url} ({type(cause).__name__}) — start it with "
            f"`chroma run --path DIR --host 127.0.0.1 --port N` or unset MIANSHI_CHROMA_URL"
        )
