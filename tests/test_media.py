"""A take's videos, subtitles and pose overlay, without a browser: the real H.264 files of
``demo --videos``, finding them under the release folder, the absent cameras' commands,
``/media/`` with range requests and its refusals (a real uvicorn server and raw HTTP for
the paths an HTTP client would normalise), the subtitle tracks and ``export subtitles``
(parsed with webvtt-py and srt)."""

from __future__ import annotations

import http.client
import os
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="starlette is not installed (pip install egoexo-sql)")
from live_server import live_server  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from egoexo_sql import media, subtitles  # noqa: E402
from egoexo_sql.catalog import Catalog  # noqa: E402
from egoexo_sql.serve import create_app  # noqa: E402


@pytest.fixture(scope="module")
def client(video_catalog):
    with TestClient(create_app(video_catalog)) as c:
        yield c


@pytest.fixture(scope="module")
def live(video_catalog):
    """(host, port) of a uvicorn server over the video catalog."""
    with live_server(create_app(video_catalog)) as port:
        yield "127.0.0.1", port


def raw_get(live, target: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET with the request target sent exactly as given (no client-side normalisation)."""
    conn = http.client.HTTPConnection(*live, timeout=10)
    conn.putrequest("GET", target, skip_host=False, skip_accept_encoding=True)
    for k, v in (headers or {}).items():
        conn.putheader(k, v)
    conn.endheaders()
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


def videos_of(video_release) -> list[str]:
    _, report = video_release
    assert report.videos, "demo --videos wrote no video"
    return report.videos


def take_of(cat_dir: Path, rel: str) -> str:
    name = rel.split("/")[1]
    with Catalog.open(cat_dir) as cat:
        return cat.execute("SELECT take_uid FROM takes WHERE take_name = ?", [name]).fetchall()[0][0]


# --------------------------------------------------------------------------- demo --videos


def test_demo_videos_are_real_h264_covering_the_take_in_the_real_layout(video_release, video_catalog):
    import av

    release, _ = video_release
    rels = videos_of(video_release)
    with Catalog.open(video_catalog) as cat:
        for rel in rels:
            uid = take_of(video_catalog, rel)
            duration = cat.execute("SELECT duration_sec FROM takes WHERE take_uid = ?", [uid]).fetchall()[0][
                0
            ]
            # where the downloader puts the file: a path of the take's video files
            paths = {v.path for v in media.take_media(cat, uid, release).videos}
            assert rel in paths
            with av.open(str(release / rel)) as f:
                s = f.streams.video[0]
                assert s.codec_context.name == "h264"
                assert s.average_rate == 30
                assert abs(float(s.duration * s.time_base) - duration) < 1 / 30 + 1e-6
                first = next(f.decode(video=0))
                assert first.width in (256, 144) and first.height == 144
    kinds = {r.rsplit("/", 1)[-1] for r in rels}
    assert "ego_preview.mp4" in kinds and any("/downscaled/448/" in r for r in rels)


def test_demo_videos_leave_the_other_files_as_they_are(video_release, demo_release):
    """Same seed, same scale: --videos adds the videos and changes no other file."""
    with_videos, _ = video_release
    plain, _ = demo_release
    for name in ("takes.json", "manifests/takes/manifest.json", "annotations/keystep_train.json"):
        assert (with_videos / name).read_bytes() == (plain / name).read_bytes()


def test_demo_videos_without_pyav_says_what_to_install(tmp_path, monkeypatch):
    import builtins

    from egoexo_sql.demo.video_files import _modules
    from egoexo_sql.errors import UsageError

    real_import = builtins.__import__

    def no_av(name, *a, **k):
        if name == "av":
            raise ImportError("No module named 'av'", name="av")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_av)
    with pytest.raises(UsageError, match=r"needs PyAV and Pillow \(av is missing\).*egoexo-sql\[videos\]"):
        _modules()


# --------------------------------------------------------------------------- finding videos


def test_take_media_finds_the_files_on_disk_best_exo_first(video_release, video_catalog):
    release, _ = video_release
    rels = videos_of(video_release)
    with Catalog.open(video_catalog) as cat:
        for uid in {take_of(video_catalog, r) for r in rels}:
            tm = media.take_media(cat, uid, release)
            on_disk = {v.path for v in tm.present}
            assert on_disk == {r for r in rels if take_of(video_catalog, r) == uid}
            best = cat.execute("SELECT best_exo FROM takes WHERE take_uid = ?", [uid]).fetchall()[0][0]
            if best is not None:
                assert tm.videos[0].cam_id == best and tm.present[0].cam_id == best
            # every camera without a file on disk is listed as absent, the others are not
            cams_present = {v.cam_id for v in tm.present}
            assert {a.cam_id for a in tm.absent} == {v.cam_id for v in tm.videos} - cams_present - {
                "best_exo"
            }


def test_an_absent_camera_shows_the_command_that_fetches_just_it_and_its_size(
    video_release, video_catalog, capsys
):
    import shlex

    from test_validate import run_cli

    release, _ = video_release
    uid = take_of(video_catalog, videos_of(video_release)[0])
    with Catalog.open(video_catalog) as cat:
        tm = media.take_media(cat, uid, release, video_catalog)
        assert tm.absent and tm.has_manifests
        a = tm.absent[0]
        want = cat.execute(
            "SELECT relative_path, size_bytes FROM manifest_files WHERE part = 'takes' AND uid = ? AND camera = ?",
            [uid, a.cam_id],
        ).fetchall()
    assert a.sizes["takes"] == (len(want), sum(s for _, s in want))
    cmd = a.commands["takes"]
    argv = shlex.split(cmd.split(" > ")[0])
    assert argv[:2] == ["egoexo-sql", "takes"] and str(release) in argv
    code, out, err = run_cli(capsys, *argv[1:])
    assert code == 0, err
    copies = [line for line in out.splitlines() if line.startswith("aws s3 cp ")]
    assert sorted(line.split()[-1] for line in copies) == sorted(str(release / r) for r, _ in want)


def test_the_page_says_which_cameras_are_absent_with_command_and_size(client, video_release, video_catalog):
    from egoexo_sql.download import human_bytes

    release, _ = video_release
    uid = take_of(video_catalog, videos_of(video_release)[0])
    with Catalog.open(video_catalog) as cat:
        tm = media.take_media(cat, uid, release, video_catalog)
    page = client.get(f"/take/{uid}").text
    assert 'id="player"' in page and 'id="absent-cameras"' in page
    for a in tm.absent:
        n, size = a.sizes["downscaled_takes/448"]
        assert f'data-cam="{a.cam_id}" data-part="downscaled_takes/448"' in page
        assert f'data-bytes="{size}">{human_bytes(size)}<' in page


def test_a_take_without_video_on_disk_says_so(client, video_catalog, video_release):
    with_videos = {r.split("/")[1] for r in videos_of(video_release)}
    with Catalog.open(video_catalog) as cat:
        uid = cat.execute(
            "SELECT take_uid FROM takes WHERE take_name NOT IN (SELECT unnest(?)) ORDER BY take_name LIMIT 1",
            [sorted(with_videos)],
        ).fetchall()[0][0]
    page = client.get(f"/take/{uid}").text
    assert "No video on disk" in page and 'id="player"' not in page and "--format s3" in page


# --------------------------------------------------------------------------- /media/


def test_range_requests_return_206_and_exactly_those_bytes(client, video_release):
    release, _ = video_release
    rel = videos_of(video_release)[0]
    data = (release / rel).read_bytes()
    r = client.get(f"/media/{rel}", headers={"Range": "bytes=1000-1999"})
    assert r.status_code == 206 and r.content == data[1000:2000]
    assert r.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    assert r.headers["accept-ranges"] == "bytes" and r.headers["content-type"] == "video/mp4"
    r = client.get(f"/media/{rel}", headers={"Range": f"bytes={len(data) - 100}-"})
    assert r.status_code == 206 and r.content == data[-100:]
    r = client.get(f"/media/{rel}")
    assert r.status_code == 200 and r.content == data and r.headers["accept-ranges"] == "bytes"
    assert client.head(f"/media/{rel}").headers["content-length"] == str(len(data))
    assert client.get(f"/media/{rel}", headers={"Range": f"bytes={len(data) + 10}-"}).status_code == 416


@pytest.fixture(scope="module")
def outside(video_release, tmp_path_factory):
    """A video outside the release folder, and symlinks inside the release to it and to a
    video inside (removed afterwards)."""
    release, _ = video_release
    out = tmp_path_factory.mktemp("outside") / "secret.mp4"
    out.write_bytes(b"not for the browser")
    evil = release / "takes" / "evil_link.mp4"
    good = release / "takes" / "good_link.mp4"
    os.symlink(out, evil)
    os.symlink(release / videos_of(video_release)[0], good)
    yield out
    evil.unlink()
    good.unlink()


@pytest.mark.parametrize(
    "target",
    [
        "/media/takes/../takes.json",
        "/media/takes/../../etc/passwd",
        "/media/%2e%2e/%2e%2e/etc/passwd",
        "/media/..%2f..%2fetc%2fpasswd",
        "/media/takes%2f..%2ftakes.json",
        "/media/%2fetc%2fpasswd",
        "/media//etc/passwd",
        "/media/takes%5c..%5ctakes.json",
        "/media/./takes.json",
        "/media/takes.json",
        "/media/manifests/takes/manifest.json",
        "/media/takes/evil_link.mp4",
        "/media/takes/no_such_file.mp4",
        "/media/",
    ],
)
def test_media_refuses_anything_outside_the_release_or_not_a_video(live, outside, target):
    status, body = raw_get(live, target)
    assert status == 404, (target, body[:200])
    assert b"not for the browser" not in body and b"root:" not in body


def test_media_serves_a_symlink_that_stays_inside_the_release(live, outside, video_release):
    release, _ = video_release
    status, body = raw_get(live, "/media/takes/good_link.mp4", {"Range": "bytes=0-99"})
    assert status == 206 and body == (release / videos_of(video_release)[0]).read_bytes()[:100]


def test_media_without_a_release_folder_is_404(video_catalog, tmp_path):
    with TestClient(create_app(video_catalog, release=tmp_path / "none")) as c:
        r = c.get("/media/takes/x/frame_aligned_videos/cam01.mp4")
        assert r.status_code == 404


def test_serve_release_option_points_the_player_at_another_folder(video_catalog, video_release, tmp_path):
    release, _ = video_release
    rel = videos_of(video_release)[0]
    (tmp_path / rel).parent.mkdir(parents=True)
    (tmp_path / rel).write_bytes((release / rel).read_bytes())
    uid = take_of(video_catalog, rel)
    with TestClient(create_app(video_catalog, release=tmp_path)) as c:
        assert c.get(f"/media/{rel}").status_code == 200
        page = c.get(f"/take/{uid}").text
        assert page.count('<button type="button" class="cam') == 1 and str(tmp_path) in page


# --------------------------------------------------------------------------- subtitles and pose routes


def timeline_rows(cat_dir: Path, uid: str, source: str) -> list[tuple]:
    with Catalog.open(cat_dir) as cat:
        return cat.execute(
            "SELECT start_time, end_time, text FROM take_timeline WHERE take_uid = ? AND source = ? "
            "AND start_time IS NOT NULL AND text IS NOT NULL AND trim(text) <> '' ORDER BY start_time",
            [uid, source],
        ).fetchall()


def test_vtt_tracks_parse_and_have_one_cue_per_annotation_at_its_millisecond(
    client, video_catalog, video_release
):
    import io

    import webvtt

    uid = take_of(video_catalog, videos_of(video_release)[0])
    for source in subtitles.SOURCES:
        r = client.get(f"/take/{uid}/subtitles/{source}.vtt")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/vtt")
        rows = timeline_rows(video_catalog, uid, source)
        cues = webvtt.from_buffer(io.StringIO(r.text)).captions if rows else []
        assert len(cues) == len(rows)
        for cue, (start, end, text) in zip(cues, rows):
            assert _ms(cue.start) == subtitles.to_ms(start)
            if end is not None:
                assert _ms(cue.end) == max(subtitles.to_ms(end), subtitles.to_ms(start) + 1)
            else:
                assert 0 < _ms(cue.end) - _ms(cue.start) <= subtitles.MOMENT_SECONDS * 1000
            assert cue.text == " ".join(text.split())


def _ms(stamp: str) -> int:
    h, m, rest = stamp.split(":")
    s, ms = rest.replace(",", ".").split(".")
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(ms)


def test_cue_times_are_exact_to_the_millisecond():
    assert (
        subtitles.to_ms(2.0005) == 2001
        and subtitles.to_ms(0.0) == 0
        and subtitles.to_ms(3599.9994) == 3599999
    )
    events = [
        ("atomic", 1.0, None, "a"),
        ("atomic", 2.5, None, "b"),
        ("atomic", 9.0, None, "c"),
        ("keystep", 1.0, 3.0, "k"),
    ]
    assert subtitles.windows(events) == [
        2.5,
        2.5 + subtitles.MOMENT_SECONDS,
        9.0 + subtitles.MOMENT_SECONDS,
        3.0,
    ]
    text = subtitles.to_vtt([subtitles.Cue(3_723_004, 3_724_000, "a <b> & c")])
    assert "01:02:03.004 --> 01:02:04.000\na &lt;b&gt; &amp; c" in text
    assert "01:02:03,004 --> 01:02:04,000\na <b> & c" in subtitles.to_srt(
        [subtitles.Cue(3_723_004, 3_724_000, "a <b> & c")]
    )


@pytest.mark.parametrize(
    "url",
    [
        "/take/no-such-take/subtitles/atomic.vtt",
        "/take/{uid}/subtitles/klingon.vtt",
        "/take/no-such-take/pose/cam01.json",
        "/take/{uid}/pose/cam99.json",
    ],
)
def test_unknown_takes_sources_and_cameras_are_404(client, video_catalog, video_release, url):
    uid = take_of(video_catalog, videos_of(video_release)[0])
    r = client.get(url.format(uid=uid))
    assert r.status_code == 404 and r.text.startswith("error: ")


def test_pose_json_has_the_first_raters_points_scaled_from_the_camera_image(
    client, video_catalog, video_release
):
    uid = take_of(video_catalog, videos_of(video_release)[0])
    with Catalog.open(video_catalog) as cat:
        cam, kind, frame, n = cat.execute(
            "SELECT cam_id, kind, frame_number, count(*) FROM ego_pose_2d WHERE take_uid = ? "
            "AND annotation_idx = 0 AND source = 'annotation' GROUP BY ALL ORDER BY 4 DESC, 1, 2, 3 LIMIT 1",
            [uid],
        ).fetchall()[0]
        cx = cat.execute(
            "SELECT intrinsics[1][3] FROM camera_poses WHERE take_uid = ? AND cam_id = ? LIMIT 1", [uid, cam]
        ).fetchall()
    got = client.get(f"/take/{uid}/pose/{cam}.json").json()
    k = got["kinds"][kind]
    assert k["source"] == "annotation"
    coords = k["frames"][str(frame)]
    assert sum(x is not None for x in coords[0::2]) == n
    expect_w = 2 * int(-(-cx[0][0] // 1)) if cx else (512 if cam.startswith("aria") else 3840)
    assert got["image"][0] == expect_w and got["fps"] == 30


# --------------------------------------------------------------------------- export subtitles


def test_export_subtitles_writes_vtt_and_srt_beside_each_video(
    video_catalog, video_release, tmp_path, capsys
):
    import srt
    import webvtt
    from test_validate import run_cli

    release, _ = video_release
    rel = videos_of(video_release)[0]
    uid = take_of(video_catalog, rel)
    code, out, err = run_cli(
        capsys,
        "export",
        "subtitles",
        "--catalog",
        str(video_catalog),
        "--take",
        uid,
        "--out-dir",
        str(tmp_path),
    )
    assert code == 0, err
    written = [Path(p) for p in out.split()]
    stem = rel.rsplit(".", 1)[0]
    for source in subtitles.SOURCES:
        rows = timeline_rows(video_catalog, uid, source)
        vtt, srt_file = tmp_path / f"{stem}.{source}.vtt", tmp_path / f"{stem}.{source}.srt"
        if not rows:
            assert not vtt.exists() and not srt_file.exists()
            continue
        assert vtt in written and srt_file in written
        vcues = webvtt.read(str(vtt)).captions
        scues = list(srt.parse(srt_file.read_text(encoding="utf-8")))
        assert len(vcues) == len(scues) == len(rows)
        for v, s, (start, _, text) in zip(vcues, scues, rows):
            assert _ms(v.start) == subtitles.to_ms(start) == round(s.start.total_seconds() * 1000)
            assert _ms(v.end) == round(s.end.total_seconds() * 1000)
            assert s.content == v.text == " ".join(text.split())


def test_export_subtitles_defaults_to_the_takes_with_videos_and_writes_into_the_release(
    video_catalog, video_release, capsys
):
    from test_validate import run_cli

    release, _ = video_release
    rels = videos_of(video_release)
    code, out, err = run_cli(
        capsys,
        "export",
        "subtitles",
        "--catalog",
        str(video_catalog),
        "--source",
        "atomic",
        "--format",
        "srt",
    )
    assert code == 0, err
    written = sorted(out.split())
    try:
        # one file per video on disk (the takes here all have atomic descriptions)
        assert written == sorted(str(release / (r.rsplit(".", 1)[0] + ".atomic.srt")) for r in rels)
        assert f"for {len({r.split('/')[1] for r in rels})} takes" in err
    finally:
        for p in written:
            Path(p).unlink()


def test_export_subtitles_takes_several_values_after_one_option(
    video_catalog, video_release, tmp_path, capsys
):
    from test_validate import run_cli

    names = sorted({r.split("/")[1] for r in videos_of(video_release)})[:2]
    code, out, err = run_cli(
        capsys,
        "export",
        "subtitles",
        "--catalog",
        str(video_catalog),
        "--take",
        *names,
        "--source",
        "atomic",
        "keystep",
        "--format",
        "vtt",
        "--out-dir",
        str(tmp_path),
    )
    assert code == 0, err
    written = out.split()
    assert written and all(any(f"/takes/{n}/" in p for n in names) for p in written)
    assert all(any(f"/takes/{n}/" in p for p in written) for n in names)
    assert {p.rsplit(".", 2)[-2] for p in written} <= {"atomic", "keystep"}
    assert all(p.endswith(".vtt") for p in written)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--take", "no-such-take"], "--take no-such-take: no take"),
        (["--source", "klingon"], "--source klingon: not a subtitle source"),
        (["--format", "ass"], "--format ass"),
    ],
)
def test_export_subtitles_bad_arguments(video_catalog, capsys, args, message, tmp_path):
    from test_validate import run_cli

    code, _, err = run_cli(
        capsys, "export", "subtitles", "--catalog", str(video_catalog), "--out-dir", str(tmp_path), *args
    )
    assert code == 2 and message in err
