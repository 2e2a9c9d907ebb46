"""Errors that carry what a user needs to fix their input or their query.

Every error the CLI turns into a one-line message and an exit code:
``InputError`` -> exit 2 (bad input: names the file, the JSON path, what was expected),
``UsageError`` -> exit 2 (bad arguments), ``QueryError`` -> exit 1 (a query failed or was refused),
``CheckFailed`` -> exit 1 (a blocking data check failed).
"""

from __future__ import annotations

from typing import Any


class EgoExoSQLError(Exception):
    """Base class; ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class InputError(EgoExoSQLError):
    """A release file is not what the format says.

    ``file`` is relative to the release root where possible; ``json_path`` is a
    JSONPath-like location (``$.annotations["<uid>"][3].timestamp``) or ``None``
    when the problem is the file itself (missing, not UTF-8, a folder).
    """

    exit_code = 2

    def __init__(self, file: str, json_path: str | None, expected: str, got: str | None = None):
        self.file = str(file)
        self.json_path = json_path
        self.expected = expected
        self.got = got
        where = self.file if not json_path else f"{self.file}: {json_path}"
        msg = f"{where}: expected {expected}"
        if got:
            msg += f", got {got}"
        super().__init__(msg)

    def __reduce__(self) -> tuple[Any, ...]:  # keeps file/json_path/expected across process boundaries
        return (type(self), (self.file, self.json_path, self.expected, self.got))


class UsageError(EgoExoSQLError):
    exit_code = 2


class QueryError(EgoExoSQLError):
    """A user query was refused by the sandbox or failed in DuckDB."""

    exit_code = 1


class CatalogNotFound(UsageError):
    pass


class CheckFailed(EgoExoSQLError):
    exit_code = 1
