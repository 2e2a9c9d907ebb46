"""``egoexo-sql demo --variants``: write the recorded real-data variants into the release.

Every :class:`~egoexo_sql.variants.Variant` has a :class:`Form` here that rewrites the
documented form of a value into the variant's form, without changing the value (a
number becomes its decimal text, a key its other spelling, a ``{"annotations": [...]}``
file a bare list), except one the plain demo already writes in every value
(``proficiency_demonstration.list_literal``). Where the real files mix forms
within a file, a share of the values is rewritten (at least one per file); where a whole
file takes one form, whole files are. Choices come from their own random streams (seed,
variant, file), so the plain release of the same seed is untouched and the same seed
gives the same files.

The variant's ``path`` (``$.annotations[*].good_executions[*].list``) says which values a
form rewrites: ``.key`` steps into an object, ``[*]`` into every item of a list or
every value of an object.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import orjson

from ..variants import VARIANTS, by_id
from .world import Rng, rng_for

# a value rewrite: (value) -> the value in the variant's form, _SKIP when it has none,
# _DELETE when the form leaves the key out
_SKIP = object()
_DELETE = object()


@dataclass(frozen=True)
class Form:
    variant: str  # the Variant id it writes
    files: str  # glob of the release files it applies to
    rewrite: Callable[[Any], Any] | None = None  # value rewrite (None: a key or file form)
    rename_to: str | None = None  # key form: the key is written with this name
    share: float = 0.3  # values (or, with whole_file, files) rewritten
    whole_file: bool = False  # the real files take this form file by file, not value by value


def number_text(v: Any) -> Any:
    """12.5 -> "12.5" (the shortest text that reads back as the same float)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return _SKIP
    return repr(float(v)) if isinstance(v, float) else str(v)


def int_text(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, int):
        return _SKIP
    return str(v)


def whole_float(v: Any) -> Any:
    """4001 -> 4001.0"""
    if isinstance(v, bool) or not isinstance(v, int):
        return _SKIP
    return float(v)


def bool_01_text(v: Any) -> Any:
    return _SKIP if not isinstance(v, bool) else ("1" if v else "0")


def bool_01(v: Any) -> Any:
    return _SKIP if not isinstance(v, bool) else int(v)


def digits_as_int(v: Any) -> Any:
    """ "30" -> 30, only where the number reads back as the same text (not "056")."""
    if isinstance(v, str) and v.isdigit() and v.isascii() and str(int(v)) == v:
        return int(v)
    return _SKIP


def python_bool_text(v: Any) -> Any:
    """True -> "True" (str() of a Python bool, as pandas writes it to CSV)."""
    return str(v) if isinstance(v, bool) else _SKIP


def upper_bool_text(v: Any) -> Any:
    """True -> "TRUE" (a spreadsheet's spelling)."""
    return str(v).upper() if isinstance(v, bool) else _SKIP


def drop_null(v: Any) -> Any:
    """A null value -> no key (a key the file's version did not have)."""
    return _DELETE if v is None else _SKIP


def second_word_lower(v: Any) -> Any:
    """ "Early Expert" -> "Early expert" (labels of one word have no such form)."""
    if not isinstance(v, str) or " " not in v:
        return _SKIP
    first, rest = v.split(" ", 1)
    return f"{first} {rest.lower()}"


#: One form per recorded variant (tests/test_variants.py checks).
FORMS: tuple[Form, ...] = (
    Form(
        "proficiency_demonstrator.bare_list",
        "annotations/proficiency_demonstrator_*.json",
        whole_file=True,
        share=0.5,
    ),
    Form(
        "proficiency_demonstration.bare_list",
        "annotations/proficiency_demonstration_*.json",
        whole_file=True,
        share=0.5,
    ),
    Form(
        "proficiency_demonstrator.score_case",
        "annotations/proficiency_demonstrator_*.json",
        second_word_lower,
        share=0.2,
    ),
    Form(
        "atomic_descriptions.narration_subject",
        "annotations/atomic_descriptions_*.json",
        rename_to="narration_subject",
        share=0.2,
    ),
    Form("atomic_descriptions.flag_text", "annotations/atomic_descriptions_*.json", bool_01_text, share=0.3),
    Form(
        "keystep.annotation_metadata",
        "annotations/keystep_[tv]*.json",
        rename_to="annotation_metadata",
        share=0.2,
    ),
    Form("takes.v1_missing_keys", "takes.json", drop_null, share=0.5),
    Form("takes.task_id_text", "takes.json", int_text, share=0.2),
    Form("takes.validated_int", "takes.json", bool_01, share=0.3),
    Form("takes.camera_flags_text", "takes.json", upper_bool_text, share=0.2),
    Form("captures.camera_flags_text", "captures.json", python_bool_text, share=0.3),
    Form("captures.validated_int", "captures.json", bool_01, share=0.3),
)


