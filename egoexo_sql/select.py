"""Take selection: the ``egoexo-sql takes`` filters -> one SQL query over ``take_summary``.

    from egoexo_sql.select import Filters, selection_sql, takes
    f = Filters(scenario=("Cooking",), has=("keystep",), where="duration_sec > 60")
    sql, params = selection_sql(f)          # SELECT * FROM take_summary WHERE ... ORDER BY take_uid
    takes(cat, scenario="Cooking", has=["keystep"])   # what Catalog.takes runs -> polars.DataFrame

Semantics (the same for the CLI and for :meth:`Catalog.takes`):

- Options are combined with AND. The values of one option are alternatives (OR):
  ``--scenario Cooking --scenario Dance`` selects takes of either scenario, like the
  downloader's own ``--benchmarks``/``--splits``. ``--has`` is the exception: every
  kind given is required (``--has keystep atomic``: takes with both).
- Names match case-insensitively: ``--scenario "bike repair"``; ``--university``
  accepts the short name (``cmu``) or the bucket-style id (``ego4d-cmu``); ``--task``
  a task name or a task_id; ``--proficiency`` a demonstrator score (``late_expert``
  works as well as ``"Late Expert"``); ``--benchmark`` a benchmark tag of splits.json.
  A value the catalog does not know is a usage error listing the known values, so a
  typo never silently selects nothing.
- ``--narrated`` keeps takes with ``is_narrated`` true, ``--not-narrated`` those with
  it false. ``--min-duration``/``--max-duration`` are inclusive bounds on duration_sec.
- ``--where`` is one boolean SQL expression over take_summary's columns, checked by
  :func:`check_where` with sqlglot before anything runs.
- ``--text`` keeps takes whose annotation texts match a search: :func:`text_condition`.
- ``--sample N [--per COLUMN ...] [--seed S]`` comes last: of the takes the filters
  select, N from each group of the named take_summary columns (all of a group that has
  fewer; no ``--per``: N in all). A take's place in the draw is ``md5('<seed>:<take_uid>')``
  (smallest first), so the same seed and catalog give the same takes whatever the
  row order, and another seed another sample (:func:`sample_condition`).

The selection is one condition list (:func:`conditions`), the sample included, so
anything built on it (the CLI, :meth:`Catalog.takes`, the web browser) selects the same
takes: :func:`run` and :func:`take_uids` take the :class:`Filters` or the options as
keywords (``take_uids(cat, scenario="Cooking", sample=2, per=["split"])``).

Nothing here imports polars at module level (the CLI path stays light).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from .errors import QueryError, UsageError
from .names import HAS_KINDS
from .sandbox import FILE_FUNCTION_PREFIXES, FILE_FUNCTIONS, Refused

if TYPE_CHECKING:  # pragma: no cover
    import duckdb
    import polars as pl
    from sqlglot import Token, TokenType, exp

    from .catalog_protocol import CatalogLike

VIEW = "take_summary"


_WHERE_HINT = "--where takes one boolean expression over take_summary's columns"


@dataclass(frozen=True)
class Filters:
    """The selection, one field per ``takes`` option (tuples: the values of a repeated option)."""

    scenario: tuple[str, ...] = ()
    task: tuple[str, ...] = ()
    university: tuple[str, ...] = ()
    split: tuple[str, ...] = ()
    benchmark: tuple[str, ...] = ()
    proficiency: tuple[str, ...] = ()
    has: tuple[str, ...] = ()
    narrated: bool | None = None
    min_duration: float | None = None
    max_duration: float | None = None
    text: str | None = None
    where: str | None = None
    sample: int | None = None
    per: tuple[str, ...] = ()
    seed: int | None = None

    @classmethod
    def of(cls, **options: Any) -> Filters:
        """Filters from keyword arguments as users write them: a str or a list per option."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise UsageError(
                f"unknown take filter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                f"known: {', '.join(sorted(names))}"
            )
        norm: dict[str, Any] = {}
        for k, v in options.items():
            if k == "narrated" and v is not None and not isinstance(v, bool):
                raise UsageError(f"narrated: expected True, False or None, got {v!r}")
            if k in ("sample", "seed"):
                norm[k] = _as_int(k, v)
            elif k in ("narrated", "min_duration", "max_duration", "text", "where"):
                norm[k] = v
            else:
                norm[k] = _as_tuple(k, v)
        return cls(**norm)

    def with_options(self, **options: Any) -> Filters:
        """These filters with some options replaced (given as :meth:`of` takes them)."""
        if not options:
            return self
        given = Filters.of(**options)
        return replace(self, **{k: getattr(given, k) for k in options})

    def is_empty(self) -> bool:
        return self == Filters()


