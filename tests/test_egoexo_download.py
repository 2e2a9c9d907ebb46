"""The official downloader (PyPI ``ego4d``, its ``egoexo`` command) on what ``egoexo-sql takes`` prints.

1. The printed commands, split ones included, parse with egoexo's own argument parser,
   and the downloader's own filters (``_manifest_ok``/``_path_ok`` over manifests read by
   its own ``manifest_loads``) keep exactly the files ``--format plan`` counts.
2. A real download: a moto S3 server on 127.0.0.1 (a subprocess, free port) serves a
   small synthetic release's manifests and files from the buckets their source_paths
   name; the printed commands run as printed, plus ``--base_dir s3://<bucket>/egoexo-public/
   -y``; exactly the selected takes' files (and their captures', and the whole metadata
   and annotations) land in the download folder, with the bytes the plan announced.
3. The ``aws s3 cp`` script of ``--format s3`` (the real AWS CLI, same server) puts each
   listed file where egoexo looks, and a later egoexo run counts them as downloaded.

Credentials are dummies. egoexo passes ``--s3_profile default`` to boto3 explicitly, and
botocore then skips the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY variables, so the dummy
keys also go into a throwaway credentials file named by AWS_SHARED_CREDENTIALS_FILE.
HOME points into the test folder (no ~/.aws of the user is read), proxies are bypassed
for 127.0.0.1, and nothing else is contacted.

Needs ``ego4d==1.7.3`` and ``moto[server]`` (the ``test`` extra installs both); without
them the module is skipped with a reason naming what is missing. Part 3 also needs the
``aws`` command (``awscli``, in the ``test`` extra too) and is skipped without it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from egoexo_sql.cli import main

_NEEDED = {
    "ego4d": "ego4d==1.7.3 (the egoexo downloader)",
    "moto": "moto[server]",
    "flask": "moto[server] (its server extra: flask)",
    "boto3": "boto3",
}
MISSING = [what for mod, what in _NEEDED.items() if importlib.util.find_spec(mod) is None]

pytestmark = [
    pytest.mark.integration,
    # ego4d's manifest classes (dataclasses_json on marshmallow 3) warn on every load
    pytest.mark.filterwarnings("ignore:The 'default' argument to fields is deprecated"),
    pytest.mark.filterwarnings("ignore:Passing field metadata as keyword arguments is deprecated"),
    pytest.mark.skipif(
        bool(MISSING),
        reason="not installed: " + ", ".join(dict.fromkeys(MISSING)) + " (pip install -e '.[test]')",
    ),
]

RELEASE_BUCKET = "ego4d-consortium-sharing"
BASE_DIR = f"s3://{RELEASE_BUCKET}/egoexo-public/"
#: parts served by the S3 test (expert_commentary is left to the parser test: ~600 recordings
#: would double the upload time)
SERVED_PARTS = ("takes", "captures", "take_trajectory", "metadata", "annotations")


def _load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def takes_out(catalog: Path, *args: str) -> str:
    """stdout of ``egoexo-sql takes`` run through the real entry point, in-process."""
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit) as e:
        main(["takes", "--catalog", str(catalog), *args])
    assert not e.value.code, e.value.code
    return buf.getvalue()


def commands(text: str) -> list[list[str]]:
    return [shlex.split(line) for line in text.splitlines() if line.startswith("egoexo ")]


def egoexo_parser():
    from ego4d.internal.download.cli import create_arg_parse

    # exactly what the `egoexo` console script builds (ego4d/egoexo/download/cli.py)
    return create_arg_parse(script_name="egoexo", release_name="v2", base_dir=BASE_DIR)


# --------------------------------------------------------------------------- 1. parser and filters


def test_printed_commands_parse_and_the_downloaders_filters_keep_what_the_plan_counts(
    demo_release, demo_catalog
):
    from ego4d.internal.download.cli import _manifest_ok, _path_ok
    from ego4d.internal.download.manifest import manifest_loads

    release, _ = demo_release
    filters = ["--split", "train", "--has", "commentary"]
    # (features/* and downscaled_takes/448 behave like takes; left out because ego4d's
    # marshmallow-based manifest_loads takes about a second per 100 entries)
    parts = [
        "takes",
        "take_vrs_noimagestream",
        "captures",
        "capture_eye_gaze",
        "expert_commentary",
        "metadata",
        "annotations",
    ]
    selected = takes_out(demo_catalog, *filters).split()
    script = takes_out(
        demo_catalog,
        *filters,
        "--format",
        "egoexo",
        "--parts",
        *parts,
        "--out-dir",
        "out dir",
        "--max-command-chars",
        "1000",
    )
    plan_text = takes_out(demo_catalog, *filters, "--format", "plan", "--parts", *parts)
    assert 0 < len(selected)

    # every command parses with egoexo's own parser; the take uids are the selection
    parser = egoexo_parser()
    runs = []
    for argv in commands(script):
        assert argv[0] == "egoexo" and len(" ".join(shlex.quote(a) for a in argv)) <= 1000
        args = parser.parse_args(argv[1:])
        assert args.out_dir == "out dir" and args.release == "v2" and args.base_dir == BASE_DIR
        runs.append(args)
    take_runs = [a for a in runs if a.parts == ["takes", "take_vrs_noimagestream"]]
    assert len(take_runs) > 1, "the limit must split the take uids"
    assert sorted(u for a in take_runs for u in a.uids) == selected
    assert {p for a in runs for p in a.parts} == set(parts)

    # the downloader's filters, run over the manifests as it reads them, keep one file per
    # (source_path, relative_path) with size > 0 (ego4d/internal/download/cli.py main())
    kept: dict = {}
    parsed: dict[str, list] = {}  # each run reads its manifests; parse each once here (marshmallow is slow)
    for args in runs:
        for name in ("uids", "benchmarks", "splits", "views", "universities"):
            value = getattr(args, name)
            setattr(args, name, set(value) if value is not None else None)
        for part in args.parts:
            if part not in parsed:
                parsed[part] = manifest_loads((release / "manifests" / part / "manifest.json").read_text())
            for m in parsed[part]:
                if not _manifest_ok(m, args):
                    continue
                for p in m.paths:
                    if _path_ok(p, args) and p.size is not None and p.size > 0:
                        kept.setdefault(p, (part, p.size))
    per_part: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for part, size in kept.values():
        per_part[part][0] += 1
        per_part[part][1] += size

    printed: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in plan_text.splitlines():
        cells = line.split()
        if cells and not line.startswith(("#", "part", "-")):
            key = "total" if cells[0] == "total" else cells[0]
            files, size = (cells[1], cells[2]) if key == "total" else (cells[2], cells[3])
            printed[key][0] += int(files.replace(",", ""))
            printed[key][1] += int(size.replace(",", ""))
    total = printed.pop("total")
    assert printed == per_part
    assert total == [len(kept), sum(s for _, s in kept.values())]


# --------------------------------------------------------------------------- 2. a real download


def _placeholder(rel: str) -> bytes:
    return f"egoexo-sql test object for {rel}\n".encode()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A small synthetic release whose media sizes are those of placeholder objects, and its catalog."""
    from egoexo_sql.builder import build_catalog
    from egoexo_sql.demo import generate

    root = tmp_path_factory.mktemp("egoexo_dl")
    release = root / "release"
    generate(release, scale=0.005, seed=3, only=["metadata", "splits", "keystep", "commentary", "manifests"])
    objects: dict[str, bytes] = {}
    for manifest in sorted((release / "manifests").rglob("manifest.json")):
        part = manifest.parent.relative_to(release / "manifests").as_posix()
        entries = _load(manifest)
        for e in entries:
            for p in e["paths"]:
                local = release / p["relative_path"]
                if local.is_file():  # JSON the release has: served as is, with its real size
                    data = local.read_bytes()
                    assert p["size"] == len(data)
                else:  # media: a placeholder, and the manifest says its size
                    data = _placeholder(p["relative_path"])
                    p["size"] = len(data)
                if part in SERVED_PARTS:
                    objects[p["source_path"]] = data
        text = json.dumps(entries).encode()
        manifest.write_bytes(text)
        if part in SERVED_PARTS:
            objects[f"{BASE_DIR}v2/{part}/manifest.json"] = text
    catalog = root / "catalog"
    build_catalog(release, catalog)
    return {"root": root, "release": release, "catalog": catalog, "objects": objects}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3(small):
    """A moto S3 server on 127.0.0.1 holding the release's served parts; yields the env for egoexo."""
    import boto3
    from botocore.config import Config

    root: Path = small["root"]
    home = root / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text("[default]\nregion = us-east-1\n")
    (home / ".aws" / "credentials").write_text(
        "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(root / "moto.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith("AWS_") and not k.upper().endswith("_PROXY")
    }
    env.update(
        {
            "HOME": str(home),
            "FVCORE_CACHE": str(home / "iopath_cache"),
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    try:
        with pytest.MonkeyPatch.context() as mp:
            for k in [k for k in os.environ if k.upper().endswith("_PROXY")]:
                mp.delenv(k)
            client = boto3.session.Session(
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                region_name="us-east-1",
            ).client("s3", endpoint_url=url, config=Config(retries={"max_attempts": 2}))
            deadline = time.monotonic() + 30
            while True:
                try:
                    client.list_buckets()
                    break
                except Exception:
                    if server.poll() is not None or time.monotonic() > deadline:
                        log.flush()
                        pytest.fail(
                            "the moto server did not start:\n"
                            + (root / "moto.log").read_text(errors="replace")[-2000:]
                        )
                    time.sleep(0.1)
            buckets = sorted({k.split("/")[2] for k in small["objects"]})
            for b in buckets:
                client.create_bucket(Bucket=b)

            def put(item):
                src, data = item
                bucket, key = src[len("s3://") :].split("/", 1)
                client.put_object(Bucket=bucket, Key=key, Body=data)

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(put, small["objects"].items()))
        yield {"env": env, "buckets": buckets}
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _egoexo_argv(printed: list[str]) -> list[str]:
    assert printed[0] == "egoexo"
    script = Path(sys.executable).parent / "egoexo"
    head = [str(script)] if script.exists() else [sys.executable, "-m", "ego4d.egoexo.download.cli"]
    return head + printed[1:] + ["--base_dir", BASE_DIR, "-y"]


def test_egoexo_downloads_exactly_the_selected_takes(small, s3):
    release, catalog, root = small["release"], small["catalog"], small["root"]
    out = root / "download"
    filters = ["--scenario", "Cooking", "--scenario", "Music"]
    parts = ["takes", "take_trajectory", "captures", "metadata", "annotations"]
    selected = takes_out(catalog, *filters).split()
    script = takes_out(catalog, *filters, "--format", "egoexo", "--parts", *parts, "--out-dir", str(out))
    plan_text = takes_out(catalog, *filters, "--format", "plan", "--parts", *parts)

    # what should arrive, from the JSON alone: the selected takes' entries, their captures'
    # entries, and every metadata and annotation file
    takes_json = _load(release / "takes.json")
    assert 0 < len(selected) < len(takes_json)
    assert selected == sorted(
        t["take_uid"] for t in takes_json if t["parent_task_name"] in ("Cooking", "Music")
    )
    captures = {t["capture_uid"] for t in takes_json if t["take_uid"] in selected}
    expected: dict[str, str] = {}  # relative_path -> part
    for part in parts:
        for e in _load(release / "manifests" / part / "manifest.json"):
            keep = (
                part in ("metadata", "annotations")
                or (part == "captures" and e["uid"] in captures)
                or (part in ("takes", "take_trajectory") and e["uid"] in selected)
            )
            for p in e["paths"]:
                if keep:
                    expected[p["relative_path"]] = part
    assert any(p.startswith("captures/") for p in expected) and any(p.startswith("takes/") for p in expected)

    printed = commands(script)
    assert [c[c.index("--parts") + 1] for c in printed] == ["takes", "captures", "metadata"]
    for argv in printed:
        res = subprocess.run(
            _egoexo_argv(argv), cwd=root, env=s3["env"], capture_output=True, text=True, timeout=300
        )
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        assert "WARN" not in res.stdout and "ERROR" not in res.stdout, res.stdout[-3000:]
        # egoexo's own count of the run's files equals the plan's rows for the run's parts
        m = re.search(r"\((\d+) / (\d+) files\) downloaded", res.stdout)
        assert m, res.stdout[-2000:]
        run_parts = argv[argv.index("--parts") + 1 : argv.index("--uids") if "--uids" in argv else None]
        assert int(m.group(2)) == sum(1 for p in expected.values() if p in run_parts)

    got = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert got == set(expected)
    objects = small["objects"]
    by_rel = {}
    for part in parts:
        for e in _load(release / "manifests" / part / "manifest.json"):
            for p in e["paths"]:
                by_rel[p["relative_path"]] = objects[p["source_path"]]
    for rel in got:
        assert (out / rel).read_bytes() == by_rel[rel], rel

    # the plan announced these files and bytes, per part
    on_disk: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for rel, part in expected.items():
        on_disk[part][0] += 1
        on_disk[part][1] += (out / rel).stat().st_size
    announced: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in plan_text.splitlines():
        cells = line.split()
        if cells and not line.startswith(("#", "part", "-")) and cells[0] != "total":
            announced[cells[0]][0] += int(cells[2].replace(",", ""))
            announced[cells[0]][1] += int(cells[3].replace(",", ""))
    assert announced == on_disk

    shutil.rmtree(out)


# --------------------------------------------------------------------------- 3. the s3 script, then egoexo


def _aws() -> str | None:
    here = Path(sys.executable).parent / "aws"
    return str(here) if here.exists() else shutil.which("aws")


def _files_csv(text: str) -> list[dict]:
    import csv
    import io

    return list(csv.DictReader(io.StringIO(text)))


def _run_egoexo(argv: list[str], root: Path, env: dict) -> str:
    res = subprocess.run(_egoexo_argv(argv), cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "WARN" not in res.stdout and "ERROR" not in res.stdout, res.stdout[-3000:]
    return res.stdout


def test_s3_script_puts_the_files_where_egoexo_counts_them_as_downloaded(small, s3):
    """The `aws s3 cp` lines of --format s3 (run by the real AWS CLI against the local S3
    server) put each listed file where egoexo looks; egoexo then downloads nothing more.

    1. --cams ego collage is what egoexo's --views ego keeps of these parts, so egoexo
       --views ego finds everything present and fetches nothing;
    2. --cams best_exo: egoexo without --views counts the script's files as downloaded and
       leaves them as they are (it fetches only the other cameras).
    """
    aws = _aws()
    if aws is None:
        pytest.skip("not installed: awscli (the `aws` command; pip install -e '.[test]')")
    catalog, root, objects = small["catalog"], small["root"], small["objects"]
    env = {**s3["env"], "PATH": os.pathsep.join([str(Path(aws).parent), s3["env"].get("PATH", "")])}
    select = ["--scenario", "Cooking", "--scenario", "Music", "--sample", "1", "--per", "scenario"]
    parts = ["takes", "take_trajectory", "captures"]

    def fetch_with_script(out: Path, cams: list[str], run_parts: list[str]) -> dict[str, int]:
        listed = _files_csv(
            takes_out(catalog, *select, "--format", "files", "--parts", *run_parts, "--cams", *cams)
        )
        script = takes_out(
            catalog, *select, "--format", "s3", "--parts", *run_parts, "--cams", *cams, "--out-dir", str(out)
        )
        (root / "get.sh").write_text(script)
        res = subprocess.run(
            ["sh", str(root / "get.sh")], cwd=root, env=env, capture_output=True, text=True, timeout=600
        )
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        got = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
        assert got == {r["relative_path"] for r in listed}
        for r in listed:
            data = (out / r["relative_path"]).read_bytes()
            assert data == objects[r["source_path"]] and len(data) == int(r["size_bytes"]), r["relative_path"]
        return {r["relative_path"]: (out / r["relative_path"]).stat().st_mtime_ns for r in listed}

    # 1. ego cameras and previews, then egoexo --views ego: nothing left to fetch
    out = root / "s3_ego"
    stamps = fetch_with_script(out, ["ego", "collage"], parts)
    assert any("/frame_aligned_videos/aria" in p for p in stamps) and any(
        p.startswith("captures/") for p in stamps
    )
    commands_ = commands(
        takes_out(catalog, *select, "--format", "egoexo", "--parts", *parts, "--out-dir", str(out))
    )
    assert commands_
    counted = 0
    for argv in commands_:
        stdout = _run_egoexo(argv + ["--views", "ego"], root, s3["env"])
        assert "Everything has been downloaded. Bye." in stdout, stdout[-2000:]
        m = re.search(r"\((\d+) / (\d+) files\) downloaded", stdout)
        assert m and m.group(1) == m.group(2), stdout[-2000:]
        counted += int(m.group(1))
    assert counted == len(stamps)
    assert {p: (out / p).stat().st_mtime_ns for p in stamps} == stamps
    shutil.rmtree(out)

    # 2. the best exo view only; egoexo then counts those files as there and leaves them alone
    out = root / "s3_best_exo"
    stamps = fetch_with_script(out, ["best_exo"], ["takes"])
    assert stamps and all("/frame_aligned_videos/" in p for p in stamps)
    (argv,) = commands(
        takes_out(catalog, *select, "--format", "egoexo", "--parts", "takes", "--out-dir", str(out))
    )
    stdout = _run_egoexo(argv, root, s3["env"])
    m = re.search(r"\((\d+) / (\d+) files\) downloaded", stdout)
    assert m and int(m.group(1)) == len(stamps) < int(m.group(2)), stdout[-2000:]
    assert {p: (out / p).stat().st_mtime_ns for p in stamps} == stamps
    shutil.rmtree(out)
