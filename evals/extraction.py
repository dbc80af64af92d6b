"""Measure question extraction on real Markdown collections (issue 12 targets).

    python -m evals.extraction DIR [DIR ...] [--report evals/reports/extraction.md]

Each DIR is one collection (a cloned repository). Every file goes through the real reader
(``ingest.formats.load_document``). The reference is read from the raw Markdown with a separate,
deliberately simple reader (regexes over the source lines, no parser), so the measure does not
share the extractor's rules:

* question heading: a heading whose text has a question mark or a question marker (``Q3``, 第三题);
* found: some record's question equals that heading's text once numbering and markup are removed;
* right answer start: the first real content line under the heading (skipping images, HTML, links-
  only lines, stubs) appears at the start of the record's answer; a heading with no such line must
  be stored unanswered;
* clean question text: no numbering, link/emphasis/HTML/entity residue in a record's question;
* TODO answer: an answer that contains a stub (TODO, 待补充, TBD, "Answer here", ``[ ]``);
* markup residue: a record whose question or plain answer still has Markdown/HTML syntax;
* invented question: a record whose question does not come from a heading or a line of the source.
"""

from __future__ import annotations

import argparse
import re
import unicodedata
import sys
from pathlib import Path

from ingest.errors import InputError
from ingest.formats import load_document
from ingest.read import read_bytes

MAX = 20_000_000
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_IMG = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_TAGS = re.compile(r"<[^>]+>")
_ENT = re.compile(r"&[a-zA-Z]+;|&#\d+;")
_MARKS = re.compile(r"[*_`~]")
_NUM = re.compile(r"^\s*(?:(?:Q|问题)\s*\d+\s*[.:：、)]?|第\s*[一二三四五六七八九十\d]+\s*题\s*[.:：、]?|\d+(?:\.\d+)*\s*[.、:：)]?|\(\d+\)|[一二三四五六七八九十]+、)\s*", re.I)
_QMARK = re.compile(r"[?？]|^\s*(?:Q\s*\d|问题\s*\d|第\s*[一二三四五六七八九十\d]+\s*题)", re.I)
_STUB = re.compile(r"\bTODO\b|待补充|待完善|\bTBD\b|answer here|^\s*(?:[-*]\s*)?\[ \]", re.I | re.M)
_RESIDUE = re.compile(r"\*\*|!\[|\]\(|\[\[|&[a-zA-Z]{2,8};|<(?:br|img|div|span|p|details|summary|font|b|a)[\s>/]|\$\$|\\frac|\\mathrm|^#{1,6} ", re.M)
_Q_RESIDUE = re.compile(
    r"^\s*(?:\d+(?:\.\d+)*[.、:)\s]|Q\d+\b|第.{1,3}题)|\[\[|\]\(|\[(?:src|answer|link|source)\]|\*\*|(?<!\d)\*|"
    r"\*(?!\d)|__|#|&[a-z]+;|<[a-z/]|`|^\s*$", re.I)
_SIG = re.compile(r"[\W_]+")


def strip_md(s: str) -> str:
    s = _IMG.sub("", s)
    s = _LINK.sub(r"\1", s)
    s = _ENT.sub(" ", _TAGS.sub(" ", s))
    return _MARKS.sub("", s).strip()


def _fw(s: str) -> str:
    return s.translate({c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)})


def norm(s: str) -> str:
    return _SIG.sub("", _fw(s)).lower()


_QLINE = re.compile(r"^\s{0,3}(?:(?:Q|问题)\s*\d+\s*[.:：、]|\*\*[^*].*[?？].*\*\*\s*\S{0,3}\s*$)", re.I)
_LATEX = re.compile(r"\\[A-Za-z]+")
_KEEP = re.compile(r"[^a-z0-9\u3400-\u9fff]+")
_CODE = re.compile(r"```.*?```", re.S)


def start_key(s: str) -> str:
    """First characters of a line, compared only on letters/digits/CJK (formulas differ in form)."""
    return _KEEP.sub("", _LATEX.sub("", s).lower())[:8]


def loose(s: str) -> str:
    s = unicodedata.normalize("NFKC", s)
    return _KEEP.sub("", _LATEX.sub("", s).lower())


