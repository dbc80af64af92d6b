"""Grouped folds shared by every out-of-fold run (the scorer's cross-validation and the pair head's)."""

from __future__ import annotations

from collections import defaultdict

FOLDS = 5


def group_folds(groups: list[str], n: int = FOLDS) -> list[set[str]]:
    """Groups dealt round-robin by size (largest first) so folds hold similar numbers of rows."""
    sizes: dict[str, int] = defaultdict(int)
    for g in groups:
        sizes[g] += 1
    folds: list[set[str]] = [set() for _ in range(n)]
    load = [0] * n
    for g in sorted(sizes, key=lambda k: (-sizes[k], k)):
        i = min(range(n), key=lambda k: (load[k], k))
        folds[i].add(g)
        load[i] += sizes[g]
    return folds
