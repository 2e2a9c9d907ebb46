"""The routes of ``egoexo-sql serve`` (Starlette, Jinja2 templates, htmx; every asset in
the package, nothing from the network). Read-only: every query goes through the
sandboxed catalog; user SQL through the same guard as ``egoexo-sql query``, with a time
limit. Bad parameters are 400 with the message ``query`` would print; an unknown take,
view or route is 404."""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..download import human_bytes
from ..errors import EgoExoSQLError, UsageError
from ..subtitles import SOURCES as SUBTITLE_SOURCES
from . import media_routes, plots
from .engine import Engine
from .motion import take_motion

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..select import Filters

T = TypeVar("T")

HERE = Path(__file__).resolve().parent
PAGE_SIZE = 50
EXPORT_MAX_ROWS = 1_000_000
#: the takes command's list-valued filters (a parameter repeats for several values)
LIST_PARAMS = ("scenario", "task", "university", "split", "benchmark", "proficiency", "has", "per")
#: facet -> take_summary column
FACETS = {
    "scenario": "scenario",
    "split": "split",
    "university": "university",
    "proficiency": "proficiency_score",
    "task": "task_name",
}
TAKE_COLUMNS = (
    "take_name",
    "scenario",
    "task_name",
    "split",
    "university",
    "duration_sec",
    "proficiency_score",
    "n_keystep_segments",
    "n_atomic_descriptions",
    "n_expert_commentaries",
    "is_narrated",
    "take_uid",
)
EXPORTS = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "uids": "text/plain; charset=utf-8",
    "egoexo": "text/x-shellscript; charset=utf-8",
    "plan": "text/plain; charset=utf-8",
}


def filters_from(params: Any) -> Filters:
    """The takes selection of a request's query parameters (named as the CLI options)."""
    from ..select import Filters

    opts: dict[str, Any] = {}
    for k in LIST_PARAMS:
        values = [v for v in params.getlist(k) if v != ""]
        if values:
            opts[k] = values
    narrated = params.get("narrated")
    if narrated not in (None, ""):
        if narrated not in ("true", "false"):
            raise UsageError(f"narrated: expected true or false, got {narrated!r}")
        opts["narrated"] = narrated == "true"
    for k in ("min_duration", "max_duration"):
        v = params.get(k)
        if v not in (None, ""):
            try:
                opts[k] = float(v)
            except ValueError:
                raise UsageError(f"{k}: expected a number of seconds, got {v!r}") from None
    for k in ("text", "where", "sample", "seed"):
        v = params.get(k)
        if v not in (None, ""):
            opts[k] = v
    return Filters.of(**opts)


def _selection(cat: Any, f: Any) -> tuple[str, dict[str, Any]]:
    from .. import select as sel

    sql, params = sel.selection_sql(f, cat)
    sel.check_values(cat, f)
    return sql, params


def facets(cat: Any, f: Any) -> dict[str, Any]:
    """Counts of each facet's values among the selected takes."""
    from ..names import HAS_KINDS

    sql, params = _selection(cat, f)
    out: dict[str, Any] = {"count": cat.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()[0][0]}
    fc: dict[str, dict[str, int]] = {}
    for name, col in FACETS.items():
        rows = cat.execute(
            f'SELECT "{col}", count(*) FROM ({sql}) GROUP BY 1 ORDER BY 2 DESC, 1', params
        ).fetchall()
        fc[name] = {str(v): n for v, n in rows if v is not None}
    has = ", ".join(f"count(*) FILTER (WHERE has_{k})" for k in HAS_KINDS)
    counts = cat.execute(f"SELECT {has} FROM ({sql})", params).fetchall()[0]
    fc["has"] = dict(zip(HAS_KINDS, counts))
    nar = cat.execute(
        f"SELECT count(*) FILTER (WHERE is_narrated), count(*) FILTER (WHERE NOT is_narrated) FROM ({sql})",
        params,
    ).fetchall()[0]
    fc["narrated"] = {"true": nar[0], "false": nar[1]}
    out["facets"] = fc
    return out