def reference(text: str) -> tuple[list[tuple[str, str]], set[str]]:
    """(question heading, expected answer start) pairs, and every normalised source line."""
    lines = text.split("\n")
    heads: list[tuple[int, int, str]] = []
    fence = False
    content: list[tuple[int, str]] = []
    for i, ln in enumerate(lines):
        if _FENCE.match(ln):
            fence = not fence
            continue
        if fence:
            continue
        m = _HEADING.match(ln)
        if m:
            heads.append((i, len(m.group(1)), strip_md(m.group(2))))
        elif _QLINE.match(ln):
            heads.append((i, 7, strip_md(ln)))  # a marked question line: ends at the next one
        content.append((i, ln))
    all_lines = {loose(_NUM.sub("", strip_md(_fw(ln)))) for _, ln in content if ln.strip()}
    out = []
    for k, (i, level, title) in enumerate(heads):
        if not _QMARK.search(title):
            continue
        end = next((j for j, lv, _ in heads[k + 1:] if lv <= level or lv == 7), len(lines))
        start = ""
        for j in range(i + 1, end):
            ln = lines[j].strip()
            if not ln or _FENCE.match(ln):
                continue
            # "Answer:" is a label, not the answer.
            plain = re.sub(r"^\s*(?:answer|ans|答案|答|解答|参考答案|解析)\s*[:：]\s*", "", strip_md(_HEADING.sub(r"\2", ln)), flags=re.I)
            without_links = _LINK.sub("", _IMG.sub("", ln))
            if not norm(plain) or _STUB.search(ln) or not norm(re.sub(r"参考资料|参考|Reference|https?://\S+", "", strip_md(without_links))):
                continue
            if re.match(r"^[-*]{3,}$", ln):
                break
            start = start_key(re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", plain))
            break
        out.append((title, start))
    # Headings past the next heading (sub-headings) count as answer starts too.
    return out, all_lines


def measure(root: Path) -> dict:
    files = sorted(f for f in root.rglob("*.md") if not any(p.startswith(".") for p in f.relative_to(root).parts))
    m = dict(files=0, records=0, ref=0, found=0, clean=0, start_ok=0, todo=0, residue=0, invented=0, topic=0,
             examples={"missed": [], "bad_start": [], "unclean": [], "residue": [], "invented": [], "todo": []})
    for f in files:
        data = f.read_bytes()
        try:
            doc = load_document(f, read_bytes(f, MAX), MAX)
        except InputError:
            doc = None
        text = data.decode("utf-8", errors="replace")
        refs, lines = reference(text)
        records = doc.questions if doc else []
        m["files"] += 1
        m["records"] += len(records)
        by_q = {}
        for r in records:
            by_q.setdefault(loose(r.question), r)
        for title, start in refs:
            m["ref"] += 1
            key = loose(_NUM.sub("", _fw(title)))
            rec = by_q.get(key) or next((r for k, r in by_q.items() if key and k and (key in k or k in key)
                                         and min(len(k), len(key)) >= 0.6 * max(len(k), len(key))), None)
            if rec is None:
                _ex(m, "missed", f"{f.name}: {title}")
                continue
            m["found"] += 1
            ans = loose(rec.answer or "")
            if (not start and not rec.answer) or (start and start in ans[:80]):
                m["start_ok"] += 1
            else:
                _ex(m, "bad_start", f"{f.name}: {title} | want {start!r} got {ans[:30]!r}")
        for r in records:
            if not _Q_RESIDUE.search(r.question):
                m["clean"] += 1
            else:
                _ex(m, "unclean", r.question)
            if r.answer and _STUB.search(r.answer):
                m["todo"] += 1
                _ex(m, "todo", f"{r.question} | {r.answer[:60]!r}")
            # Code keeps its characters (``**`` is Python's power, ``# `` a comment): not residue.
            prose = _without_code(r.answer or "", r.display or "")
            if _RESIDUE.search(r.question) or _RESIDUE.search(prose):
                m["residue"] += 1
                hit = _RESIDUE.search(r.question + "\n" + prose)
                _ex(m, "residue", f"{r.question} | {hit.group(0)!r}")
            q = r.question
            if " · " in q:
                m["topic"] += 1
                q = q.split(" · ")[-1]
            nq = loose(q)
            if not nq or not any(nq in ln for ln in lines if len(ln) >= len(nq)):
                m["invented"] += 1
                _ex(m, "invented", f"{f.name}: {r.question}")
    return m


def _without_code(plain: str, display: str) -> str:
    for block in _CODE.findall(display):
        body = block.split("\n", 1)[1].rsplit("```", 1)[0] if "\n" in block else ""
        for ln in body.split("\n"):
            if ln.strip():
                plain = plain.replace(ln.strip(), "", 1)
    return plain


def _ex(m: dict, kind: str, text: str) -> None:
    if len(m["examples"][kind]) < 8:
        m["examples"][kind].append(text[:160])


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f} %" if b else "n/a"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--report", type=Path)
    ap.add_argument("--examples", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    total = None
    for d in args.dirs:
        m = measure(d)
        rows.append((d.name, m))
        total = m if total is None else {k: (total[k] + v if k != "examples" else total[k]) for k, v in m.items()}
    header = ("| collection | files | records | question headings found | clean question text | right answer start "
              "| TODO answers | markup residue | invented questions | topic records |\n"
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [header]
    for name, m in rows + [("**all**", total)]:
        lines.append(
            f"| {name} | {m['files']} | {m['records']} | {m['found']}/{m['ref']} ({pct(m['found'], m['ref'])}) "
            f"| {pct(m['clean'], m['records'])} | {m['start_ok']}/{m['found']} ({pct(m['start_ok'], m['found'])}) "
            f"| {m['todo']} | {m['residue']} ({pct(m['residue'], m['records'])}) "
            f"| {m['invented']} ({pct(m['invented'], m['records'])}) | {m['topic']} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.examples:
        for name, m in rows:
            for kind, ex in m["examples"].items():
                for e in ex:
                    print(f"{name[:20]} {kind}: {e}", file=sys.stderr)
    if args.report:
        text = args.report.read_text(encoding="utf-8") if args.report.exists() else ""
        marker = "<!-- table -->"
        if marker in text:
            head, _, rest = text.partition(marker)
            _, _, tail = rest.partition("<!-- /table -->")
            args.report.write_text(f"{head}{marker}\n{table}\n<!-- /table -->{tail}", encoding="utf-8")
        else:
            args.report.write_text(f"{marker}\n{table}\n<!-- /table -->\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
