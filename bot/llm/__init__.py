"""Optional LLM backends (none / openai / ollama / local) and the roles they play, with offline fallbacks."""

from bot.llm.backends import LLM, fetch_local, make_llm
from bot.llm.roles import LLMRoles

__all__ = ["LLM", "LLMRoles", "fetch_local", "make_llm"]
