"""The native ego pose decoder (egoexo_sql/_posecols.c) against the reference msgspec
path: for every input, valid or not, both give the same rows or the same error.

The native decoder only ever accepts what it is sure of and hands everything else to
the reference path, so these tests feed both paths the real shape, every quirk we
know, and byte-level mutations of valid files, and compare the outcomes exactly
(floats bit for bit)."""

from __future__ import annotations

import math
import os
import random
import struct
import subprocess
import sys
from decimal import Decimal, localcontext
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egoexo_sql.errors import InputError
from egoexo_sql.release import Release
from egoexo_sql.tables import ego_pose

native = ego_pose._load_native()
needs_native = pytest.mark.skipif(
    native is None,
    reason="egoexo_sql._posecols is not built (no C compiler at install, or EGOEXO_SQL_NATIVE=0)",
)

REL = "annotations/ego_pose/train/hand/automatic/0a1b2c3d-0000-4000-8000-000000000001.json"


def _normal(v):
    """Values compared exactly: floats by their bits (so -0.0 != 0.0), lists inside."""
    if isinstance(v, float):
        return ("f", struct.pack("<d", v))
    if isinstance(v, list):
        return [_normal(x) for x in v]
    return v


def outcome(release: Release, rel: str, decoder) -> tuple:
    """What compile_pose_file gives with ``decoder`` (the native module or None)."""
    saved = ego_pose.NATIVE
    ego_pose.NATIVE = decoder
    try:
        chunks = []
        for table, chunk, *part in ego_pose.compile_pose_file(release, release.path(rel)):
            chunks.append(
                (
                    table,
                    str(chunk.schema),
                    {c: _normal(chunk.column(c).to_pylist()) for c in chunk.column_names},
                    part,
                )
            )
        return ("rows", chunks)
    except InputError as e:
        return ("error", e.file, e.json_path, e.expected, e.got)
    except Exception as e:  # noqa: BLE001 - any other failure must match too
        return ("exception", type(e).__name__, str(e))
    finally:
        ego_pose.NATIVE = saved


def both(tmp_path: Path, data: bytes, rel: str = REL, native_decodes: bool | None = None) -> tuple:
    """Both paths' outcome for ``data`` (asserted equal); ``native_decodes`` also asserts
    whether the native decoder decoded the file itself or handed it on."""
    p = tmp_path / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    r = Release(tmp_path)
    ref = outcome(r, rel, None)
    fast = outcome(r, rel, native)
    assert fast == ref, (
        data[:300],
        fast[:3] if fast[0] != "rows" else "rows",
        ref[:3] if ref[0] != "rows" else "rows",
    )
    if native_decodes is not None:
        assert (native.decode_pose(data) is not None) == native_decodes, data[:300]
    return ref


# --------------------------------------------------------------------------- the module
def test_native_decoder_is_used_when_built_and_can_be_turned_off():
    code = "from egoexo_sql.tables.ego_pose import pose_decoder; print(pose_decoder())"
    off = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ, EGOEXO_SQL_NATIVE="0"),
        check=True,
    )
    assert off.stdout.strip() == "msgspec"
    on = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "EGOEXO_SQL_NATIVE"},
        check=True,
    )
    assert on.stdout.strip() == ("native" if native is not None else "msgspec")


@needs_native
def test_a_decoder_built_from_another_source_is_not_used(tmp_path):
    here = Path(ego_pose.__file__).resolve().parent.parent / "_posecols.c"
    assert ego_pose._load_native(here) is native  # built from the source beside it
    edited = tmp_path / "_posecols.c"
    edited.write_bytes(here.read_bytes() + b"/* edited, not rebuilt */\n")
    with pytest.warns(UserWarning, match="built from another version"):
        assert ego_pose._load_native(edited) is None


