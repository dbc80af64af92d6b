"""Grading: an answer against reference answers → a 0–5 score with findings and feedback, offline.

``evaluation`` (agreement with human labels, fitting) is a submodule of its own: import it explicitly.
"""

from bot.grading.batch import BatchItem, BatchLine, grade_batch, read_batch
from bot.grading.grader import Grader, grade_with_bank, parse_choice
from bot.grading.factory import grader_names, make_grader
from bot.grading.model import ModelParams, load_params
from bot.grading.schema import Grade

__all__ = ["BatchItem", "BatchLine", "Grade", "Grader", "ModelParams", "grade_batch", "grade_with_bank",
           "grader_names", "load_params", "make_grader", "parse_choice", "read_batch"]