def create_app(
    catalog_dir: str | Path, *, sql_timeout: float = 5.0, release: str | Path | None = None
) -> Starlette:
    """The ASGI app over the catalog at ``catalog_dir``; videos are looked for under
    ``release`` (default: the release folder the catalog was built from)."""
    from .. import media

    engine = Engine(catalog_dir, sql_timeout=sql_timeout)
    release_dir = engine.run(lambda cat: media.release_dir_of(cat, release))
    templates = Jinja2Templates(directory=str(HERE / "templates"))

    def page(request: Request, name: str, status: int = 200, **ctx: Any) -> Response:
        return templates.TemplateResponse(
            request, name, {"views": engine.views, **links(request), **ctx}, status_code=status
        )

    async def db(fn: Callable[[Catalog], T]) -> T:
        return await run_in_threadpool(engine.run, fn)

    async def index(request: Request) -> Response:
        def work(cat: Catalog) -> Any:
            return cat.build_info, cat.table_rows()

        info, tables = await db(work)
        return page(request, "index.html", info=info, tables=tables, root=str(engine.catalog.path))

    async def takes(request: Request) -> Response:
        f = filters_from(request.query_params)
        sort = request.query_params.get("sort", "take_name")
        if sort not in TAKE_COLUMNS:
            raise UsageError(f"sort: one of {', '.join(TAKE_COLUMNS)}, not {sort!r}")
        desc = request.query_params.get("desc") == "1"
        pg = _int(request.query_params.get("page", "1"), "page", 1)

        def work(cat: Catalog) -> Any:
            fc = facets(cat, f)
            sql, params = _selection(cat, f)
            cols = ", ".join(f'"{c}"' for c in TAKE_COLUMNS)
            rows = cat.execute(
                f'SELECT {cols} FROM ({sql}) ORDER BY "{sort}" {"DESC" if desc else ""} NULLS LAST, '
                f"take_uid LIMIT {PAGE_SIZE} OFFSET {(pg - 1) * PAGE_SIZE}",
                params,
            ).fetchall()
            durations = [r[0] for r in cat.execute(f"SELECT duration_sec FROM ({sql})", params).fetchall()]
            has_manifests = cat.execute("SELECT count(*) FROM manifest_files").fetchall()[0][0] > 0
            return fc, rows, durations, has_manifests

        fc, rows, durations, has_manifests = await db(work)
        qs = _query_string(request)
        return page(
            request,
            "takes.html",
            fc=fc,
            rows=rows,
            columns=TAKE_COLUMNS,
            sort=sort,
            desc=desc,
            page=pg,
            pages=max(1, math.ceil(fc["count"] / PAGE_SIZE)),
            qs=qs,
            params=request.query_params,
            selected=_selected(request),
            has_manifests=has_manifests,
            plot_scenarios=plots.bars(fc["facets"]["scenario"], "takes per scenario"),
            plot_durations=plots.histogram(durations, "duration (minutes)", scale=60),
            plot_proficiency=plots.bars(fc["facets"]["proficiency"], "proficiency (demonstrator)"),
        )

    async def takes_export(request: Request) -> Response:
        fmt = request.path_params["fmt"]
        if fmt not in EXPORTS:
            raise HTTPException(404, f"no export {fmt!r}")
        f = filters_from(request.query_params)
        parts = request.query_params.getlist("parts") or None
        cams = request.query_params.getlist("cams") or None
        out_dir = request.query_params.get("out_dir", "egoexo_download")

        def work(cat: Catalog) -> Any:
            from ..takes_output import render

            return render(cat, f, fmt, parts=parts, cams=cams, out_dir=out_dir)

        result = await db(work)
        headers = {"X-Egoexo-Takes": str(result.n_takes)}
        if result.notes:
            headers["X-Egoexo-Notes"] = " | ".join(result.notes)[:2000]
        return Response(result.text, media_type=EXPORTS[fmt], headers=headers)

    async def facets_json(request: Request) -> Response:
        f = filters_from(request.query_params)
        return JSONResponse(await db(lambda cat: facets(cat, f)))

    async def take(request: Request) -> Response:
        key = request.path_params["key"]
        t_mark = request.query_params.get("t")
        t_at = _float(t_mark, "t") if t_mark not in (None, "") else None

        def work(cat: Catalog) -> Any:
            found = cat.execute("SELECT * FROM take_summary WHERE take_uid = ? OR take_name = ?", [key, key])
            cols = [d[0] for d in found.description]
            row = found.fetchall()
            if not row:
                return None
            summary = dict(zip(cols, row[0]))
            uid = summary["take_uid"]
            videos = cat.execute(
                "SELECT cam_id, stream, readable_stream_id, is_ego, is_collage, relative_path "
                "FROM take_videos WHERE take_uid = ? ORDER BY cam_id, stream",
                [uid],
            ).fetchall()
            participant = None
            if summary.get("participant_uid") is not None:
                p = cat.execute(
                    "SELECT * FROM participants WHERE participant_uid = ?", [summary["participant_uid"]]
                )
                pc = [d[0] for d in p.description]
                pr = p.fetchall()
                participant = dict(zip(pc, pr[0])) if pr else None
            timeline = cat.execute(
                "SELECT source, start_time, end_time, text FROM take_timeline "
                "WHERE take_uid = ? ORDER BY start_time, source",
                [uid],
            ).fetchall()
            pose = cat.execute(
                "SELECT kind, source, n_frames FROM ego_pose_takes WHERE take_uid = ? ORDER BY ALL", [uid]
            ).fetchall()
            relations = cat.execute(
                "SELECT count(*) FROM relations_objects WHERE take_uid = ?", [uid]
            ).fetchall()[0][0]
            from ..select import Filters
            from ..takes_output import render

            quoted = uid.replace("'", "''")
            command = render(cat, Filters.of(where=f"take_uid = '{quoted}'"), "egoexo").text
            on_disk = media.take_media(cat, uid, release_dir, engine.catalog.path)
            motion = take_motion(cat, uid, summary.get("duration_sec"))
            return summary, videos, participant, timeline, pose, relations, command, on_disk, motion

        found = await db(work)
        if found is None:
            raise HTTPException(404, f"no take with take_uid or take_name {key!r}")
        summary, videos, participant, timeline, pose, relations, command, on_disk, (path, signals) = found
        lanes = plots.timeline(timeline, summary.get("duration_sec"), t_at, signals=signals)
        path_svg = plots.top_down_path(path, t_at) if path else None
        return page(
            request,
            "take.html",
            s=summary,
            videos=videos,
            participant=participant,
            timeline=timeline,
            lanes=lanes,
            path_svg=path_svg,
            pose=pose,
            relations=relations,
            command=command,
            t=t_at,
            media=on_disk,
            player=player_data(summary, timeline, on_disk, t_at),
            release=release_dir,
            subtitle_sources=[x for x in SUBTITLE_SOURCES if any(e[0] == x and e[3] for e in timeline)],
            human_bytes=human_bytes,
        )

    async def table(request: Request) -> Response:
        view = request.path_params["view"]
        fmt = request.path_params.get("fmt")
        if view not in engine.views:
            raise HTTPException(404, f"no view {view!r}; see / for the views")
        if fmt not in (None, "csv", "json"):
            raise HTTPException(404, f"no export {fmt!r}")
        qp = request.query_params
        pg = _int(qp.get("page", "1"), "page", 1)

        def work(cat: Catalog) -> Any:
            from .. import output as out

            described = cat.describe_rows(view)
            names = [r[0] for r in described]
            sort = qp.get("sort") or names[0]
            if sort not in names:
                raise UsageError(f"sort: {sort!r} is not a column of {view}")
            conds, args = [], []
            for k in qp.keys():
                if k in ("sort", "desc", "page"):
                    continue
                if k not in names:
                    raise UsageError(f"{k!r} is not a column of {view}; filter with ?column=value")
                conds.append(f'CAST("{k}" AS VARCHAR) = ?')
                args.append(qp[k])
            where = f"WHERE {' AND '.join(conds)}" if conds else ""
            order = f'ORDER BY "{sort}" {"DESC" if qp.get("desc") == "1" else ""} NULLS LAST'
            total = cat.execute(f'SELECT count(*) FROM "{view}" {where}', args).fetchall()[0][0]
            if fmt:
                if total > EXPORT_MAX_ROWS:
                    raise UsageError(
                        f"{total:,} rows: add a filter (?column=value) to export at most {EXPORT_MAX_ROWS:,}"
                    )
                cur = cat.execute(f'SELECT * FROM "{view}" {where} {order}', args)
                buf = io.StringIO(newline="")
                out.write_text(
                    fmt,
                    [d[0] for d in cur.description],
                    [str(d[1]) for d in cur.description],
                    out.batches_of(cur),
                    buf,
                )
                return buf.getvalue()
            cur = cat.execute(
                f'SELECT * FROM "{view}" {where} {order} LIMIT {PAGE_SIZE} OFFSET {(pg - 1) * PAGE_SIZE}',
                args,
            )
            return described, [d[0] for d in cur.description], cur.fetchall(), total, sort

        res = await db(work)
        if fmt:
            return Response(res, media_type=EXPORTS[fmt])
        described, cols, rows, total, sort = res
        return page(
            request,
            "table.html",
            view=view,
            described=described,
            columns=cols,
            rows=rows,
            total=total,
            page=pg,
            pages=max(1, math.ceil(total / PAGE_SIZE)),
            sort=sort,
            qs=_query_string(request),
            params=qp,
        )

    async def sql(request: Request) -> Response:
        fmt = request.path_params.get("fmt")
        q = request.query_params.get("q", "")
        if fmt not in (None, "csv", "json"):
            raise HTTPException(404, f"no export {fmt!r}")
        if not q.strip():
            if fmt:
                raise UsageError("q: give the SQL, e.g. /sql.csv?q=SELECT+1")
            return page(request, "sql.html", q="", result=None)
        columns, types, rows, more = await run_in_threadpool(engine.user_sql, q, 100_000 if fmt else 1000)
        if fmt:
            from .. import output as out

            buf = io.StringIO(newline="")
            out.write_text(fmt, columns, types, [rows], buf)
            return Response(buf.getvalue(), media_type=EXPORTS[fmt])
        return page(request, "sql.html", q=q, result=(columns, rows, more))

    async def search(request: Request) -> Response:
        q = request.query_params.get("q", "")
        sources = request.query_params.getlist("in") or None
        hits: list[tuple[Any, ...]] = []
        if q.strip():
            from ..search import search as run_search

            hits = await db(lambda cat: run_search(cat, q, sources=sources, limit=50))
        from ..search import SOURCES

        return page(request, "search.html", q=q, hits=hits, sources=SOURCES, chosen=sources or [])

    async def on_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            status, message = exc.status_code, str(exc.detail)
        elif isinstance(exc, EgoExoSQLError):
            status, message = 400, str(exc)
        else:  # pragma: no cover - a bug: say so, keep serving
            status, message = 500, f"internal error: {type(exc).__name__}: {exc}"
        path = request.url.path
        if path.endswith((".json", ".csv", ".uids", ".egoexo", ".plan", ".vtt")) or path.startswith(
            "/media/"
        ):
            return PlainTextResponse(f"error: {message}\n", status_code=status)
        return page(request, "error.html", status=status, message=message, code=status)

    routes = [
        Route("/", index),
        Route("/takes", takes),
        Route("/takes.{fmt}", takes_export),
        Route("/facets.json", facets_json),
        *media_routes.routes(engine, release_dir),
        Route("/take/{key:path}", take),
        Route("/table/{view}.{fmt}", table),
        Route("/table/{view}", table),
        Route("/sql.{fmt}", sql),
        Route("/sql", sql),
        Route("/search", search),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        engine.close()

    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: on_error, EgoExoSQLError: on_error, Exception: on_error},
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.release = release_dir
    return app