@needs_native
def test_floats_round_exactly_as_python_does():
    rng = random.Random(7)
    texts = [
        "0",
        "-0",
        "0.0",
        "1e5",
        "1E+5",
        "1e-5",
        "0.00000000000000000000000001",
        "12345678901234567890123",
        "0.12345678901234567890123",
        "2.2250738585072014e-308",
        "1.7976931348623157e308",
        "4.9406564584124654e-324",
        "9007199254740993",
    ]
    with localcontext() as ctx:  # exact halfway points need more than 28 digits
        ctx.prec = 60
        for _ in range(20_000):
            v = rng.choice(
                [rng.uniform(-3, 3), rng.uniform(-5000, 5000), rng.random() * 10.0 ** rng.randrange(-30, 30)]
            )
            texts += [repr(v), f"{v:.17g}", f"{v:.{rng.randrange(0, 25)}f}", f"{v:.{rng.randrange(1, 22)}e}"]
            # decimal strings at and next to the halfway point between two doubles
            mid = (Decimal(v) + Decimal(math.nextafter(v, math.inf))) / 2
            texts += [format(mid, ".17g"), format(mid, ".19g"), format(mid, ".25g")]
    for t in texts:
        want = float(t)
        got = native.parse_float(t.encode())
        assert got is not None and struct.pack("<d", got) == struct.pack("<d", want), t
    for bad in ["", "-", "01", "1.", ".5", "1e", "+1", "0x10", "NaN", "Infinity", "1e400", "- 1"]:
        assert native.parse_float(bad.encode()) is None, bad


# --------------------------------------------------------------------------- the same rows
@needs_native
def test_demo_release_pose_files_give_the_same_rows(demo_release, tmp_path):
    release, _ = demo_release
    r = Release(release)
    files = sorted(p for p in (release / "annotations/ego_pose").glob("*/*/*/*.json"))
    assert len(files) > 20
    for f in files:
        rel = r.rel(f)
        ref = outcome(r, rel, None)
        assert ref[0] == "rows", ref
        assert outcome(r, rel, native) == ref, rel
        assert native.decode_pose(f.read_bytes()) is not None, rel  # decoded natively, not handed on


