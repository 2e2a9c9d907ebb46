"""A faithful synthetic Ego-Exo4D release (``egoexo-sql demo``).

The real release is licensed; this writes the same tree with the same key names,
nesting, JSON value types and quirks (egoexo-format.md; real-samples), at any
scale. ``scale=1`` reproduces the published counts. The same seed gives
byte-identical files.

    from egoexo_sql.demo import generate        # or egoexo_sql.demo(...)
    report = generate("demo_release", scale=0.05, seed=0)
    report.truth["keystep_segments"]   # rows the compiled catalog must have

The generator is :mod:`egoexo_sql.demo.generator`; the files of each group are written
by ``metadata_files``, ``annotation_files``, ``pose_files``, ``transcript_files`` and
``manifest_files`` (``variant_forms`` for ``--variants``), from one
:class:`~egoexo_sql.demo.world.World`.

``import egoexo_sql`` imports this package (so that ``egoexo_sql.demo`` stays the
function): it imports nothing else until one of its names is used.
"""

from __future__ import annotations

from typing import Any

__all__ = ["generate", "DemoReport", "GROUPS", "DEFAULT_POSE_FRAMES", "DEFAULT_MASKS_PER_OBJECT"]


def __getattr__(name: str) -> Any:
    if name == "GROUPS":
        from ..tables import GROUPS

        return GROUPS
    if name in ("generate", "DemoReport", "DEFAULT_POSE_FRAMES", "DEFAULT_MASKS_PER_OBJECT"):
        from . import generator

        return getattr(generator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
