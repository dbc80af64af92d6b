"""Clause alignment: each answer clause against the reference statement (key point) it speaks to, with a
verdict — supports, contradicts or unrelated.

A clause is aligned to the key point it shares most *predicate* terms with (entity names such as CNN/DNN count
half, so "CNN 的输入是向量" lands on the reference's "DNN 的输入是向量" and is caught as a wrong entity). A
contradiction is one of: opposite direction words (解决/导致, 增大/减小), an antonym pair (训练/测试, 线性/非线性,
保留/丢失), a shared term negated on one side only, the reference's entity swapped for another entity the
reference names, or different numbers in an otherwise matching statement. Swapped roles between two terms
(BN/GN, 太低/太高) are found over the whole text by ``bot.grading.swaps`` and marked here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.grading import cues
from ingest.tokenize import SYNONYMS

NAMED = frozenset(t for t in SYNONYMS if t.isascii())

SUPPORTS, CONTRADICTS, UNRELATED = "supports", "contradicts", "unrelated"
# The more precise cues (a feature of their own); negation and numbers count only among all contradictions.
STRONG = frozenset({"direction", "antonym", "entity", "swap"})
# Cues precise enough to cap a score by rule. Direction, antonym and entity cues used to cap too, but on the
# 1,572 hand rows they fired on 45 answers labelled 4–5 (a clause aligned to the wrong key point, "不然…还是线性的"
# against "增加非线性") next to 60 labelled 0–2; capped, in-sample QWK 0.808, left to the model 0.839.
CAPPING = frozenset({"swap"})
_ENTITY = re.compile(r"^[a-z][a-z0-9\-]{1,}$")
MIN_SHARED = 1.0  # shared predicate weight for a clause to speak to a key point at all


@dataclass
class Link:
    clause: str
    point: int  # index of the key point, −1 when unrelated
    verdict: str
    why: str = ""


@dataclass
class Alignment:
    links: list[Link] = field(default_factory=list)
    contradicted: set[int] = field(default_factory=set)  # key points some clause contradicts
    supported: set[int] = field(default_factory=set)
    strong: set[int] = field(default_factory=set)  # contradicted by a STRONG cue
    capping: set[int] = field(default_factory=set)  # contradicted by a CAPPING cue

    def mark(self, clause: str, point: int, why: str) -> None:
        """Record a contradiction found outside the clause-by-clause pass (swapped roles: ``bot.grading.swaps``)."""
        if not any(lk.clause == clause and lk.point == point and lk.why == why for lk in self.links):
            self.links.append(Link(clause, point, CONTRADICTS, why))
        self.contradicted.add(point)
        self.supported.discard(point)
        if why in STRONG:
            self.strong.add(point)
        if why in CAPPING:
            self.capping.add(point)

    def wrong_pairs(self, points: list[str], capping_only: bool = False) -> list[tuple[str, str]]:
        seen, out = set(), []
        for lk in self.links:
            if lk.verdict == CONTRADICTS and lk.point not in seen and (lk.why in CAPPING or not capping_only):
                seen.add(lk.point)
                out.append((lk.clause, points[lk.point]))
        return out


def is_entity(tok: str) -> bool:
    return bool(_ENTITY.match(tok))


def is_name(tok: str) -> bool:
    """A named method or model (a glossary term in Latin letters, or a name with a digit: BN, L2, ResNet-50) —
    what a wrong-entity claim swaps; any English word is an ``is_entity`` token, and "feature" for "map" is not
    a wrong entity."""
    return is_entity(tok) and (tok in NAMED or any(c.isdigit() for c in tok))


def _conflict(clause: str, point: str, ctoks: set[str], ptoks: set[str], ref_entities: set[str],
              cdir: dict, pdir: dict) -> str:
    if not cues.counterfactual(clause):
        if cdir and pdir and cues.opposed(cdir, pdir):
            return "direction"
        if cues.antonym_clash(clause, point):
            return "antonym"
    for t in sorted(ctoks & ptoks, key=lambda t: (-len(t), t))[:6]:  # ties by text: no hash-seed order
        if len(t) < 2:
            continue
        a, b = cues.negated(clause, t), cues.negated(point, t)
        if a is not None and b is not None and a != b:
            return "negation"
    ce, pe = {t for t in ctoks if is_name(t)}, {t for t in ptoks if is_name(t)}
    if ce and pe and not ce & pe and ce <= ref_entities and len((ctoks & ptoks) - pe - ce) >= 3:
        return "entity"
    cn, pn = cues.numbers(clause), cues.numbers(point)
    if cn and pn and not cn & pn and len(ctoks & ptoks) >= 2:
        return "number"
    return ""


def align(clauses: list[str], clause_tokens: list[set[str]], clause_dirs: list[dict], points: list[str],
          point_tokens: list[set[str]], question_tokens: set[str]) -> Alignment:
    """Verdict per clause and the key points contradicted/supported (a contradicted point is never supported)."""
    out = Alignment()
    ref_entities = {t for ts in point_tokens for t in ts if is_name(t)}
    own = [ts - question_tokens or ts for ts in point_tokens]
    for clause, ct, cdir in zip(clauses, clause_tokens, clause_dirs):
        if not points or not ct:
            out.links.append(Link(clause, -1, UNRELATED))
            continue
        weights = [sum(0.5 if is_entity(t) else 1.0 for t in ct & o) for o in own]
        i = max(range(len(points)), key=lambda k: (weights[k], -k))
        if weights[i] < MIN_SHARED:
            out.links.append(Link(clause, -1, UNRELATED))
            continue
        why = _conflict(clause, points[i], ct, point_tokens[i], ref_entities, cdir, cues.directions_cached(points[i]))
        if why:
            out.links.append(Link(clause, i, CONTRADICTS, why))
            out.contradicted.add(i)
            if why in STRONG:
                out.strong.add(i)
            if why in CAPPING:
                out.capping.add(i)
        else:
            out.links.append(Link(clause, i, SUPPORTS))
            out.supported.add(i)
    out.supported -= out.contradicted
    return out
