"""Annotation files: keystep (+ keystep_benchmark), proficiency, atomic descriptions,
expert commentary (file + per-commentary folders) and relations.

Each writer yields ``(relative_path, object)`` pairs and records its ground truth in
``truth`` (catalog table -> rows), so tests can compare a compiled catalog with what
was written. Field names, nesting and types follow egoexo-format.md sections 8-12.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import orjson

from . import text, volume
from .encoding import lz_compress_uri, rle_counts_string
from .world import (
    KEYSTEP_SCENARIOS,
    PROFICIENCY_LEVELS,
    UNIV_TO_BUCKET,
    OrphanTake,
    Rng,
    Take,
    World,
    apportion,
    scaled,
)

Files = Iterator[tuple[str, Any]]


def _exo_paths(name: str, ego: str, exo: list[str]) -> dict[str, str]:
    paths = {"ego": f"takes/{name}/frame_aligned_videos/{ego}_214-1.mp4"}
    for i, cam in enumerate(exo, start=1):
        paths[f"exo{i}"] = f"takes/{name}/frame_aligned_videos/{cam}.mp4"
    return paths


# ---------------------------------------------------------------- keystep


class Keystep:
    """Taxonomies per task (keyed by task name, the keystep files' "scenario")."""

    def __init__(self, world: World, rng: Rng):
        self.world = world
        self.rng = rng
        self.vocabulary: dict[int, str] = {}
        self.library: dict[str, list[int]] = {}
        uid = 1
        for scenario, size in zip(KEYSTEP_SCENARIOS, (220, 70, 90)):
            self.library[scenario] = []
            for name in text.step_names(rng, scenario, size):
                uid += rng.randint(1, 3)
                self.vocabulary[uid] = name
                self.library[scenario].append(uid)
        self.taxonomy: dict[str, dict[str, dict[str, Any]]] = {}
        self.leaves: dict[str, list[dict[str, Any]]] = {}
        for scenario in KEYSTEP_SCENARIOS:
            for _, task_name in world.scenario_tasks(scenario):
                if task_name not in self.taxonomy:
                    self._make_taxonomy(scenario, task_name)

    def _make_taxonomy(self, scenario: str, task_name: str) -> None:
        rng = self.rng
        nodes: dict[str, dict[str, Any]] = {
            "0": {"id": 0, "is_leafnode": False, "name": task_name, "parent_id": None, "parent_name": None}
        }
        steps = rng.sample(self.library[scenario], k=min(len(self.library[scenario]), rng.randint(12, 36)))
        groups = apportion(len(steps), [rng.random() + 0.5 for _ in range(rng.randint(2, 5))], minimum=1)
        node_id = 1
        leaves = []
        it = iter(steps)
        for g, size in enumerate(groups):
            gid = node_id
            gname = f"{['Prepare', 'Perform', 'Finish', 'Check', 'Clean up'][g % 5]} ({task_name})"
            nodes[str(gid)] = {
                "id": gid,
                "is_leafnode": False,
                "name": gname,
                "parent_id": 0,
                "parent_name": task_name,
            }
            node_id += 1
            for _ in range(size):
                u = next(it)
                leaf = {
                    "id": node_id,
                    "is_leafnode": True,
                    "name": self.vocabulary[u],
                    "parent_id": gid,
                    "parent_name": gname,
                    "unique_id": u,
                }
                nodes[str(node_id)] = leaf
                leaves.append(leaf)
                node_id += 1
        self.taxonomy[task_name] = nodes
        self.leaves[task_name] = leaves

    def segments(self, t: Take) -> list[dict[str, Any]]:
        rng = self.rng
        start = t.task_start if t.task_start is not None else 0.0
        end = t.task_end if t.task_end is not None else t.duration
        n = max(2, min(60, int((end - start) / rng.uniform(15, 40))))
        bounds = sorted(rng.uniform(start, end) for _ in range(2 * n))
        leaves = self.leaves[t.task_name]
        seq_start = rng.randrange(len(leaves))
        segs = []
        for i in range(n):
            a, b = bounds[2 * i], bounds[2 * i + 1]
            if b - a < 0.2:
                b = min(end, a + 0.2)
            leaf = leaves[(seq_start + i + (rng.random() < 0.2)) % len(leaves)]
            segs.append(
                {
                    "start_time": round(a, 3),
                    "end_time": round(b, 3),
                    "step_id": leaf["id"],
                    "step_unique_id": leaf["unique_id"],
                    "step_name": leaf["name"],
                    "step_description": f"{leaf['name'].lower()} {rng.choice(['carefully', 'quickly', 'with the right hand', 'as shown', 'again', ''])}".strip(),
                    "is_essential": rng.random() < 0.7,
                }
            )
        return segs


def keystep_files(world: World, rng: Rng, truth: Counter) -> Files:
    ks = Keystep(world, rng)
    taxonomy = ks.taxonomy
    vocabulary = {str(k): v for k, v in sorted(ks.vocabulary.items())}
    truth["keystep_taxonomy"] = sum(len(v) for v in taxonomy.values())
    truth["keystep_vocabulary"] = len(vocabulary)
    by_split: dict[str, list[tuple[Take, list[dict[str, Any]]]]] = {"train": [], "val": []}
    # about 3% of the records spell the metadata key the way the docs' prose does
    variant_every = 33
    n_records = 0
    for split in ("train", "val"):
        annotations = {}
        for t in world.takes:
            if not (t.keystep and t.split == split):
                continue
            segs = ks.segments(t)
            by_split[split].append((t, segs))
            truth["keystep_segments"] += len(segs)
            meta = {
                "annotation_uid": rng.uid(),
                "annotator_id": rng.randint(10_000_000, 99_999_999),
                "response_time": 1_690_000_000 + rng.randint(0, 20_000_000),
                "job_id": rng.randint(100_000, 999_999),
                "response_id": rng.randint(1_000_000, 9_999_999),
            }
            meta_key = "annotation_metadata" if n_records % variant_every == 5 else "annotation_meta"
            n_records += 1
            annotations[t.uid] = {
                "take_uid": t.uid,
                "take_name": t.name,
                "scenario": t.task_name,
                meta_key: meta,
                "segments": segs,
            }
        yield (
            f"annotations/keystep_{split}.json",
            {"annotations": annotations, "taxonomy": taxonomy, "vocabulary": vocabulary},
        )
    # keystep_benchmark: steps with at least `cutoff` segments become classes
    cutoff = max(1, int(round(20 * world.scale)))
    counts = Counter(s["step_unique_id"] for split in by_split.values() for _, segs in split for s in segs)
    scen_of = {}
    for _task_name, leaves in ks.leaves.items():
        for leaf in leaves:
            for sc in KEYSTEP_SCENARIOS:
                if leaf["unique_id"] in ks.library[sc]:
                    scen_of[leaf["unique_id"]] = sc.lower()
    classes = [u for u in sorted(counts) if counts[u] >= cutoff]
    label = {u: i for i, u in enumerate(classes)}
    rows = ["label_id,step_unique_id,step_name,scenario_name"]
    for u in classes:
        name = ks.vocabulary[u]
        rows.append(f"{label[u]},{u},{_csv(name)},{scen_of[u]}")
    truth["keystep_labels"] = len(classes)
    # procedure_understanding_*.json: no public source shows their content, so the demo
    # writes none rather than invent a shape (docs/real-data-variants.md)
    truth["procedure_understanding"] = 0
    yield "annotations/keystep_benchmark/label_mapping.csv", "\n".join(rows) + "\n"
    for split, items in by_split.items():
        segments = []
        for t, segs in items:
            for s in segs:
                if s["step_unique_id"] not in label:
                    continue
                segments.append(_bench_segment(t, split, s, label[s["step_unique_id"]]))
        truth["keystep_benchmark_segments"] += len(segments)
        yield (
            f"annotations/keystep_benchmark/keystep_segment_{split}.json",
            {
                "date": "04/02/2024",
                "description": f"Keystep recognition benchmark, {split} split: trimmed keystep segments with labels.",
                "splits": split,
                "segments": segments,
            },
        )
    test_segments = []
    for t in world.takes:
        if (
            t.split == "test"
            and t.scenario in KEYSTEP_SCENARIOS
            and t.task_name in ks.leaves
            and rng.random() < 0.6
        ):
            for s in ks.segments(t)[:8]:
                item = _bench_segment(t, "test", s, None)
                test_segments.append(item)
    truth["keystep_benchmark_segments"] += len(test_segments)
    yield (
        "annotations/keystep_benchmark/keystep_segment_test_unannotated.json",
        {
            "date": "04/02/2024",
            "description": "Keystep recognition benchmark, test split without labels.",
            "splits": "test",
            "segments": test_segments,
        },
    )


def _csv(s: str) -> str:
    return f'"{s}"' if "," in s else s


def _bench_segment(t: Take, split: str, s: dict[str, Any], label_id: int | None) -> dict[str, Any]:
    a, b = s["start_time"], s["end_time"]
    stem = f"{split}/{t.name}/start{a:.3f}_end{b:.3f}"
    cams = [f"{t.ego_cam}_214-1"] + list(t.exo_cams)
    item: dict[str, Any] = {
        "segment_name_list": [f"{stem}_{c}.mp4" for c in cams],
        "ego_segment_name": f"{stem}_{t.ego_cam}_214-1.mp4",
        "take_uid": t.uid,
        "take_name": t.name,
        "start_time": a,
        "end_time": b,
    }
    if label_id is not None:
        item["step_unique_id"] = s["step_unique_id"]
        item["label_id"] = label_id
        item["step_name"] = s["step_name"]
    return item


# ---------------------------------------------------------------- proficiency


def _prof_common(x: Take | OrphanTake, world: World, rng: Rng) -> dict[str, Any]:
    if isinstance(x, Take):
        origin = x.participant.origin_id if x.participant else f"{rng.randint(1, 400):03d}"
        univ = x.univ
    else:
        origin = x.participant_origin_id
        univ = x.univ
    return {
        "scenario_name": x.scenario,
        "task_id": x.task_id,
        "task_name": x.task_name,
        "university_id": UNIV_TO_BUCKET[univ],
        "origin_participant_id": origin,
        "take_uid": x.uid,
        "video_paths": _exo_paths(x.name, x.ego_cam, list(x.exo_cams)[:4]),
    }


def proficiency_files(world: World, rng: Rng, truth: Counter) -> Files:
    orphans = world.orphans
    half = len(orphans) // 2
    orph_demonstrator, orph_demonstration = orphans[:half], orphans[half:]
    truth["orphans"] += len(orphans)
    weights = (0.12, 0.30, 0.33, 0.25)
    for split in ("train", "val"):
        records = []
        members: list[Take | OrphanTake] = [t for t in world.takes if t.demonstrator and t.split == split]
        members += [o for o in orph_demonstrator if o.split == split]
        rng.shuffle(members)
        for x in members:
            rec = _prof_common(x, world, rng)
            rec["proficiency_score"] = rng.choices(PROFICIENCY_LEVELS, weights=weights)[0]
            records.append(rec)
        truth["proficiency_demonstrator"] += len(records)
        yield f"annotations/proficiency_demonstrator_{split}.json", {"annotations": records}
    for split in ("train", "val"):
        records = []
        members = [t for t in world.takes if t.demonstration and t.split == split]
        members += [o for o in orph_demonstration if o.split == split]
        rng.shuffle(members)
        for x in members:
            rec = _prof_common(x, world, rng)
            duration = x.duration if isinstance(x, Take) else 120.0
            experts = world.experts[x.scenario]
            for key, maker in (("good_executions", text.good_text), ("tips_for_improvement", text.tip_text)):
                items = []
                for _ in range(rng.randint(1, 4)):
                    items.append(
                        {
                            "video_time": round(rng.uniform(0, duration), 3),
                            # the v2 files hold a Python list literal in a string (docs/real-data-variants.md)
                            "list": repr([maker(rng, x.scenario) for _ in range(rng.randint(1, 3))]),
                            "expert_uid": rng.choice(experts),
                            "video_name": x.name,
                        }
                    )
                items.sort(key=lambda i: i["video_time"])
                rec[key] = items
                truth["proficiency_demonstration"] += len(items)
            records.append(rec)
        yield f"annotations/proficiency_demonstration_{split}.json", {"annotations": records}


# ---------------------------------------------------------------- atomic descriptions


def atomic_files(world: World, rng: Rng, truth: Counter) -> Files:
    n_ann = 0
    rejected_done = False
    variant_done = False
    for split in ("train", "val"):
        annotations: dict[str, list[dict[str, Any]]] = {}
        cam_map: dict[str, dict[str, str]] = {}
        takes = [t for t in world.takes if t.atomic_split == split]
        for t in takes:
            n = t.n_atomic
            k = 1 if n < 6 else rng.choices((1, 2, 3), weights=(6, 3, 1))[0]
            parts = apportion(n, [rng.random() + 0.5 for _ in range(k)], minimum=1) if n >= k else [n]
            raw = {str(i + 1): cam for i, cam in enumerate(t.exo_cams)}
            cam_map[t.uid] = raw
            anns = []
            for m in parts:
                n_ann += 1
                rejected = rng.random() < 0.03 or (not rejected_done and split == "val")
                rejected_done = rejected_done or rejected
                # the v1-era key spelling survives in some annotations
                subj_key = (
                    "narration_subject"
                    if (n_ann % 40 == 7 or (not variant_done and split == "val"))
                    else "subject"
                )
                variant_done = variant_done or subj_key == "narration_subject"
                times = sorted(rng.uniform(0, t.duration) for _ in range(m))
                descs = []
                for ts in times:
                    is_c = rng.random() < 0.88
                    best = None
                    if raw and rng.random() < 0.9:
                        rid = rng.choice(list(raw))
                        best = {"raw_cam_id": rid, "cam_id": raw[rid] if rng.random() > 0.02 else None}
                    descs.append(
                        {
                            "text": text.atomic_text(rng, t.scenario, is_c),
                            "timestamp": round(ts, 3),
                            subj_key: "C" if is_c else "O",
                            "ego_visible": rng.random() < 0.8,
                            "best_exo": best,
                            "unsure": (rng.random() < 0.05) if rng.random() > 0.05 else None,
                        }
                    )
                anns.append(
                    {
                        "annotation_uid": rng.uid(),
                        "annotator_id": str(rng.randint(10**15, 10**16 - 1)),
                        "rejected": rejected,
                        "reject_reason": rng.choice(["Low quality", "Incomplete descriptions", "Wrong take"])
                        if rejected
                        else None,
                        "descriptions": descs,
                    }
                )
                truth["atomic_descriptions"] += m
            annotations[t.uid] = anns
        yield (
            f"annotations/atomic_descriptions_{split}.json",
            {
                "annotations": annotations,
                "ds": "20240403_14:35:06",
                "take_cam_id_map": cam_map,
            },
        )


# ---------------------------------------------------------------- expert commentary


def commentary_files(world: World, rng: Rng, truth: Counter) -> Files:
    from .world import COMMENTARY_RECORDINGS

    commentaries = [(t, e) for t in world.takes for e in t.commentary_experts]
    total = max(len(commentaries), scaled(COMMENTARY_RECORDINGS, world.scale))
    n_rec = apportion(total, [rng.random() + 0.5 for _ in commentaries], minimum=1) if commentaries else []
    per_take: dict[str, list[dict[str, Any]]] = {}
    folder_files: list[tuple[str, Any]] = []
    for (t, expert), n in zip(commentaries, n_rec):
        times = sorted(round(rng.uniform(0, t.duration), 3) for _ in range(n))
        items = []
        data_anns = []
        transcripts = {}
        start_ms = 1_695_000_000_000 + rng.randint(0, 10**10)
        for i, vt in enumerate(times):
            err = rng.random() < 0.01
            txt = None if err else text.commentary_text(rng, t.scenario)
            dur = round(rng.uniform(2.0, 30.0), 2)
            rec = f"{i}.webm"
            items.append(
                {
                    "recording": rec,
                    "video_time": vt,
                    "text": txt,
                    "error": err,
                    "_error_desc": "transcription failed: empty audio" if err else None,
                    "duration_approx": dur,
                }
            )
            events = []
            for _ in range(rng.choices((0, 1, 2, 3), weights=(5, 3, 2, 1))[0]):
                g = start_ms + rng.randint(0, int(dur * 1000))
                x0, y0 = rng.random(), rng.random()
                events.append(
                    {
                        "type": "path",
                        "action": rng.choice(["draw", "draw", "clear"]),
                        "global_time": g,
                        "paths": [
                            {
                                "from": {"x": round(x0, 4), "y": round(y0, 4), "t": 0},
                                "to": {
                                    "x": round(min(1, x0 + rng.uniform(-0.1, 0.1)), 4),
                                    "y": round(min(1, y0 + rng.uniform(-0.1, 0.1)), 4),
                                    "t": rng.randint(10, 900),
                                },
                            }
                        ],
                    }
                )
            data_anns.append(
                {
                    "recording_path": f"recordings/{rec}",
                    "duration_approx": dur,
                    "video_time": vt,
                    "start_global_time": start_ms,
                    "events": events,
                }
            )
            start_ms += int(dur * 1000) + rng.randint(1000, 60_000)
            transcripts[rec] = {
                "text": txt if txt is not None else "",
                "language": "en",
                "error": err,
                "_error_desc": "transcription failed: empty audio" if err else None,
            }
        truth["expert_commentary"] += n
        truth["expert_ratings"] += 1
        per_take.setdefault(t.uid, []).append(
            {
                "take_name": t.name,
                "take_uid": t.uid,
                "task_id": t.task_id,
                "task_name": t.task_name,
                "commentary": f"{t.name}/{expert}",
                "commentary_data": items,
                "_debug_commentary_name": f"{t.name}/{expert}",
            }
        )
        folder = f"annotations/expert_commentary/{t.name}/{expert}"
        rating = max(1, min(10, int(round(rng.gauss(6.5, 1.8)))))
        folder_files.append(
            (
                f"{folder}/data.json",
                {
                    "user_id": expert,
                    "video_name": t.name,
                    "ds": "20231020_16:01:44",
                    "annotations": data_anns,
                    "proficiency": {"rating": rating, "why": text.reason_text(rng)},
                },
            )
        )
        folder_files.append((f"{folder}/transcriptions.json", transcripts))
    for split in ("train", "val"):
        annotations = {t.uid: per_take[t.uid] for t in world.takes if t.split == split and t.uid in per_take}
        yield (
            f"annotations/expert_commentary_{split}.json",
            {"ds": "20240405_11:12:40", "annotations": annotations},
        )
    yield from folder_files


# ---------------------------------------------------------------- relations


def _mask(rng: Rng, width: int, height: int) -> str:
    total = width * height
    runs = []
    left = total
    while left > 0 and len(runs) < 60:
        r = min(left, int(rng.expovariate(1 / (total / 30))) + 1)
        runs.append(r)
        left -= r
    if left:
        runs.append(left)
    return lz_compress_uri(rle_counts_string(runs))


#: Share of relations takes with an empty ``object_masks`` (the notebook filters them out).
EMPTY_RELATIONS = 0.05


class StreamedAnnotations:
    """A ``{"annotations": {key: record, ...}}`` document produced record by record, so
    that a file of the published size is written without holding it in memory."""

    def __init__(self, items: Iterator[tuple[str, Any]]) -> None:
        self.items = items

    def chunks(self) -> Iterator[bytes]:
        yield b'{"annotations":{'
        sep = b""
        for key, rec in self.items:
            yield sep + orjson.dumps(key) + b":" + orjson.dumps(rec)
            sep = b","
        yield b"}}"


def relations_files(world: World, rng: Rng, truth: Counter, masks_per_object: int | None = 3) -> Files:
    """relations_{train,val,test}.json. ``masks_per_object`` caps the masks per object
    and camera; ``None`` writes the published 2.2M masks over 1,653 takes (apportioned
    by duration, on the 1 fps annotated frames), each file streamed take by take."""
    if masks_per_object is None:
        rel = [t.duration for t in world.takes if t.relations]
        mean_dur = sum(rel) / len(rel) if rel else 1.0
        for split in ("train", "val", "test"):
            items = _relations_takes(world, rng, truth, split, None, mean_dur, [False])
            yield f"annotations/relations_{split}.json", StreamedAnnotations(items)
        return
    empty_done = [False]
    for split in ("train", "val", "test"):
        annotations = dict(_relations_takes(world, rng, truth, split, masks_per_object, 1.0, empty_done))
        yield f"annotations/relations_{split}.json", {"annotations": annotations}


def _relations_takes(
    world: World,
    rng: Rng,
    truth: Counter,
    split: str,
    masks_per_object: int | None,
    mean_dur: float,
    empty_done_box: list[bool],
) -> Iterator[tuple[str, Any]]:
    published = masks_per_object is None
    empty_done = empty_done_box[0]
    for t in world.takes:
        if not (t.relations and t.split == split):
            continue
        objs = rng.sample(text.OBJECTS.get(t.scenario, text.OBJECTS["Cooking"]), k=rng.randint(2, 5))
        names = [f"{o.replace('the ', '')}_{rng.randint(0, 2)}" for o in objs]
        names = list(dict.fromkeys(names))
        empty = rng.random() < EMPTY_RELATIONS or (not empty_done and split == "val")
        empty_done = empty_done or empty

        def meta():
            return {
                "annotation_uid": rng.uid(),
                "annotator_id": str(rng.randint(10**15, 10**16 - 1)),  # noqa: E731
                "response_time": 1_700_000_000 + rng.randint(0, 10**7),
                "job_id": str(rng.randint(10**6, 10**7)),
                "response_id": str(rng.randint(10**8, 10**9)),
            }

        boxes = []
        n_frames = int(t.duration * 30)
        for name in names:
            for _ in range(rng.randint(1, 3)):
                boxes.append(
                    {
                        "x": round(rng.uniform(0, 1200), 2),
                        "y": round(rng.uniform(0, 1200), 2),
                        "width": round(rng.uniform(20, 300), 2),
                        "height": round(rng.uniform(20, 300), 2),
                        "rotation": 0,
                        "original_width": 1408,
                        "original_height": 1408,
                        "frameNumber": rng.randrange(max(1, n_frames)),
                        "endInterpolation": rng.random() < 0.3,
                        "interpolated": rng.random() < 0.5,
                        "track_id": name,
                        "milo_type": "bbox",
                    }
                )
        truth["relations_boxes"] += len(boxes)
        object_masks: dict[str, Any] = {}
        if not empty:
            cams = [f"{t.ego_cam}_214-1"] + rng.sample(t.exo_cams, k=min(len(t.exo_cams), rng.randint(1, 3)))
            if published:  # a few distinct masks per take, reused: LZString is slow in Python
                pool = {
                    size: [_mask(rng, size[0], size[1]) for _ in range(4)]
                    for size in ((1408, 1408), (3840, 2160))
                }
                per_objcam = volume.relations_masks_per_take() * t.duration / mean_dur
                per_objcam /= len(names) * len(cams) * (1 - EMPTY_RELATIONS)
            for name in names:
                object_masks[name] = {}
                for cam in cams:
                    w, h = (1408, 1408) if cam.startswith("aria") else (3840, 2160)
                    if published:
                        frames = list(range(0, n_frames, 30))
                        p, cap = min(1.0, per_objcam / max(1, len(frames))), len(frames)
                    else:
                        frames = list(range(0, n_frames, 30))[: masks_per_object + 1]
                        p, cap = 0.9, masks_per_object
                    ann = {}
                    for f in frames:
                        if rng.random() < p and len(ann) < cap:
                            ann[str(f)] = {
                                "width": w,
                                "height": h,
                                "encodedMask": pool[(w, h)][rng.randrange(4)]
                                if published
                                else _mask(rng, w // 8, h // 8),
                                "intSegClicks": {
                                    "positive": [
                                        {
                                            "x": rng.randint(0, w),
                                            "y": rng.randint(0, h),
                                            "timestamp": 1_700_000_000_000 + rng.randint(0, 10**9),
                                        }
                                    ],
                                    "negative": [],
                                    "upperLeft": [],
                                    "bottomRight": [],
                                    "unlabeled": [],
                                },
                            }
                    object_masks[name][cam] = {
                        "annotation": ann,
                        "annotation_metadata": meta(),
                        "annotation_fps": 1,
                        "annotated_frames": frames,
                    }
                    truth["relations_objects"] += 1
                    truth["relations_masks"] += len(ann)
        empty_done_box[0] = empty_done
        yield (
            t.uid,
            {
                "scenario": t.task_name,
                "take_name": t.name,
                "object_names": {"annotation": boxes, "annotation_metadata": meta(), "annotation_fps": 30},
                "object_masks": object_masks,
            },
        )
