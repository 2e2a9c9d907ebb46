"""The synthetic world behind a demo release: who, where, what was recorded.

Everything the release files say is decided here first (sites, participants,
captures, takes, splits, and which takes carry which annotations), so that all
files agree with each other and the ground-truth counts are known before a byte
is written. The numbers at ``scale=1`` are the published Ego-Exo4D v2 counts
(:mod:`egoexo_sql.demo.published`); other scales multiply them.

Randomness: one ``random.Random`` per concern, seeded from (seed, concern), so
the same seed gives the same world whatever ``--only`` selects.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .published import (
    ATOMIC_DESCRIPTIONS,
    ATOMIC_TAKES,
    BEST_EXO_FRACTION,
    COMMENTARIES,
    COMMENTARY_TAKES,
    DEMONSTRATION_RECORDS,
    DEMONSTRATOR_RECORDS,
    DEVICE_BY_UNIV,
    EXPERTS,
    KEYSTEP_SCENARIOS,
    KEYSTEP_TAKES,
    NARRATED_TAKES,
    NARRATED_WEIGHTS,
    POSE_SCENARIOS,
    POSE_TAKES,
    PROFICIENCY_ORPHANS,
    PROFICIENCY_SCENARIOS,
    RELATIONS_SCENARIOS,
    RELATIONS_TAKES,
    SCENARIO_SLUG,
    SCENARIO_UNIVERSITIES,
    SCENARIOS,
    SETTING_OBJECTS,
    SETTING_SLUG,
    SPLITS,
    TOTAL_PARTICIPANTS,
    UNIV_TO_BUCKET,
    VIEWS_PER_HOUR,
    load_task_table,
)


def scaled(n: int | float, scale: float, minimum: int = 1) -> int:
    return max(minimum, int(round(n * scale)))


class Rng(random.Random):
    """random.Random with the helpers the generator needs."""

    def uid(self) -> str:
        return str(uuid.UUID(int=self.getrandbits(128), version=4))

    def weighted(self, weights: Mapping[str, float]) -> str:
        keys = list(weights)
        return self.choices(keys, weights=[weights[k] for k in keys])[0]


def rng_for(seed: int, concern: str) -> Rng:
    return Rng(f"{seed}:{concern}")


def apportion(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """Split ``total`` into integer parts proportional to weights (largest remainder)."""
    if not weights:
        return []
    base = [minimum] * len(weights)
    rest = total - minimum * len(weights)
    if rest < 0:
        raise ValueError("total below the minimum")
    s = sum(weights) or 1.0
    exact = [w / s * rest for w in weights]
    parts = [int(x) for x in exact]
    remainders = sorted(range(len(weights)), key=lambda i: exact[i] - parts[i], reverse=True)
    for i in remainders[: rest - sum(parts)]:
        parts[i] += 1
    return [b + p for b, p in zip(base, parts)]


# --- entities ------------------------------------------------------------------------------


@dataclass
class Site:
    physical_uid: int
    origin_id: str
    univ: str
    scenario: str
    video_source_id: int
    metadata: str
    objects: list[tuple[str, str]] = field(default_factory=list)  # (object_uid, name)


@dataclass
class Participant:
    uid: int
    origin_id: str
    univ: str
    collection_date: str
    metadata: dict[str, Any]


@dataclass
class Camera:
    cam_id: str
    is_ego: bool
    has_walkaround: bool
    includes_audio: bool
    device_type: str
    relative_path: str
    video_artifact_uid: str


@dataclass
class Capture:
    uid: str
    name: str
    origin_id: str
    univ: str
    scenario: str
    site: Site
    ds_recorded: int
    has_trajectory: bool
    has_gaze: bool
    has_postsurvey: bool
    cameras: list[Camera]
    timesync_uid: str
    timesync_validated: bool
    validated: bool
    takes: list[Take] = field(default_factory=list)

    @property
    def ego_cam(self) -> str:
        return next(c.cam_id for c in self.cameras if c.cam_id.startswith("aria"))

    @property
    def exo_cams(self) -> list[str]:
        return [c.cam_id for c in self.cameras if not c.cam_id.startswith("aria") and c.cam_id != "moblie"]


@dataclass
class Take:
    uid: str
    name: str
    capture: Capture
    idx: int
    participant: Participant | None
    task_id: int | None
    task_name: str | None
    scenario: str
    duration: float
    best_exo: str | None
    task_start: float | None
    task_end: float | None
    is_narrated: bool
    exo_cams: list[str]  # exo cams with a frame-aligned video
    split: str = "train"
    # annotation coverage, decided by World.assign_annotations
    keystep: bool = False
    atomic_split: str | None = None
    n_atomic: int = 0
    commentary_experts: list[str] = field(default_factory=list)
    demonstrator: bool = False
    demonstration: bool = False
    relations: bool = False
    pose: dict[tuple[str, str], bool] = field(default_factory=dict)
    camera_pose: bool = False
    correspondence: bool = False
    translation: bool = False

    @property
    def univ(self) -> str:
        return self.capture.univ

    @property
    def ego_cam(self) -> str:
        return self.capture.ego_cam


@dataclass
class OrphanTake:
    """A take named by a proficiency file that is not in takes.json (258 in the real release)."""

    uid: str
    name: str
    scenario: str
    univ: str
    task_id: int
    task_name: str
    participant_origin_id: str
    split: str
    exo_cams: list[str]
    ego_cam: str = "aria01"


# --- the world --------------------------------------------------------------------------


class World:
    def __init__(self, scale: float = 1.0, seed: int = 0):
        if scale <= 0:
            raise ValueError("scale must be > 0")
        self.scale = scale
        self.seed = seed
        self.tasks = load_task_table()
        self.sites: list[Site] = []
        self.participants: list[Participant] = []
        self.captures: list[Capture] = []
        self.takes: list[Take] = []
        self.experts: dict[str, list[str]] = {}  # scenario -> expert uids
        self._build()

    # leaf tasks of a scenario
    def scenario_tasks(self, scenario: str) -> list[tuple[int, str]]:
        pid = SCENARIOS[scenario][0]
        return [(int(k), v) for k, v in self.tasks.items() if int(k) // 1000 * 1000 == pid and int(k) != pid]

    def _build(self) -> None:
        self._build_sites(rng_for(self.seed, "sites"))
        self._build_participants(rng_for(self.seed, "participants"))
        self._build_captures_and_takes(rng_for(self.seed, "takes"))
        self._assign_splits(rng_for(self.seed, "splits"))
        self._force_quirks(rng_for(self.seed, "quirks"))
        self.assign_annotations(rng_for(self.seed, "coverage"))
        self.orphans = self._build_orphans(rng_for(self.seed, "orphans"))
        self.experts = self._build_experts(rng_for(self.seed, "experts"))

    # ---- sites
    def _build_sites(self, rng: Rng) -> None:
        uid = 1
        per_univ_counter: dict[tuple[str, str], int] = {}
        vsid = {u: i + 1 for i, u in enumerate(UNIV_TO_BUCKET)}
        for scenario, (_, _, _, sites, _, _) in SCENARIOS.items():
            n = scaled(sites, self.scale)
            univs = list(SCENARIO_UNIVERSITIES[scenario])
            for i in range(n):
                univ = (
                    univs[i % len(univs)] if i < len(univs) else rng.weighted(SCENARIO_UNIVERSITIES[scenario])
                )
                key = (univ, SETTING_SLUG[scenario])
                per_univ_counter[key] = per_univ_counter.get(key, 0) + 1
                uid += rng.randint(1, 3)  # physical_uid is an int key with gaps
                meta = (
                    "{}"
                    if rng.random() < 0.85
                    else json.dumps({"room": SETTING_SLUG[scenario], "indoor": scenario not in ("Soccer",)})
                )
                site = Site(
                    uid,
                    f"{SETTING_SLUG[scenario]}{per_univ_counter[key]:02d}",
                    univ,
                    scenario,
                    vsid[univ],
                    meta,
                )
                names = SETTING_OBJECTS[scenario]
                for name in rng.sample(names, k=rng.randint(min(2, len(names)), len(names))):
                    site.objects.append((rng.uid(), name))
                self.sites.append(site)

    def sites_for(self, scenario: str, univ: str) -> list[Site]:
        own = [x for x in self.sites if x.scenario == scenario and x.univ == univ]
        return own or [x for x in self.sites if x.scenario == scenario]

    # ---- participants
    def _build_participants(self, rng: Rng) -> None:
        self.pools: dict[tuple[str, str], list[Participant]] = {}
        next_uid = 1
        origin_counter: dict[str, int] = {}
        target_total = scaled(TOTAL_PARTICIPANTS, self.scale)
        wanted = {sc: scaled(v[2], self.scale) for sc, v in SCENARIOS.items()}
        to_reuse = max(0, sum(wanted.values()) - target_total)
        genders = ["female", "male", "male", "female", "non-binary", None]
        races = [
            "Asian",
            "White",
            "Hispanic or Latino",
            "Black or African American",
            "Mixed",
            "Prefer not to say",
        ]
        fields = [
            "student",
            "chef",
            "nurse",
            "engineer",
            "musician",
            "coach",
            "athlete",
            "designer",
            "teacher",
            "mechanic",
            "dancer",
            "researcher",
        ]
        countries = {
            "uniandes": "colombian",
            "utokyo": "japan",
            "iiith": "india",
            "nus": "singapore",
            "sfu": "canada",
        }
        for scenario in SCENARIOS:
            weights = SCENARIO_UNIVERSITIES[scenario]
            for i in range(wanted[scenario]):
                univ = list(weights)[i] if i < len(weights) else rng.weighted(weights)
                reusable = [
                    p for (sc, u), ps in self.pools.items() if u == univ and sc != scenario for p in ps
                ]
                if to_reuse and reusable and rng.random() < 0.5:
                    p = rng.choice(reusable)
                    if p not in self.pools.get((scenario, univ), []):
                        self.pools.setdefault((scenario, univ), []).append(p)
                        to_reuse -= 1
                        continue
                origin_counter[univ] = origin_counter.get(univ, 0) + 1
                year = rng.choice([2022, 2023])
                meta = {
                    "age_range": rng.randint(18, 65),
                    "gender": rng.choice(genders),
                    "race_ethnicity": rng.choice(races),
                    "country_born": countries.get(
                        univ, rng.choice(["usa", "india", "china", "mexico", "canada", "germany"])
                    ),
                    "field": rng.choice(fields),
                    "native_language": None,
                    "home_language": None,
                    "education_completed": None,
                    "current_student": None,
                }
                if rng.random() < 0.3:  # some universities filled the survey fields
                    meta["native_language"] = rng.choice(
                        ["english", "spanish", "hindi", "japanese", "mandarin"]
                    )
                    meta["home_language"] = meta["native_language"]
                    meta["education_completed"] = rng.choice(["high school", "bachelor", "master", "phd"])
                    meta["current_student"] = rng.choice(["yes", "no"])
                p = Participant(
                    uid=next_uid,
                    origin_id=f"{origin_counter[univ]:03d}",
                    univ=univ,
                    collection_date=f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    metadata=meta,
                )
                next_uid += rng.randint(1, 2)
                self.participants.append(p)
                self.pools.setdefault((scenario, univ), []).append(p)

    def pool(self, scenario: str, univ: str) -> list[Participant]:
        """Participants who can appear in a capture of ``univ`` (a participant belongs to one university)."""
        own = self.pools.get((scenario, univ))
        if not own:
            own = [p for p in self.participants if p.univ == univ] or [
                self._participant_at(univ, self.participants[0])
            ]
            self.pools[(scenario, univ)] = own
        return own

    # ---- captures and takes
    def _capture_name(self, rng: Rng, univ: str, scenario: str, n: int) -> tuple[str, str]:
        slug = SCENARIO_SLUG[scenario]
        if scenario == "Music":
            slug = rng.choice(["piano", "guitar", "violin"])
        if univ == "cmu":
            origin = f"{slug}{n:02d}"
        elif univ == "unc":
            origin = f"{slug}_{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}-23_{n:02d}"
        elif univ == "upenn":
            origin = f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}_{slug.capitalize()}_{n}"
        elif univ == "utokyo":
            origin = f"{slug}_{SCENARIOS[scenario][0]}_{n:02d}"
        elif univ in ("uniandes", "iiith"):
            origin = f"{slug}_{n:03d}"
        else:
            origin = f"{slug}_{n:02d}"
        return f"{univ}_{origin}", origin

    def _cameras(self, rng: Rng, univ: str) -> list[Camera]:
        dev = DEVICE_BY_UNIV[univ]
        aria = "aria02" if rng.random() < 0.03 else "aria01"
        cams = [Camera(aria, True, True, True, "aria", f"videos/{aria}.vrs", rng.uid())]
        if univ == "upenn":
            exo = [f"gp{i:02d}" for i in range(1, rng.randint(4, 6) + 1)]
        else:
            exo = ["cam01", "cam02", "cam03", "cam04"]
            if rng.random() < 0.08:
                exo.remove("cam02")
            if rng.random() < 0.10:
                exo.append("cam05")
        ego_gopro = rng.random() < 0.02
        for i, cam in enumerate(exo):
            is_ego = ego_gopro and i == len(exo) - 1
            cams.append(Camera(cam, is_ego, False, True, dev, f"videos/{cam}.mp4", rng.uid()))
        if rng.random() < 0.3:
            cams.append(Camera("moblie", False, False, True, dev, "videos/moblie.mp4", rng.uid()))
        return cams

    def _build_captures_and_takes(self, rng: Rng) -> None:
        name_counter: dict[tuple[str, str], int] = {}
        total_takes = 0
        scen_takes = {sc: scaled(v[1], self.scale) for sc, v in SCENARIOS.items()}
        for scenario, (_pid, _, _, _, hours, n_caps) in SCENARIOS.items():
            n_takes = scen_takes[scenario]
            n_caps = min(scaled(n_caps, self.scale), n_takes)
            mean_dur = hours * 3600 / VIEWS_PER_HOUR / SCENARIOS[scenario][1]
            per_cap = apportion(n_takes - n_caps, [rng.random() + 0.2 for _ in range(n_caps)])
            tasks = self.scenario_tasks(scenario)
            for ci in range(n_caps):
                univ = (
                    rng.weighted(SCENARIO_UNIVERSITIES[scenario])
                    if ci >= len(SCENARIO_UNIVERSITIES[scenario])
                    else list(SCENARIO_UNIVERSITIES[scenario])[ci]
                )
                key = (univ, scenario)
                name_counter[key] = name_counter.get(key, 0) + 1
                cname, origin = self._capture_name(rng, univ, scenario, name_counter[key])
                while any(c.name == cname for c in self.captures[-50:]):
                    name_counter[key] += 1
                    cname, origin = self._capture_name(rng, univ, scenario, name_counter[key])
                site = rng.choice(self.sites_for(scenario, univ))
                day = (
                    1654041600 + rng.randint(0, 540) * 86400 + 7 * 3600
                )  # 2022-06 .. 2023-11, local midnight
                cap = Capture(
                    uid=rng.uid(),
                    name=cname,
                    origin_id=origin,
                    univ=univ,
                    scenario=scenario,
                    site=site,
                    ds_recorded=day,
                    has_trajectory=rng.random() < 0.99,
                    has_gaze=rng.random() < 0.99,
                    has_postsurvey=rng.random() < 0.8,
                    cameras=self._cameras(rng, univ),
                    timesync_uid=rng.uid(),
                    timesync_validated=rng.random() < 0.97,
                    validated=rng.random() < 0.97,
                )
                self.captures.append(cap)
                if univ == "uniandes" and scenario == "Rock Climbing":
                    cap_tasks = [t for t in tasks if t[0] < 7300]
                elif univ == "minnesota" and scenario == "Rock Climbing":
                    cap_tasks = [t for t in tasks if t[0] >= 7300]
                elif scenario == "Dance":
                    cap_tasks = [t for t in tasks if (t[0] >= 9005) == (univ == "uniandes")]
                else:
                    cap_tasks = tasks
                task = rng.choice(cap_tasks)
                pool = self.pool(scenario, univ)
                participant = rng.choice(pool)
                idx = rng.randint(0, 2)
                for _ in range(per_cap[ci] + 1):
                    if rng.random() < 0.3:
                        task = rng.choice(cap_tasks)
                    if scenario in ("Basketball", "Soccer", "Dance") and rng.random() < 0.5:
                        participant = rng.choice(pool)
                    dur_frames = max(300, int(rng.lognormvariate(0, 0.45) * mean_dur * 30 / 1.1))
                    duration = dur_frames / 30
                    exo = [c for c in cap.exo_cams if c != "cam02" or rng.random() > 0.02]
                    has_bounds = rng.random() > 0.06
                    start = round(rng.uniform(0.1, min(8.0, duration * 0.05)), 5) if has_bounds else None
                    end = (
                        round(duration - rng.uniform(0.05, min(6.0, duration * 0.05)), 5)
                        if has_bounds
                        else None
                    )
                    t = Take(
                        uid=rng.uid(),
                        name=f"{cname}_{idx}",
                        capture=cap,
                        idx=idx,
                        participant=participant if rng.random() > 0.01 else None,
                        task_id=task[0],
                        task_name=task[1],
                        scenario=scenario,
                        duration=duration,
                        best_exo=rng.choice(exo) if exo and rng.random() < BEST_EXO_FRACTION else None,
                        task_start=start,
                        task_end=end,
                        is_narrated=False,
                        exo_cams=exo,
                    )
                    cap.takes.append(t)
                    self.takes.append(t)
                    idx += 1 if rng.random() < 0.85 else 2
            total_takes += n_takes
        # Narrate & Act takes
        n_narr = scaled(NARRATED_TAKES, self.scale)
        weights = [NARRATED_WEIGHTS[t.scenario] for t in self.takes]
        chosen: set[int] = set()
        while len(chosen) < min(n_narr, len(self.takes)):
            chosen.add(rng.choices(range(len(self.takes)), weights=weights)[0])
        for i in sorted(chosen):
            self.takes[i].is_narrated = True

    # ---- splits
    def _assign_splits(self, rng: Rng) -> None:
        n = len(self.takes)
        counts = apportion(n, [SPLITS["train"], SPLITS["val"], SPLITS["test"]])
        labels = ["train"] * counts[0] + ["val"] * counts[1] + ["test"] * counts[2]
        rng.shuffle(labels)
        for t, label in zip(self.takes, labels):
            t.split = label

    # ---- quirks every release has, whatever its size
    def _force_quirks(self, rng: Rng) -> None:
        takes = self.takes

        def ensure(
            pred: Callable[[Take], object], fix: Callable[[Take], object], avoid_first: int = 0
        ) -> None:
            if not any(pred(t) for t in takes):
                fix(takes[rng.randrange(avoid_first, len(takes))] if len(takes) > avoid_first else takes[-1])

        ensure(lambda t: t.best_exo is None, lambda t: setattr(t, "best_exo", None))

        def no_task_times(t: Take) -> None:
            t.task_start = t.task_end = None

        ensure(lambda t: t.task_start is None, no_task_times)
        ensure(lambda t: t.participant is None, lambda t: setattr(t, "participant", None))
        ensure(lambda t: t.is_narrated, lambda t: setattr(t, "is_narrated", True))
        # a take without a task (the official notebook calls it "Dropped"), not a keystep scenario
        cands = [t for t in takes if t.scenario not in KEYSTEP_SCENARIOS] or takes
        if not any(t.task_id is None for t in takes):
            t = cands[rng.randrange(len(cands))]
            t.task_id = None
            t.task_name = None
        # a capture without cam02, one with cam05, one with aria02, an upenn capture with gpNN cams
        caps = [c for c in self.captures if c.univ != "upenn"]
        if not any(c.univ == "upenn" for c in self.captures):
            self._retarget_capture(
                rng, next(c for c in self.captures if c.scenario in ("Music", "Cooking")), "upenn"
            )
        if not any("cam02" not in c.exo_cams for c in caps):
            self._drop_cam(caps[0], "cam02")
        if not any("cam05" in c.exo_cams for c in caps):
            self._add_cam(rng, caps[-1], "cam05")
        if not any(c.ego_cam == "aria02" for c in self.captures):
            self._rename_aria(caps[len(caps) // 2])

    def _retarget_capture(self, rng: Rng, cap: Capture, univ: str) -> None:
        old = cap.univ
        cap.univ = univ
        cap.name = cap.name.replace(f"{old}_", f"{univ}_", 1)
        cap.cameras = self._cameras(rng, univ)
        for t in cap.takes:
            t.name = f"{cap.name}_{t.idx}"
            t.exo_cams = list(cap.exo_cams)
            if t.best_exo is not None:
                t.best_exo = cap.exo_cams[0]
            if t.participant is not None and t.participant.univ != univ:
                t.participant = self._participant_at(univ, t.participant)

    def _participant_at(self, univ: str, like: Participant) -> Participant:
        """A participant of ``univ`` (participants belong to one university): an existing
        one, else a new one modelled on ``like``."""
        for p in self.participants:
            if p.univ == univ:
                return p
        origin = 1 + sum(p.univ == univ for p in self.participants)
        p = Participant(
            max(x.uid for x in self.participants) + 1,
            f"{origin:03d}",
            univ,
            like.collection_date,
            dict(like.metadata),
        )
        self.participants.append(p)
        return p

    def _drop_cam(self, cap: Capture, cam: str) -> None:
        cap.cameras = [c for c in cap.cameras if c.cam_id != cam]
        for t in cap.takes:
            t.exo_cams = [c for c in t.exo_cams if c != cam]
            if t.best_exo == cam:
                t.best_exo = t.exo_cams[0] if t.exo_cams else None

    def _add_cam(self, rng: Rng, cap: Capture, cam: str) -> None:
        dev = DEVICE_BY_UNIV[cap.univ]
        pos = max(i for i, c in enumerate(cap.cameras) if c.cam_id != "moblie") + 1
        cap.cameras.insert(pos, Camera(cam, False, False, True, dev, f"videos/{cam}.mp4", rng.uid()))
        for t in cap.takes:
            t.exo_cams.append(cam)

    def _rename_aria(self, cap: Capture) -> None:
        for c in cap.cameras:
            if c.cam_id.startswith("aria"):
                c.cam_id = "aria02"
                c.relative_path = "videos/aria02.vrs"

    # ---- which takes carry which annotations
    def assign_annotations(self, rng: Rng) -> None:
        s = self.scale
        trainval = [t for t in self.takes if t.split in ("train", "val")]

        def pick(pool: list[Take], n: int) -> list[Take]:
            n = min(n, len(pool))
            return rng.sample(pool, n)

        # keystep: 668 train / 182 val takes of the procedural scenarios
        for split, n in KEYSTEP_TAKES.items():
            pool = [
                t
                for t in self.takes
                if t.split == split and t.scenario in KEYSTEP_SCENARIOS and t.task_id is not None
            ]
            for t in pick(pool, scaled(n, s)):
                t.keystep = True
        # atomic descriptions: 4,965 takes. Only train/val files are released, so the
        # annotations of test-split takes sit in those files too (their own split).
        for t in pick(self.takes, scaled(ATOMIC_TAKES, s)):
            t.atomic_split = t.split if t.split != "test" else ("train" if rng.random() < 0.78 else "val")
        atomic = [t for t in self.takes if t.atomic_split]
        n_desc = max(scaled(ATOMIC_DESCRIPTIONS, s), len(atomic))
        for t, n in zip(atomic, apportion(n_desc, [t.duration for t in atomic], minimum=1)):
            t.n_atomic = n
        # expert commentary: 3,055 train/val takes, 11,689 commentaries, 50 experts
        self._commentary_takes = pick(trainval, scaled(COMMENTARY_TAKES, s))
        # proficiency demonstrator / demonstration: train/val takes of six scenarios
        prof_pool = [t for t in trainval if t.scenario in PROFICIENCY_SCENARIOS and t.task_id is not None]
        n_orph_each = scaled(PROFICIENCY_ORPHANS, s) // 2 or 1
        for t in pick(prof_pool, max(1, scaled(DEMONSTRATOR_RECORDS, s) - n_orph_each)):
            t.demonstrator = True
        for t in pick(prof_pool, max(1, scaled(DEMONSTRATION_RECORDS, s) - n_orph_each)):
            t.demonstration = True
        # relations: 1,653 takes over train/val/test
        rel_pool = [t for t in self.takes if t.scenario in RELATIONS_SCENARIOS and t.task_id is not None]
        for t in pick(rel_pool, scaled(RELATIONS_TAKES, s)):
            t.relations = True
            t.correspondence = rng.random() < 0.8
            t.translation = rng.random() < 0.5
        # ego pose: body/hand x annotation/automatic, train/val files (test has camera poses only)
        for (kind, source), n in POSE_TAKES.items():
            pool = [t for t in trainval if t.scenario in POSE_SCENARIOS[kind]]
            for t in pick(pool, scaled(n, s)):
                t.pose[(kind, source)] = True
                t.camera_pose = True
        test_pose = [t for t in self.takes if t.split == "test" and t.scenario in POSE_SCENARIOS["body"]]
        for t in pick(test_pose, scaled(300, s)):
            t.camera_pose = True

    def _build_experts(self, rng: Rng) -> dict[str, list[str]]:
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        n = max(len(SCENARIOS), scaled(EXPERTS, self.scale))
        per = apportion(n, [SCENARIOS[sc][1] ** 0.5 for sc in SCENARIOS], minimum=1)
        experts: dict[str, list[str]] = {}
        seen: set[str] = set()
        for sc, k in zip(SCENARIOS, per):
            experts[sc] = []
            while len(experts[sc]) < k:
                e = "".join(rng.choice(alphabet) for _ in range(6))
                if e not in seen:
                    seen.add(e)
                    experts[sc].append(e)
        # commentaries per take: total 11,689 over the commentary takes, at most all experts of the scenario
        takes = self._commentary_takes
        total = scaled(COMMENTARIES, self.scale)
        counts = (
            apportion(max(total, len(takes)), [rng.random() + 0.3 for _ in takes], minimum=1) if takes else []
        )
        # a take has at most every expert of its scenario: move the excess to takes with room
        room = [len(experts[t.scenario]) for t in takes]
        excess = sum(max(0, k - r) for k, r in zip(counts, room))
        counts = [min(k, r) for k, r in zip(counts, room)]
        i = 0
        while excess and any(k < r for k, r in zip(counts, room)):
            j = i % len(takes)
            if counts[j] < room[j]:
                counts[j] += 1
                excess -= 1
            i += 1
        for t, k in zip(takes, counts):
            t.commentary_experts = rng.sample(experts[t.scenario], k)
        return experts

    def _build_orphans(self, rng: Rng) -> list[OrphanTake]:
        """Take uids the proficiency files name but takes.json does not have."""
        n = scaled(PROFICIENCY_ORPHANS, self.scale, minimum=2)
        out = []
        for i in range(n):
            sc = rng.choice(PROFICIENCY_SCENARIOS)
            univ = rng.weighted(SCENARIO_UNIVERSITIES[sc])
            tasks = self.scenario_tasks(sc)
            tid, tname = rng.choice(tasks)
            cname, _ = self._capture_name(rng, univ, sc, 900 + i)
            out.append(
                OrphanTake(
                    uid=rng.uid(),
                    name=f"{cname}_{rng.randint(0, 9)}",
                    scenario=sc,
                    univ=univ,
                    task_id=tid,
                    task_name=tname,
                    participant_origin_id=f"{rng.randint(1, 400):03d}",
                    split="train" if rng.random() < 0.8 else "val",
                    exo_cams=["cam01", "cam02", "cam03", "cam04"],
                )
            )
        return out

    @cached_property
    def take_by_uid(self) -> dict[str, Take]:
        return {t.uid: t for t in self.takes}

    @cached_property
    def site_by_uid(self) -> dict[int, Site]:
        return {s.physical_uid: s for s in self.sites}
