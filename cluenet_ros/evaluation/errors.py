"""Errors for evaluation inputs: always name the file and what is wrong with it.

The class and ``read_json`` are defined in :mod:`cluenet_ros.errors` (shared with
the data layer); evaluation code keeps its historical name for the class."""
from __future__ import annotations

from cluenet_ros.errors import FileInputError as EvaluationInputError
from cluenet_ros.errors import read_json

__all__ = ["EvaluationInputError", "read_json"]
