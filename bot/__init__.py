"""面试 Mianshi: the app layer over the bank (``ingest``): lookup, grading, interview, LLM roles, CLI, web."""
