"""The engines ``egoexo-sql query --dialect`` can write SQL for: the query command's
option table (egoexo_sql.query_runner) and egoexo_sql.engines.Dialect both read this
tuple, and nothing else here, so the query path imports neither engines nor sqlglot."""

DIALECTS = ("spark", "trino", "bigquery", "postgres")
