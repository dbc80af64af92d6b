"""The mock interview: state, question planning, the engine that steps it, and the history it writes."""

from bot.interview.engine import Interview, InterviewConfig, InterviewEngine, Message, Summary
from bot.interview.history import AnswerRecord, History, normalize_user

__all__ = ["AnswerRecord", "History", "Interview", "InterviewConfig", "InterviewEngine", "Message", "Summary",
           "normalize_user"]