def _as_int(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise UsageError(f"{name}: expected a whole number, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"{name}: expected a whole number, got {value!r}") from None


def _as_tuple(name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, int)):
        value = [value]
    if not isinstance(value, Iterable):
        raise UsageError(f"{name}: expected a string or a list of strings, got {type(value).__name__}")
    out = []
    for v in value:
        if not isinstance(v, (str, int)) or isinstance(v, bool):
            raise UsageError(f"{name}: expected strings, got {v!r}")
        out.append(str(v))
    return tuple(out)


# --------------------------------------------------------------------------- the schema


def view_columns() -> dict[str, str]:
    """take_summary's columns and DuckDB types, from ``schemas/take_summary.toml``."""
    from .schema import get

    return {c.name: c.type for c in get(VIEW).columns}


def _enum(table: str, column: str) -> tuple[str, ...]:
    from .schema import get

    return tuple(get(table).column(column).enum or ())


# --------------------------------------------------------------------------- --where


def _position(text: str, offset: int | None) -> tuple[int | None, int | None]:
    if offset is None:
        return None, None
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _at(text: str, offset: int | None) -> str:
    line, col = _position(text, offset)
    return "" if line is None else f" at line {line}, column {col}"


def _start(node: Any) -> int | None:
    meta = getattr(node, "meta", None) or {}
    start = meta.get("start")
    return start if isinstance(start, int) else None


def check_where(expr: str, columns: Mapping[str, str] | None = None) -> exp.Expr:
    """Check a ``--where`` expression; return its sqlglot tree when it may run.

    ``columns`` maps column names to DuckDB types (default: take_summary's schema).
    Refused (a :class:`~egoexo_sql.sandbox.Refused`, exit 1), each naming what and
    where (line and column of the expression): a second statement, a subquery, a
    table or table function, a function that reads files or runs SQL text, a query
    parameter, an expression that is not boolean. An unknown column is a
    :class:`~egoexo_sql.errors.QueryError` naming it, its position and the closest
    known names. A syntax error names its position too.
    """
    import logging

    import sqlglot
    from sqlglot import TokenType, exp
    from sqlglot.errors import ParseError, TokenError

    if not isinstance(expr, str):
        raise UsageError(f"where: expected a SQL expression string, got {type(expr).__name__}")
    if not expr.strip():
        raise UsageError('--where is empty; give a boolean expression, e.g. "duration_sec > 60"')
    cols = dict(view_columns() if columns is None else columns)
    dialect = sqlglot.Dialect.get_or_raise("duckdb")
    try:
        tokens = dialect.tokenize(expr)
    except TokenError as e:
        raise QueryError(f"cannot read the --where expression: {e} (an unclosed quote or comment?)") from None

    # statements: any ';' is refused, before parsing
    for i, tok in enumerate(tokens):
        if tok.token_type == TokenType.SEMICOLON:
            rest = tokens[i + 1 :]
            if rest:
                raise Refused("a second statement", _WHERE_HINT, *_position(expr, rest[0].start))
            raise Refused("';'", _WHERE_HINT + ", not a statement", *_position(expr, tok.start))

    log = logging.getLogger("sqlglot")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        tree = dialect.parser().parse_into(exp.Condition, tokens, expr)[0]
    except ParseError as e:
        err = e.errors[0] if e.errors else {}
        desc = str(err.get("description") or "not an expression").split("\n")[0]
        if desc.startswith("Invalid expression / Unexpected token"):
            desc = "unexpected " + repr(err.get("highlight", "")) + "; " + _WHERE_HINT
        m = re.match(r"Required keyword: '(\w+)' missing for <class '[\w.]*?(\w+)'>", desc)
        if m:
            desc = f"{repr(err.get('highlight', '')) if err.get('highlight') else m.group(2)} is incomplete (its {m.group(1)} is missing)"
        where = ""
        if "line" in err and "col" in err:
            # sqlglot reports the column where the offending token ends
            column = max(1, int(err["col"]) - len(str(err.get("highlight", ""))) + 1)
            where = f" at line {err['line']}, column {column}"
        raise QueryError(f"syntax error in --where{where}: {desc}") from None
    finally:
        log.setLevel(level)
    if tree is None:
        raise UsageError('--where is empty; give a boolean expression, e.g. "duration_sec > 60"')

    query_starts = _query_start_offsets(tokens)
    for node in tree.walk():
        if isinstance(node, (exp.Query, exp.Subquery, exp.Exists)) and not isinstance(node, exp.Values):
            off = query_starts[0] if query_starts else _start(node)
            raise Refused(
                "a subquery", _WHERE_HINT + "; it cannot read other tables or files", *_position(expr, off)
            )
        if isinstance(node, exp.Values):
            raise Refused("VALUES", _WHERE_HINT, *_position(expr, query_starts[0] if query_starts else None))
        if isinstance(node, exp.Table):
            raise Refused(
                "a table reference", _WHERE_HINT, *_position(expr, _start(node.this) or _start(node))
            )
        if isinstance(node, (exp.Placeholder, exp.Parameter)):
            off = _first_token(tokens, (TokenType.PLACEHOLDER, TokenType.PARAMETER))
            raise Refused("a query parameter", _WHERE_HINT + " with literal values", *_position(expr, off))
        if isinstance(node, exp.Func):
            names = _func_names(node, expr)
            if any(n in FILE_FUNCTIONS or n.startswith(FILE_FUNCTION_PREFIXES) for n in names):
                shown = _shown_name(node, expr, names)
                raise Refused(
                    f"{shown}()",
                    "it reads files or runs SQL text; " + _WHERE_HINT,
                    *_position(expr, _start(node)),
                )

    lambda_params = {str(p.name).lower() for lam in tree.find_all(exp.Lambda) for p in lam.expressions}
    known_lower = {c.lower(): c for c in cols}
    for col in tree.find_all(exp.Column):
        name = str(col.name)
        off = _start(col.this) if col.this is not None else None
        if col.args.get("catalog") or col.args.get("db"):
            raise Refused(f"the qualified name {col.sql('duckdb')!r}", _WHERE_HINT, *_position(expr, off))
        qualifier = col.table
        if qualifier and qualifier.lower() != VIEW:
            raise Refused(
                f"the table qualifier {qualifier!r}",
                _WHERE_HINT + f" (write {name}, or {VIEW}.{name})",
                *_position(expr, _start(col.args["table"]) if col.args.get("table") else off),
            )
        if isinstance(col.this, exp.Star):
            continue
        if name.lower() in known_lower or (not qualifier and name.lower() in lambda_params):
            continue
        close = difflib.get_close_matches(name.lower(), list(known_lower), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(known_lower[c] for c in close)}?" if close else ""
        raise QueryError(
            f"unknown column {name!r}{_at(expr, off)} of --where: {VIEW} has no such column{hint} "
            f"(`egoexo-sql describe {VIEW}` lists its columns)"
        )

    _check_boolean(tree, cols, expr)
    return tree


def _check_boolean(tree: exp.Expr, cols: Mapping[str, str], expr: str) -> None:
    """Refuse an expression sqlglot can type and that is not BOOLEAN (``duration_sec``, ``1``).

    DuckDB would cast a number to a boolean silently (non-zero is true); a user who
    wrote ``duration_sec`` meant a comparison. Unknown types (functions sqlglot does
    not know) are let through: DuckDB has the last word.
    """
    from sqlglot import exp
    from sqlglot.optimizer.annotate_types import annotate_types

    probe = tree.copy()
    for c in probe.find_all(exp.Column):
        if not c.table:
            c.set("table", exp.to_identifier(VIEW))
    try:
        q = annotate_types(exp.select(probe).from_(VIEW), schema={VIEW: dict(cols)}, dialect="duckdb")
        typ = q.selects[0].type
    except Exception:  # pragma: no cover - sqlglot cannot type it: DuckDB decides
        return
    if typ is None:
        return
    if typ.this in (exp.DataType.Type.BOOLEAN, exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL):
        return
    shown = typ.sql("duckdb")
    raise Refused(
        f"an expression of type {shown}",
        _WHERE_HINT + " (a comparison such as duration_sec > 60, "
        "a boolean column such as is_narrated, or a function returning true/false)",
        *_position(expr, 0),
    )


_QUERY_KEYWORDS = ("SELECT", "WITH", "VALUES", "FROM", "PIVOT", "UNPIVOT", "SUMMARIZE", "DESCRIBE", "TABLE")


def _query_start_offsets(tokens: list[Token]) -> list[int]:
    """Offsets of tokens that can start a query: SELECT/WITH/VALUES anywhere, FROM/TABLE after '('."""
    from sqlglot import TokenType

    out = []
    prev = None
    for tok in tokens:
        kind = tok.token_type.name
        if kind in ("SELECT", "WITH", "VALUES") or (
            kind in _QUERY_KEYWORDS and prev is not None and prev.token_type == TokenType.L_PAREN
        ):
            out.append(tok.start)
        prev = tok
    return out


def _first_token(tokens: list[Token], types: tuple[TokenType, ...]) -> int | None:
    for tok in tokens:
        if tok.token_type in types:
            return tok.start
    return None


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _func_names(node: exp.Func, text: str) -> set[str]:
    """Names a function node may go by: as written, and sqlglot's own names for it."""
    from sqlglot import exp

    names: set[str] = set()
    meta = getattr(node, "meta", None) or {}
    start, end = meta.get("start"), meta.get("end")
    if isinstance(start, int) and isinstance(end, int) and _IDENT.fullmatch(text[start : end + 1]):
        names.add(text[start : end + 1].lower())
    if isinstance(node, exp.Anonymous):
        names.add(str(node.name).lower())
    else:
        try:
            names.update(n.lower() for n in node.sql_names())
        except Exception:  # pragma: no cover - odd sqlglot classes
            pass
    names.discard("anonymous")
    return names


def _shown_name(node: exp.Func, text: str, names: set[str]) -> str:
    meta = getattr(node, "meta", None) or {}
    start, end = meta.get("start"), meta.get("end")
    if isinstance(start, int) and isinstance(end, int) and _IDENT.fullmatch(text[start : end + 1]):
        return text[start : end + 1]
    return sorted(names)[0] if names else type(node).__name__.lower()


# --------------------------------------------------------------------------- --text


def text_condition(cat: CatalogLike | None, query: str) -> tuple[str, dict[str, Any]]:
    """``--text "QUERY"``: takes with an annotation text that contains every term of the
    query (:func:`egoexo_sql.search.text_condition`; parameter ``$text_terms``)."""
    from .search import text_condition as condition

    return condition(cat, query)


# --------------------------------------------------------------------------- SQL


class _Params:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> str:
        name = f"f{len(self.values)}"
        self.values[name] = value
        return "$" + name


def _lower_list(values: Iterable[str]) -> list[str]:
    return sorted({v.strip().lower() for v in values})


def _proficiency_key(v: str) -> str:
    return re.sub(r"[\s_-]+", " ", v.strip()).lower()


def conditions(
    f: Filters, cat: CatalogLike | None = None, columns: Mapping[str, str] | None = None
) -> tuple[list[str], dict[str, Any]]:
    """The SQL conditions (ANDed) and named parameters for ``f`` over take_summary."""
    cols = dict(view_columns() if columns is None else columns)
    p = _Params()
    conds: list[str] = []
    if f.scenario:
        conds.append(f"lower(scenario) IN (SELECT unnest({p.add(_lower_list(f.scenario))}))")
    if f.task:
        ids = sorted({int(v) for v in f.task if v.strip().lstrip("-").isdigit()})
        names = _lower_list(v for v in f.task if not v.strip().lstrip("-").isdigit())
        alt = []
        if ids:
            alt.append(f"task_id IN (SELECT unnest({p.add(ids)}))")
        if names:
            alt.append(f"lower(task_name) IN (SELECT unnest({p.add(names)}))")
        conds.append("(" + " OR ".join(alt) + ")")
    if f.university:
        vals = p.add(_lower_list(f.university))
        conds.append(
            f"(lower(university) IN (SELECT unnest({vals})) "
            f"OR lower(university_id) IN (SELECT unnest({vals})))"
        )
    if f.split:
        conds.append(f"split IN (SELECT unnest({p.add(_lower_list(f.split))}))")
    if f.benchmark:
        conds.append(f"list_has_any(benchmarks, {p.add(sorted({b.strip() for b in f.benchmark}))})")
    if f.proficiency:
        keys = sorted({_proficiency_key(v) for v in f.proficiency})
        conds.append(f"lower(proficiency_score) IN (SELECT unnest({p.add(keys)}))")
    for kind in dict.fromkeys(h.strip().lower() for h in f.has):
        if kind not in HAS_KINDS:
            raise UsageError(f"--has {kind!r}: not a kind of annotation; one of {', '.join(HAS_KINDS)}")
        column = f"has_{kind}"
        if column not in cols:
            raise UsageError(
                f"--has {kind}: {VIEW} has no {column} column in this version of egoexo-sql "
                f"(the {kind.replace('_', ' ')} annotations are not compiled into the catalog yet)"
            )
        conds.append(column)
    if f.narrated is not None:
        conds.append("is_narrated" if f.narrated else "NOT is_narrated")
    for bound, op, name in (
        (f.min_duration, ">=", "--min-duration"),
        (f.max_duration, "<=", "--max-duration"),
    ):
        if bound is None:
            continue
        try:
            value = float(bound)
        except (TypeError, ValueError):
            raise UsageError(f"{name}: expected seconds (a number), got {bound!r}") from None
        if value != value or value < 0:
            raise UsageError(f"{name}: expected a number of seconds >= 0, got {bound!r}")
        conds.append(f"duration_sec {op} {p.add(value)}")
    if (
        f.min_duration is not None
        and f.max_duration is not None
        and float(f.min_duration) > float(f.max_duration)
    ):
        raise UsageError(
            f"--min-duration {f.min_duration:g} is above --max-duration {f.max_duration:g}: nothing can match"
        )
    if f.text is not None:
        cond, extra = text_condition(cat, f.text)
        conds.append(f"({cond})")
        p.values.update(extra)
    if f.where is not None:
        check_where(f.where, cols)
        # The checked text itself runs (DuckDB parses what the user wrote), on lines of its own
        # so that a trailing -- comment cannot swallow the closing parenthesis.
        conds.append("(\n" + f.where + "\n)")
    if f.sample is not None:
        conds = [sample_condition(conds, p, f.sample, f.per, f.seed, cols)]
    elif f.per or f.seed is not None:
        raise UsageError(f"{'--per' if f.per else '--seed'} goes with --sample N (how many takes to draw)")
    return conds, p.values


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sample_condition(
    conds: list[str], p: _Params, n: int, per: Iterable[str], seed: int | None, cols: Mapping[str, str]
) -> str:
    """``take_uid IN (...)``: ``n`` of the takes that meet ``conds`` from each group of ``per``.

    Within a group the takes with the smallest ``md5('<seed>:<take_uid>')`` are drawn
    (take_uid breaks a tie), which depends on nothing but the seed and the take
    (seed default 0). A group is one combination of the ``per`` columns' values, NULL
    included; a column that is a list groups by the whole list.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise UsageError(f"--sample: expected a number of takes >= 1, got {n!r}")
    known = {c.lower(): c for c in cols}
    group: list[str] = []
    for name in dict.fromkeys(c.strip() for c in per):
        if name.lower() not in known:
            close = difflib.get_close_matches(name.lower(), list(known), n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join(known[c] for c in close)}?)" if close else ""
            raise UsageError(
                f"--per {name!r}: not a column of {VIEW}{hint}; "
                f"`egoexo-sql describe {VIEW}` lists its columns"
            )
        group.append(_quote(known[name.lower()]))
    where = ("\n    WHERE " + "\n      AND ".join(conds)) if conds else ""
    partition = f"PARTITION BY {', '.join(group)} " if group else ""
    seed_text = p.add(f"{0 if seed is None else int(seed)}:")
    return (
        f"take_uid IN (\n    SELECT take_uid FROM {VIEW}{where}\n"
        f"    QUALIFY row_number() OVER ({partition}ORDER BY md5({seed_text} || take_uid), take_uid) "
        f"<= {p.add(n)}\n)"
    )


def selection_sql(
    f: Filters,
    cat: CatalogLike | None = None,
    *,
    columns: str = "*",
    columns_of: Mapping[str, str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """``SELECT <columns> FROM take_summary WHERE <filters> ORDER BY take_uid`` and its parameters."""
    conds, params = conditions(f, cat, columns_of)
    where = ("\nWHERE " + "\n  AND ".join(conds)) if conds else ""
    return f"SELECT {columns} FROM {VIEW}{where}\nORDER BY take_uid", params


# --------------------------------------------------------------------------- values the catalog knows


def _known(cat: CatalogLike, sql: str) -> list[str]:
    return [r[0] for r in cat.execute(sql).fetchall() if r[0] is not None]


def check_values(cat: CatalogLike, f: Filters) -> None:
    """Refuse (UsageError, exit 2) filter values the catalog has never heard of, listing the known ones."""

    def refuse(option: str, bad: list[str], known: Iterable[str]) -> None:
        known = sorted(set(known), key=str.lower)
        shown = (
            ", ".join(known) if len(known) <= 40 else ", ".join(known[:40]) + f", ... ({len(known)} in all)"
        )
        close = []
        for b in bad:
            close += difflib.get_close_matches(b, known, n=1, cutoff=0.6)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise UsageError(
            f"{option} {', '.join(repr(b) for b in bad)}: not in the catalog{hint}; known: {shown}"
        )

    if f.scenario:
        known = _known(cat, "SELECT DISTINCT scenario FROM takes")
        bad = [v for v in f.scenario if v.strip().lower() not in {k.lower() for k in known}]
        if bad:
            refuse("--scenario", bad, known)
    if f.university:
        rows = cat.execute("SELECT DISTINCT university, university_id FROM takes").fetchall()
        names = {v for r in rows for v in r if v is not None}
        bad = [v for v in f.university if v.strip().lower() not in {k.lower() for k in names}]
        if bad:
            refuse("--university", bad, {r[0] for r in rows if r[0] is not None})
    if f.split:
        enum = _enum(VIEW, "split") or ("train", "val", "test")
        bad = [v for v in f.split if v.strip().lower() not in enum]
        if bad:
            refuse("--split", bad, enum)
    if f.benchmark:
        known = _known(cat, "SELECT DISTINCT benchmark FROM take_benchmarks")
        bad = [v for v in f.benchmark if v.strip() not in known]
        if bad:
            refuse("--benchmark", bad, known)
    if f.proficiency:
        known = list(_enum("proficiency_demonstrator", "proficiency_score"))
        known += _known(cat, "SELECT DISTINCT proficiency_score FROM proficiency_demonstrator")
        bad = [v for v in f.proficiency if _proficiency_key(v) not in {k.lower() for k in known}]
        if bad:
            refuse("--proficiency", bad, known)
    if f.task:
        rows = cat.execute(
            "SELECT task_id, task_name FROM tasks UNION SELECT task_id, task_name FROM takes"
        ).fetchall()
        ids = {str(r[0]) for r in rows if r[0] is not None}
        names = {r[1].lower() for r in rows if r[1] is not None}
        bad = [v for v in f.task if v.strip() not in ids and v.strip().lower() not in names]
        if bad:
            refuse("--task", bad, {r[1] for r in rows if r[1] is not None})


# --------------------------------------------------------------------------- running it


def run(
    cat: CatalogLike, f: Filters | None = None, *, columns: str = "*", **options: Any
) -> duckdb.DuckDBPyConnection:
    """Check the selection against the catalog and run it; returns the DuckDB cursor.

    The selection is ``f``, with any ``options`` (the :class:`Filters` fields as
    keywords, e.g. ``sample=5, per=["scenario"]``) replacing its fields; rows are
    take_summary's ``columns`` in take_uid order.
    """
    f = (f or Filters()).with_options(**options)
    sql, params = selection_sql(f, cat, columns=columns)
    check_values(cat, f)
    return cat.execute(sql, params)


def take_uids(cat: CatalogLike, f: Filters | None = None, **options: Any) -> list[str]:
    """take_uid of the selected takes, sorted (``f`` and ``options`` as in :func:`run`)."""
    return [r[0] for r in run(cat, f, columns="take_uid", **options).fetchall()]


def takes(cat: CatalogLike, **filters: Any) -> pl.DataFrame:
    """The selected takes as a polars DataFrame of take_summary columns (:meth:`Catalog.takes`).

    Keyword arguments are the CLI options with ``_`` for ``-``: ``scenario``, ``task``,
    ``university``, ``split``, ``benchmark``, ``proficiency``, ``has`` (each a string or
    a list of strings), ``narrated`` (True/False/None), ``min_duration``,
    ``max_duration`` (seconds), ``text`` and ``where`` (a boolean SQL expression over
    take_summary's columns); ``sample`` (N takes), ``per`` (take_summary columns whose
    groups get N each) and ``seed`` (default 0) draw a reproducible sample of those.
    Example: ``cat.takes(scenario="Cooking", has=["keystep"], sample=3, per=["split"])``.
    """
    import warnings

    import duckdb
    import polars as pl

    cur = run(cat, Filters.of(**filters))
    try:
        with warnings.catch_warnings():
            # "Arrow output on a DB-API result makes an extra copy": at most a few thousand rows
            warnings.simplefilter("ignore", UserWarning)
            table = cur.to_arrow_table()
    except duckdb.Error as e:
        raise QueryError(str(e)) from None
    assert table is not None  # a SELECT has a result
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)  # a table (not one array) makes a DataFrame
    return frame
