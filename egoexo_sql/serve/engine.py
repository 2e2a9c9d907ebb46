"""The web browser's one engine: the catalog opened read-only and sandboxed, shared by
every request under a lock, and user SQL on a cursor of its own with a time limit."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..catalog import Catalog
from ..errors import QueryError
from ..sandbox import CATALOG_ALIAS

T = TypeVar("T")


class Engine:
    """A sandboxed :class:`~egoexo_sql.catalog.Catalog`; :meth:`run` serializes the
    requests that use its connection, :meth:`user_sql` runs one user query on a cursor of
    its own, interrupted when it runs out of time (the server keeps answering meanwhile)."""

    def __init__(self, catalog_dir: str | Path, sql_timeout: float = 5.0):
        self.catalog = Catalog.open(catalog_dir, sandbox=True)
        self.sql_timeout = sql_timeout
        self._lock = threading.Lock()
        with self._lock:
            self.views = self.catalog.views()

    def run(self, fn: Callable[[Catalog], T]) -> T:
        with self._lock:
            return fn(self.catalog)

    def user_sql(
        self, sql: str, limit: int = 1000
    ) -> tuple[list[str], list[str], list[tuple[Any, ...]], bool]:
        """(columns, types, first ``limit`` rows, whether there were more) of one user query."""
        import duckdb

        with self._lock:
            self.catalog.check(sql)
            cur = self.catalog.connection.cursor()
            cur.execute(f"USE {CATALOG_ALIAS}")  # a cursor starts in the in-memory database
        timer = threading.Timer(self.sql_timeout, cur.interrupt)
        timer.start()
        try:
            cur.execute(sql)
            columns = [d[0] for d in cur.description]
            types = [str(d[1]) for d in cur.description]
            rows = cur.fetchmany(limit + 1)
        except duckdb.InterruptException:
            raise QueryError(f"the query ran longer than {self.sql_timeout:g} s and was stopped") from None
        except duckdb.Error as e:
            if not timer.is_alive():
                raise QueryError(
                    f"the query ran longer than {self.sql_timeout:g} s and was stopped"
                ) from None
            raise QueryError(str(e)) from None
        finally:
            timer.cancel()
            cur.close()
        return columns, types, rows[:limit], len(rows) > limit

    def close(self) -> None:
        with self._lock:
            self.catalog.close()


def rows_of(cur: Any) -> tuple[list[str], list[str], list[tuple[Any, ...]]]:
    return [d[0] for d in cur.description], [str(d[1]) for d in cur.description], cur.fetchall()