def player_data(
    summary: dict[str, Any], timeline: list[tuple[Any, ...]], on_disk: Any, t: float | None
) -> dict[str, Any]:
    """What the take page's player script needs: the events with the time until which each
    is shown (the subtitles' rule), the keystep starts, the videos on disk."""
    from ..subtitles import windows

    until = windows(timeline)
    return {
        "take_uid": summary["take_uid"],
        "duration": summary.get("duration_sec"),
        "t": t,
        "events": [[s, a, b, u, x] for (s, a, b, x), u in zip(timeline, until)],
        "keysteps": sorted({a for s, a, _, _ in timeline if s == "keystep" and a is not None}),
        "videos": [
            {"url": v.url, "cam_id": v.cam_id, "label": v.label, "part": v.part} for v in on_disk.present
        ],
    }


def links(request: Request) -> dict[str, Any]:
    """Query strings for the page's links: the state lives in the URL."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    single = ("narrated", "sort", "desc", "text", "min_duration", "max_duration", "q", "t")

    def qs_with(k: str, v: str) -> str:
        keep = [(a, b) for a, b in items if not (k in single and a == k)]
        return urlencode(keep + [(k, v)])

    def qs_without(k: str, v: str) -> str:
        return urlencode([(a, b) for a, b in items if (a, b) != (k, v)])

    def qs_sort(c: str) -> str:
        now = dict(items)
        desc = now.get("sort") == c and now.get("desc") != "1"
        keep = [(a, b) for a, b in items if a not in ("sort", "desc")]
        return urlencode(keep + [("sort", c)] + ([("desc", "1")] if desc else []))

    def qs_page(p: int) -> str:
        return urlencode(items + [("page", str(p))])

    return {"qs_with": qs_with, "qs_without": qs_without, "qs_sort": qs_sort, "qs_page": qs_page}


def _int(v: str, name: str, minimum: int) -> int:
    try:
        n = int(v)
    except ValueError:
        raise UsageError(f"{name}: expected a whole number, got {v!r}") from None
    if n < minimum:
        raise UsageError(f"{name}: expected at least {minimum}, got {n}")
    return n


def _float(v: str, name: str) -> float:
    try:
        return float(v)
    except ValueError:
        raise UsageError(f"{name}: expected a number, got {v!r}") from None


def _query_string(request: Request, **replace: Any) -> str:
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in replace]
    items += [(k, v) for k, v in replace.items() if v is not None]
    return urlencode(items)


def _selected(request: Request) -> set[tuple[str, str]]:
    return {(k, v) for k, v in request.query_params.multi_items()}
