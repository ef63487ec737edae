"""The project's own exception types: user errors carry a one-line message, no traceback."""

from __future__ import annotations

from pathlib import Path


class ECGTricksError(Exception):
    """Base class for errors caused by input or configuration rather than by a bug."""


class RecordError(ECGTricksError):
    """A record (header or signal file) cannot be read; the message names the file and problem."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ConfigError(ECGTricksError):
    """A configuration value is missing or invalid."""