QUIRKS = {
    "empty file object": b"{}",
    "empty frame list": b'{"5": []}',
    "empty annotation": b'{"5": [{}]}',
    "empty 3D and 2D": b'{"5": [{"annotation3D": {}, "annotation2D": {}}]}',
    "camera without joints": b'{"5": [{"annotation2D": {"cam01": {}, "aria01": {"wrist": {"x": 1, "y": 2}}}}]}',
    "nulls and missing fields": b'{"7": [{"annotation3D": {"nose": {"x": null, "y": 1.5}, "eye": {}},'
    b' "annotation2D": {"cam01": {"nose": {"x": 1, "placement": null}}}}]}',
    "unknown keys, nested": b'{"7": [{"metadata": {"take_uid": "u", "frame_number": 7, "l": [1, {"a": [true, false, null]}]},'
    b' "annotation3D": {"nose": {"x": 1, "y": 2, "z": 3, "num_views_for_3d": 4, "score": 0.5,'
    b' "extra": {"deep": [1.5e3, "s"]}}}}]}',
    "pretty-printed": b'{\n  "3": [\n    {\n      "annotation3D": {\n        "nose": {\n          "x": 0.5,\n'
    b'          "y": -1e-3,\n          "z": 2E2,\n          "num_views_for_3d": -0\n        }\n'
    b"      }\n    }\n  ]\n}\n",
    "several annotations per frame": b'{"3": [{"annotation3D": {"a": {"x": 1}}}, {"annotation3D": {"a": {"x": 2}}}]}',
    "unsorted frames": b'{"30": [{"annotation3D": {"a": {"x": 1}}}], "4": [{"annotation3D": {"a": {"x": 2}}}]}',
    "duplicate frame key": b'{"4": [{"annotation3D": {"a": {"x": 1}}}], "4": [{"annotation3D": {"b": {"x": 2}}}]}',
    "leading-zero frame keys": b'{"04": [{"annotation3D": {"a": {"x": 1}}}], "4": [{"annotation3D": {"a": {"x": 2}}}]}',
    "frame key not a number": b'{"4a": [{"annotation3D": {"a": {"x": 1}}}]}',
    "huge frame key": b'{"99999999999": [{"annotation3D": {"a": {"x": 1}}}]}',
    "duplicate joint": b'{"4": [{"annotation3D": {"a": {"x": 1}, "a": {"x": 2}}}]}',
    "duplicate camera": b'{"4": [{"annotation2D": {"c": {"a": {"x": 1}}, "c": {"b": {"x": 2}}}}]}',
    "duplicate field": b'{"4": [{"annotation3D": {"a": {"x": 1, "x": 2}}}]}',
    "duplicate annotation3D": b'{"4": [{"annotation3D": {"a": {"x": 1}}, "annotation3D": {"b": {"x": 1}}}]}',
    "escaped joint name": b'{"4": [{"annotation3D": {"left\\u002deye": {"x": 1}, "a\\"b": {"y": 2}}}]}',
    "non-ASCII names": '{"4": [{"annotation2D": {"kam\u00e9ra": {"\u624b\u9996": {"x": 1, "placement": "m\u00e4nual"}}}}]}'.encode(),
    "x as a string": b'{"4": [{"annotation3D": {"a": {"x": "1"}}}]}',
    "x as a bool": b'{"4": [{"annotation3D": {"a": {"x": true}}}]}',
    "views as a float": b'{"4": [{"annotation3D": {"a": {"num_views_for_3d": 3.0}}}]}',
    "views beyond int32": b'{"4": [{"annotation3D": {"a": {"num_views_for_3d": 3000000000}}}]}',
    "placement as a number": b'{"4": [{"annotation2D": {"c": {"a": {"placement": 1}}}}]}',
    "joint is null": b'{"4": [{"annotation3D": {"a": null}}]}',
    "annotation3D is null": b'{"4": [{"annotation3D": null}]}',
    "frame is not a list": b'{"4": {"annotation3D": {}}}',
    "top level is a list": b'[{"4": []}]',
    "huge numbers": b'{"4": [{"annotation3D": {"a": {"x": 1e400, "y": 123456789012345678901234567890}}}]}',
    "tiny numbers": b'{"4": [{"annotation3D": {"a": {"x": 1e-400, "y": 4.9e-324, "z": -0.0}}}]}',
    "NaN": b'{"4": [{"annotation3D": {"a": {"x": NaN}}}]}',
    "truncated": b'{"4": [{"annotation3D": {"a": {"x": 1.5',
    "trailing garbage": b'{"4": []} x',
    "trailing whitespace": b'{"4": []}\n\n  ',
    "byte order mark": b'\xef\xbb\xbf{"4": [{"annotation3D": {"a": {"x": 1}}}]}',
    "not UTF-8": b'{"4": [{"annotation2D": {"c\xff": {"a": {"x": 1}}}}]}',
    "NUL inside": b'{"4": [{"annotation3D": {"a": {"x": 1}}}]}\x00',
    "control character in a key": b'{"4": [{"annotation3D": {"a\tb": {"x": 1}}}]}',
    "empty": b"",
}


#: quirks the native decoder reads itself (the others it hands to msgspec)
NATIVE_READS = {
    "empty file object",
    "empty frame list",
    "empty annotation",
    "empty 3D and 2D",
    "camera without joints",
    "nulls and missing fields",
    "unknown keys, nested",
    "pretty-printed",
    "several annotations per frame",
    "unsorted frames",
    "tiny numbers",
    "trailing whitespace",
}


@needs_native
@pytest.mark.parametrize("name", list(QUIRKS))
def test_quirks_give_the_same_rows_or_error(tmp_path, name):
    both(tmp_path, QUIRKS[name], native_decodes=name in NATIVE_READS)


@needs_native
def test_a_bad_value_names_the_same_json_path(tmp_path):
    out = both(tmp_path, b'{"3": [{"annotation3D": {"nose": {"x": "far", "y": 1, "z": 2}}}]}')
    assert out[:3] == ("error", REL, '$["3"][0].annotation3D["nose"].x')


# --------------------------------------------------------------------------- generated files
joint = st.fixed_dictionaries(
    {},
    optional={
        "x": st.one_of(
            st.none(), st.floats(allow_nan=False, allow_infinity=False), st.integers(-(10**6), 10**6)
        ),
        "y": st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
        "z": st.floats(-5, 5),
        "num_views_for_3d": st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)),
        "placement": st.one_of(st.none(), st.sampled_from(["manual", "auto", ""])),
        "score": st.floats(0, 1),
    },
)
names = st.text(st.sampled_from("abcdefghij_-0123456789"), min_size=0, max_size=6)
annotation = st.fixed_dictionaries(
    {},
    optional={
        "annotation3D": st.dictionaries(names, joint, max_size=4),
        "annotation2D": st.dictionaries(names, st.dictionaries(names, joint, max_size=3), max_size=3),
        "metadata": st.fixed_dictionaries({"take_uid": names, "frame_number": st.integers(0, 99)}),
    },
)
pose_file = st.dictionaries(st.integers(0, 10**6).map(str), st.lists(annotation, max_size=2), max_size=5)


