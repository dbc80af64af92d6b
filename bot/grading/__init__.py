"""Grading: an answer against reference answers → a 0–5 score with findings and feedback, offline.

``data``, ``synth``, ``fitting``, ``evaluation`` and ``report`` (training data, fitting, agreement with human
labels) are submodules of their own: import them explicitly.
"""

from bot.grading.batch import BatchItem, BatchLine, grade_batch, read_batch, read_batch_file
from bot.grading.choice import parse_choice
from bot.grading.grader import Grader, grade_with_bank
from bot.grading.factory import grader_names, make_grader
from bot.grading.model import ModelParams, load_params
from bot.grading.schema import Grade, Wrong

__all__ = ["BatchItem", "BatchLine", "Grade", "Grader", "ModelParams", "grade_batch", "grade_with_bank",
           "grader_names", "load_params", "make_grader", "parse_choice", "read_batch", "read_batch_file", "Wrong"]