_ORDERED = sorted(FORMS, key=lambda f: f.whole_file)


# -- walking a variant's path -------------------------------------------------------------
_STEP = re.compile(r"\.\{([^}]*)\}|\.([^.\[{]+)|\[\*\]")


def _steps(path: str) -> list[tuple[str, ...] | None]:
    """``$.a[*].{b,c}`` -> [("a",), None, ("b", "c")] (None: every item or value)."""
    if not path.startswith("$"):
        raise ValueError(f"not a JSON path: {path!r}")
    out: list[tuple[str, ...] | None] = []
    pos = 1
    for m in _STEP.finditer(path, 1):
        if m.start() != pos:
            raise ValueError(f"cannot walk {path!r} at {path[pos:]!r}")
        if m.group(1) is not None:
            out.append(tuple(k.strip() for k in m.group(1).split(",")))
        else:
            out.append((m.group(2),) if m.group(2) is not None else None)
        pos = m.end()
    if pos != len(path):
        raise ValueError(f"cannot walk {path!r} at {path[pos:]!r}")
    return out


def slots(obj: Any, path: str) -> Iterator[tuple[Any, Any]]:
    """(container, key) of every value at ``path`` that exists, in document order."""
    steps = _steps(path)

    def walk(node: Any, i: int) -> Iterator[tuple[Any, Any]]:
        step = steps[i]
        last = i == len(steps) - 1
        if step is None:
            keys = (
                range(len(node)) if isinstance(node, list) else list(node) if isinstance(node, dict) else ()
            )
        else:
            keys = [k for k in step if k in node] if isinstance(node, dict) else ()
        for k in keys:
            if last:
                yield node, k
            else:
                yield from walk(node[k], i + 1)

    if not steps:
        return iter(())
    return walk(obj, 0)


def _choose(n: int, rng: Rng, share: float) -> list[int]:
    """A share of range(n), at least one when n > 0, in order."""
    if n == 0:
        return []
    picked = [i for i in range(n) if rng.random() < share]
    return picked or [rng.randrange(n)]


class VariantWriter:
    """``writer(rel, obj) -> obj`` in the variants' forms; ``written`` counts the values."""

    def __init__(self, seed: int):
        self.seed = seed
        self.written: Counter[str] = Counter()
        self.variants = by_id()
        self.n_variants = len(VARIANTS)

    def __call__(self, rel: str, obj: Any) -> Any:
        if isinstance(obj, (str, bytes)):
            return obj
        if any(fnmatchcase(rel, f.files) for f in _ORDERED):
            # a copy with nothing shared (takes of one capture share its dict): the generator
            # uses the object again (takes.json), and each place in the file is one value
            obj = orjson.loads(orjson.dumps(obj))
        for form in _ORDERED:  # a value's form before its file's form (which moves it)
            if not fnmatchcase(rel, form.files):
                continue
            rng = rng_for(self.seed, f"variant:{form.variant}:{rel}")
            v = self.variants[form.variant]
            if form.whole_file:
                if rng.random() >= form.share and self.written[form.variant] > 0:
                    continue
                obj = self._whole(form, v.path, obj)
                continue
            found = list(slots(obj, v.path))
            if form.rewrite is not None:
                found = [(c, k) for c, k in found if form.rewrite(c[k]) is not _SKIP]
            for i in _choose(len(found), rng, form.share):
                c, k = found[i]
                if form.rename_to is not None:
                    c[form.rename_to] = c.pop(k)
                else:
                    assert form.rewrite is not None  # not a file form: renames a key or rewrites a value
                    new = form.rewrite(c[k])
                    if new is _DELETE:
                        del c[k]
                    else:
                        c[k] = new
                self.written[form.variant] += 1
        return obj

    def _whole(self, form: Form, path: str, obj: Any) -> Any:
        """A form of the whole file: ``{"annotations": [records]}`` written as the bare
        list (counted per record, as the build counts it)."""
        if (
            path == "$"
            and isinstance(obj, dict)
            and set(obj) == {"annotations"}
            and isinstance(obj["annotations"], list)
        ):
            self.written[form.variant] += len(obj["annotations"])
            return obj["annotations"]
        raise ValueError(f"no whole-file form for {form.variant} ({path})")  # pragma: no cover