@needs_native
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=pose_file, indent=st.sampled_from([None, 1]))
def test_generated_files_give_the_same_rows(tmp_path, doc, indent):
    import json

    both(tmp_path, json.dumps(doc, indent=indent).encode(), native_decodes=True)


@needs_native
def test_mutated_files_give_the_same_rows_or_error(tmp_path, demo_release):
    """Byte-level mutations of a real-shaped file: deleting, inserting or replacing
    bytes makes syntax errors, wrong types, odd keys and numbers; the native decoder
    must never accept what the reference rejects, nor read it differently."""
    release, _ = demo_release
    src = min(
        (p for p in (release / "annotations/ego_pose").glob("*/hand/*/*.json")),
        key=lambda p: p.stat().st_size,
    )
    import orjson

    doc = orjson.loads(src.read_bytes())
    base = orjson.dumps({k: doc[k] for k in list(doc)[:2]})  # two whole frames, as written
    assert len(base) > 500
    rng = random.Random(11)
    alphabet = b'{}[]:,"\\ 0123456789.-+eEnulltruefalsexyz\n\t\x00\xc3\xa9'
    kinds = {"rows": 0, "error": 0}
    for _ in range(400):
        b = bytearray(base)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(b) + 1)
            op = rng.randrange(3)
            if op == 0:
                del b[i : i + 1]
            elif op == 1:
                b.insert(i, rng.choice(alphabet))
            else:
                b[i : i + 1] = bytes([rng.choice(alphabet)])
        out = both(tmp_path, bytes(b))
        kinds[out[0]] = kinds.get(out[0], 0) + 1
    assert kinds["rows"] > 20 and kinds["error"] > 20, kinds  # both outcomes were exercised


@needs_native
def test_fuzz_mutations_within_a_time_budget(tmp_path, demo_release):
    """A fuzz target: random byte mutations of real-shaped frames, both decoders, for
    $EGOEXO_SQL_FUZZ_SECONDS (default 3; tools/sanitize.sh runs it far longer under
    AddressSanitizer and UndefinedBehaviorSanitizer). Each case must give the same rows
    or the same error; a sanitizer finding aborts the process."""
    import time

    import orjson

    release, _ = demo_release
    files = sorted((release / "annotations/ego_pose").glob("*/*/*/*.json"), key=lambda p: p.stat().st_size)
    seeds = []
    for p in files[:: max(1, len(files) // 6)]:
        doc = orjson.loads(p.read_bytes())
        seeds.append(orjson.dumps({k: doc[k] for k in list(doc)[:2]}))
    budget = float(os.environ.get("EGOEXO_SQL_FUZZ_SECONDS", "3"))
    seed = int(os.environ.get("EGOEXO_SQL_FUZZ_SEED", "5"))
    rng = random.Random(seed)
    alphabet = b'{}[]:,"\\ 0123456789.-+eEnulltruefalsexyzaria_-\n\t\x00\xc3\xa9\xff'
    deadline = time.monotonic() + budget
    n = 0
    while time.monotonic() < deadline or n < 50:
        b = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(len(b) + 1)
            op = rng.randrange(5)
            if op == 0:
                del b[i : i + rng.randint(1, 8)]
            elif op == 1:
                b.insert(i, rng.choice(alphabet))
            elif op == 2:
                b[i : i + 1] = bytes([rng.choice(alphabet)])
            elif op == 3:  # duplicate a slice (repeated keys, long numbers)
                j = rng.randrange(len(b) + 1)
                b[i:i] = b[min(i, j) : max(i, j)][:64]
            else:  # cut the file short: every truncation point
                del b[i:]
        both(tmp_path, bytes(b))
        n += 1
    assert n >= 50
