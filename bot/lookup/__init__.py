"""Lookup: hybrid retrieval over the bank, answers with sources, abstention when the bank has nothing."""

from bot.lookup.ask import AskResult, Calibration, Source, ask, load_calibration
from bot.lookup.retrieval import Candidate, Retriever, reference_text

__all__ = ["AskResult", "Calibration", "Candidate", "Retriever", "Source", "ask", "load_calibration",
           "reference_text"]
