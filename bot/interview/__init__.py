"""The mock interview: state, question planning, the engine that steps it, and the history it writes."""

from bot.interview.engine import InterviewEngine
from bot.interview.history import AnswerRecord, History, normalize_user
from bot.interview.planner import usable
from bot.interview.saved import SavedInterviews
from bot.interview.state import (FOLLOW_UP_MAX, HINT_CAPS, Interview, InterviewConfig, Message, Summary, Turn,
                                 fmt_score)

__all__ = ["FOLLOW_UP_MAX", "HINT_CAPS", "AnswerRecord", "History", "Interview", "InterviewConfig",
           "InterviewEngine", "Message", "SavedInterviews", "Summary", "Turn", "fmt_score", "normalize_user", "usable"]
