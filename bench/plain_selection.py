"""The selection "Cooking takes in train with keystep annotations and a Late Expert rating",
written as a plain Python script over the raw release JSON (the baseline users have today).

    python bench/plain_selection.py RELEASE_DIR     # prints take_uid,take_name lines
"""

import json
import sys
from pathlib import Path


def select(release: Path) -> list[tuple[str, str]]:
    takes = json.loads((release / "takes.json").read_text())
    split = json.loads((release / "annotations/splits.json").read_text())["take_uid_to_split"]
    keystep = set()
    late = set()
    for s in ("train", "val"):
        ks = json.loads((release / f"annotations/keystep_{s}.json").read_text())["annotations"]
        keystep |= {uid for uid, rec in ks.items() if rec["segments"]}
        prof = json.loads((release / f"annotations/proficiency_demonstrator_{s}.json").read_text())[
            "annotations"
        ]
        late |= {r["take_uid"] for r in prof if r["proficiency_score"] == "Late Expert"}
    return sorted(
        (t["take_uid"], t["take_name"])
        for t in takes
        if t["parent_task_name"] == "Cooking"
        and split.get(t["take_uid"]) == "train"
        and t["take_uid"] in keystep
        and t["take_uid"] in late
    )


if __name__ == "__main__":
    for uid, name in select(Path(sys.argv[1])):
        print(f"{uid},{name}")
