"""Mianshi bot: retrieval, lookup answers, grading, the interviewer and the app."""
