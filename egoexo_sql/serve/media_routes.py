"""The routes of ``egoexo-sql serve`` that play a take: ``/media/<path>`` (a video of the
release folder, read-only, with HTTP range requests through Starlette's
:class:`~starlette.responses.FileResponse`, which reads 64 KiB at a time: a 4 GB file
starts and seeks at once and is never read whole), ``/take/<take_uid>/subtitles/<source>.vtt``
(WebVTT tracks) and ``/take/<take_uid>/pose/<cam_id>.json`` (the 2D keypoints drawn over
a camera's picture). Anything outside the release folder, and unknown takes, sources and
cameras, are 404."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from .. import media, subtitles
from .engine import Engine


def routes(engine: Engine, release: Path | None) -> list[Route]:
    async def db(fn: Callable[[Any], Any]) -> Any:
        return await run_in_threadpool(engine.run, fn)

    async def media_file(request: Request) -> Response:
        rel = request.path_params["path"]
        raw = request.scope.get("raw_path")
        try:
            real = await run_in_threadpool(media.resolve_media, release, rel, raw)
        except media.MediaNotFound as e:
            raise HTTPException(404, str(e)) from None
        return FileResponse(real, media_type=media.media_type(real), content_disposition_type="inline")

    def known_take(cat: Any, uid: str) -> bool:
        return bool(cat.execute("SELECT 1 FROM takes WHERE take_uid = $u", {"u": uid}).fetchall())

    async def subtitle_track(request: Request) -> Response:
        uid, source = request.path_params["uid"], request.path_params["source"]
        if source not in subtitles.SOURCES:
            raise HTTPException(
                404, f"no subtitle source {source!r}; sources: {', '.join(subtitles.SOURCES)}"
            )

        def work(cat: Any) -> str | None:
            if not known_take(cat, uid):
                return None
            return subtitles.to_vtt(subtitles.cues(cat, uid, source), title=f"{uid} {source}")

        text = await db(work)
        if text is None:
            raise HTTPException(404, f"no take with take_uid {uid!r}")
        return Response(text, media_type="text/vtt; charset=utf-8")

    async def pose(request: Request) -> Response:
        uid, cam = request.path_params["uid"], request.path_params["cam"]

        def work(cat: Any) -> dict[str, Any] | str:
            if not known_take(cat, uid):
                return f"no take with take_uid {uid!r}"
            cams = {
                r[0]
                for r in cat.execute(
                    "SELECT DISTINCT cam_id FROM take_videos WHERE take_uid = $u", {"u": uid}
                ).fetchall()
            }
            if cam not in cams:
                return f"take {uid} has no camera {cam!r}"
            return media.pose_overlay(cat, uid, cam)

        found = await db(work)
        if isinstance(found, str):
            raise HTTPException(404, found)
        return JSONResponse(found)

    return [
        Route("/media/{path:path}", media_file, methods=["GET", "HEAD"]),
        Route("/take/{uid}/subtitles/{source}.vtt", subtitle_track),
        Route("/take/{uid}/pose/{cam}.json", pose),
    ]
