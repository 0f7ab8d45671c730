"""Errors for evaluation inputs: always name the file and what is wrong with it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cluenet_ros.errors import InputError


class EvaluationInputError(InputError, ValueError):
    def __init__(self, source: str | Path, problem: str):
        super().__init__(f"{source}: {problem}")
        self.source = str(source)
        self.problem = problem


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise EvaluationInputError(path, f"cannot read ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise EvaluationInputError(path, f"not valid JSON ({exc})") from None
