"""A naive compiler, the way a lab would write it: json.load every file, flatten with
pandas.json_normalize, write one Parquet file per table. Baseline for bench_build.py.

    python bench/naive_flatten.py RELEASE_DIR OUT_DIR
"""

import json
import sys
from pathlib import Path

import pandas as pd


def main(release: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)

    def save(name, df):
        df.to_parquet(out / f"{name}.parquet", compression="zstd")

    takes = json.load(open(release / "takes.json"))
    save(
        "takes",
        pd.json_normalize(takes, max_level=0).drop(columns=["frame_aligned_videos", "capture", "objects"]),
    )
    vids = [
        dict(v, take_uid=t["take_uid"], cam=cam)
        for t in takes
        for cam, streams in t["frame_aligned_videos"].items()
        for v in streams.values()
    ]
    save("take_videos", pd.DataFrame(vids))
    caps = json.load(open(release / "captures.json"))
    save("captures", pd.json_normalize(caps, max_level=0).drop(columns=["cameras"]))
    save("capture_cameras", pd.json_normalize(caps, record_path="cameras", meta=["capture_uid"]))
    parts = pd.json_normalize(json.load(open(release / "participants.json")))
    meta = pd.json_normalize([json.loads(m) for m in parts["metadata"]])
    save("participants", pd.concat([parts, meta], axis=1))
    for name in ("physical_setting", "visual_objects"):
        save(name, pd.json_normalize(json.load(open(release / f"{name}.json"))))
    m = json.load(open(release / "metadata.json"))
    save("tasks", pd.DataFrame([{"task_id": int(k), "task_name": v} for k, v in m["tasks"].items()]))
    splits = json.load(open(release / "annotations/splits.json"))
    save(
        "take_benchmarks",
        pd.DataFrame(
            [{"take_uid": u, "benchmark": b} for u, bs in splits["take_uid_to_benchmark"].items() for b in bs]
        ),
    )
    segs, atomic, com, dem, demo_pts = [], [], [], [], []
    for s in ("train", "val"):
        ks = json.load(open(release / f"annotations/keystep_{s}.json"))
        for uid, rec in ks["annotations"].items():
            for i, seg in enumerate(rec["segments"]):
                segs.append(dict(seg, take_uid=uid, split=s, segment_idx=i, scenario=rec["scenario"]))
        at = json.load(open(release / f"annotations/atomic_descriptions_{s}.json"))
        for uid, anns in at["annotations"].items():
            for a in anns:
                for i, d in enumerate(a["descriptions"]):
                    row = dict(
                        d,
                        take_uid=uid,
                        split=s,
                        annotation_uid=a["annotation_uid"],
                        rejected=a["rejected"],
                        description_idx=i,
                    )
                    be = row.pop("best_exo") or {}
                    row["best_exo_cam_id"] = be.get("cam_id")
                    atomic.append(row)
        ec = json.load(open(release / f"annotations/expert_commentary_{s}.json"))
        for uid, coms in ec["annotations"].items():
            for c in coms:
                for d in c["commentary_data"]:
                    com.append(dict(d, take_uid=uid, split=s, commentary_id=c["commentary"]))
        dem += [
            dict(r, split=s)
            for r in json.load(open(release / f"annotations/proficiency_demonstrator_{s}.json"))[
                "annotations"
            ]
        ]
        for r in json.load(open(release / f"annotations/proficiency_demonstration_{s}.json"))["annotations"]:
            for kind in ("good_executions", "tips_for_improvement"):
                for item in r[kind]:
                    demo_pts.append(dict(item, take_uid=r["take_uid"], split=s, kind=kind))
    save("keystep_segments", pd.DataFrame(segs))
    save("atomic_descriptions", pd.DataFrame(atomic))
    save("expert_commentary", pd.DataFrame(com))
    save("proficiency_demonstrator", pd.json_normalize(dem, max_level=0).drop(columns=["video_paths"]))
    save("proficiency_demonstration", pd.DataFrame(demo_pts))
    ratings = []
    for f in (release / "annotations/expert_commentary").glob("*/*/data.json"):
        d = json.load(open(f))
        ratings.append({"take_name": d["video_name"], "expert_uid": d["user_id"], **d["proficiency"]})
    save("expert_ratings", pd.DataFrame(ratings))
    rows = []
    for f in (release / "manifests").rglob("manifest.json"):
        part = str(f.parent.relative_to(release / "manifests"))
        for e in json.load(open(f)):
            for p in e["paths"]:
                rows.append({"part": part, "uid": e["uid"], **p})
    save("manifest_files", pd.DataFrame(rows).astype({"views": str, "universities": str}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
