"""The base of errors caused by what a user gave us (a file, an option), as opposed
to bugs. Command-line entry points print these as one line and exit with 2.

``FileInputError`` and ``read_json`` live here, below every layer that reads user
files (data, evaluation, bag), so no lower layer imports a higher one for them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class InputError(Exception):
    pass


class FileInputError(InputError, ValueError):
    """A user file that cannot be used; the message names the file and the problem."""

    def __init__(self, source: str | Path, problem: str):
        super().__init__(f"{source}: {problem}")
        self.source = str(source)
        self.problem = problem


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise FileInputError(path, f"cannot read ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileInputError(path, f"not valid JSON ({exc})") from None
