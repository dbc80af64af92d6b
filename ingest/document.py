"""One document model for every input format: a title and a flat list of blocks in reading order.

Every reader (Markdown, HTML, PDF, DOCX) produces a ``Document``; ``ingest.sections`` turns its
heading structure into question records. Each block carries two renderings of the same content:

* ``text`` — plain text for search and grading: no markup at all (no emphasis markers, link
  syntax, images, HTML entities); LaTeX is turned into readable symbols (``\\alpha`` -> ``α``).
* ``display`` — Markdown for showing: lists, tables and code fences kept, LaTeX kept as LaTeX
  between ``$…$`` / ``$$…$$`` so the app can render formulas. Also free of images, HTML and link
  syntax (a link shows as its text).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BlockKind = Literal["heading", "paragraph", "list", "table", "code", "math", "quote", "rule"]


class Block(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: BlockKind
    text: str = ""
    display: str = ""
    level: int = Field(0, ge=0, le=6, description="heading level 1-6; 0 for other blocks")
    links_only: bool = Field(False, description="the block is nothing but links (and a label such as 参考资料)")


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    blocks: list[Block] = Field(default_factory=list)

    def plain_text(self) -> str:
        """The whole document as light markdown text (headings as ``#`` lines), for the line parser."""
        out = []
        for b in self.blocks:
            if b.kind == "heading":
                out.append("#" * b.level + " " + b.text)
            elif b.kind != "rule" and b.text:
                out.append(b.text)
        return "\n\n".join(out)

    def first_heading(self, level: int = 1) -> str | None:
        return next((b.text for b in self.blocks if b.kind == "heading" and b.level == level and b.text), None)


# --- LaTeX to readable plain text --------------------------------------------------------------
_LATEX_SYMBOLS = {
    "times": "×", "cdot": "·", "alpha": "α", "beta": "β", "gamma": "γ", "Gamma": "Γ", "delta": "δ",
    "Delta": "Δ", "epsilon": "ε", "varepsilon": "ε", "theta": "θ", "Theta": "Θ", "lambda": "λ",
    "Lambda": "Λ", "mu": "μ", "sigma": "σ", "Sigma": "Σ", "pi": "π", "eta": "η", "partial": "∂",
    "sum": "∑", "prod": "∏", "infty": "∞", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠",
    "ne": "≠", "approx": "≈", "sqrt": "√", "nabla": "∇", "int": "∫", "in": "∈", "rho": "ρ", "tau": "τ",
    "phi": "φ", "varphi": "φ", "Phi": "Φ", "psi": "ψ", "omega": "ω", "Omega": "Ω", "xi": "ξ", "zeta": "ζ",
    "kappa": "κ", "chi": "χ", "pm": "±", "rightarrow": "→", "to": "→", "leftarrow": "←",
    "Rightarrow": "⇒", "log": "log", "exp": "exp", "max": "max", "min": "min", "arg": "arg", "ln": "ln",
    "lim": "lim", "sin": "sin", "cos": "cos", "tanh": "tanh", "mid": "|", "forall": "∀", "exists": "∃",
    "odot": "⊙", "otimes": "⊗", "oplus": "⊕", "propto": "∝", "sim": "~", "ldots": "…", "cdots": "⋯",
    "dots": "…", "top": "ᵀ", "prime": "′",
}
_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_SQRT = re.compile(r"\\sqrt\s*\{([^{}]*)\}")
_STYLE = re.compile(r"\\(?:mathrm|mathbf|mathit|mathcal|mathbb|boldsymbol|text|textbf|operatorname|hat|bar|tilde|vec|overline)\s*\{([^{}]*)\}")
_SIZING = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)\b\s*|\\[,;:! ]|\\quad|\\qquad")
_ENV = re.compile(r"\\(?:begin|end)\{[a-z*]+\}")
_WORD = re.compile(r"\\([A-Za-z]+)")
_BRACES = re.compile(r"[{}]")


def latex_to_plain(latex: str) -> str:
    """Readable text of a formula (``\\frac{a}{b}`` -> ``(a)/(b)``, ``\\sigma`` -> ``σ``)."""
    s = re.sub(r"\\tag\*?\s*\{[^{}]*\}|\\label\s*\{[^{}]*\}", "", latex)
    for _ in range(4):  # nested groups, innermost first
        before = s
        s = _STYLE.sub(r"\1", s)
        s = _SQRT.sub(r"√(\1)", s)
        s = _FRAC.sub(r"(\1)/(\2)", s)
        if s == before:
            break
    s = _ENV.sub(" ", _SIZING.sub("", s))
    s = s.replace("\\\\", "\n").replace("&", " ")
    s = _WORD.sub(lambda m: _LATEX_SYMBOLS.get(m.group(1), m.group(1)), s)
    s = _BRACES.sub("", s)
    return re.sub(r"[ \t]+", " ", s).strip()
