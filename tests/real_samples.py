"""Read the real Ego-Exo4D v2 records vendored in tests/fixtures/real_samples (Apache-2.0).

The dump is JSON with comments (``//`` lines), ``...`` elisions and the trailing
commas an elision leaves; its last block ("submission format") is a template with
placeholders, not data, and is dropped.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

SAMPLES = Path(__file__).parent / "fixtures" / "real_samples" / "json_format_summary.jsonc"


@cache
def load() -> dict:
    text = SAMPLES.read_text(encoding="utf-8")
    cut = text.index('"submission format"')
    text = text[:cut].rstrip().rstrip(",") + "\n}"
    lines = [
        ln
        for ln in text.splitlines()
        if not ln.strip().startswith("//") and ln.strip() not in ("...", "...,")
    ]
    text = "\n".join(lines)
    text = re.sub(r",(\s*[}\]])", r"\1", text)
    return json.loads(text)
