"""The previous interview's per-topic scores, for the summary chart (this time vs last time)."""

from __future__ import annotations

from bot.interview.history import History


def previous_topics(history: History | None, user: str, session_id: str) -> dict[str, float]:
    """Average main-answer score per topic in ``user``'s latest other session with answers; {} if none."""
    if history is None or not user:
        return {}
    sessions: dict[str, list] = {}
    for a in history.answers(user):
        if a.session_id != session_id and not a.follow_up:
            sessions.setdefault(a.session_id, []).append(a)
    if not sessions:
        return {}
    last = max(sessions.values(), key=lambda rows: max(r.created_at for r in rows))
    per: dict[str, list[float]] = {}
    for a in last:
        for t in a.topics or ["other"]:
            per.setdefault(t, []).append(a.score)
    return {t: round(sum(v) / len(v), 2) for t, v in per.items()}
