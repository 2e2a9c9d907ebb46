"""The published Ego-Exo4D v2 numbers and vocabularies the synthetic world is made to
(egoexo-format.md section 16): counts per scenario and annotation family, universities,
settings, and the real task table. :mod:`egoexo_sql.demo.world` scales them."""

from __future__ import annotations

import json
from importlib import resources

# scenario: (parent task id, takes, participants, sites, video hours, captures)
# captures per scenario are not published; they sum to the published 787.
SCENARIOS: dict[str, tuple[int, int, int, int, float, int]] = {
    "Cooking": (1000, 678, 173, 55, 564.13, 250),
    "Health": (2000, 397, 122, 24, 114.5, 110),
    "Bike Repair": (4000, 363, 32, 8, 82.15, 55),
    "Music": (5000, 276, 59, 8, 180.08, 70),
    "Basketball": (6000, 910, 113, 5, 78.01, 95),
    "Rock Climbing": (7000, 1401, 98, 2, 93.90, 80),
    "Soccer": (8000, 282, 78, 14, 66.97, 50),
    "Dance": (9000, 728, 93, 7, 106.57, 77),
}
TOTAL_TAKES = 5035
TOTAL_PARTICIPANTS = 740
SPLITS = {"train": 3072, "val": 842, "test": 1121}
# all-view hours / ego hours (1286.30 / 221.26): turns per-scenario video hours into take length
VIEWS_PER_HOUR = 1286.30 / 221.26

UNIV_TO_BUCKET = {  # ego4d/cli/universities.py
    "cmu": "ego4d-cmu",
    "fair": "ego4d-consortium-sharing",
    "georgiatech": "ego4d-georgiatech",
    "iiith": "ego4d-iiith",
    "indiana": "ego4d-indiana",
    "minnesota": "ego4d-minnesota",
    "nus": "ego4d-speac",
    "sfu": "ego4d-sfu",
    "unc": "ego4d-unc",
    "uniandes": "ego4d-university-sa",
    "upenn": "ego4d-penn",
    "utokyo": "ego4d-utokyo",
}

# which universities recorded which scenario, with weights (take names in the docs and
# the proficiency test list: uniandes bouldering/salsa, unc basketball, upenn piano,
# utokyo soccer, georgiatech covid, cmu bike, iiith piano, minnesota climbing)
SCENARIO_UNIVERSITIES: dict[str, dict[str, int]] = {
    "Cooking": {
        "georgiatech": 2,
        "iiith": 3,
        "indiana": 3,
        "minnesota": 2,
        "nus": 2,
        "sfu": 2,
        "upenn": 3,
        "utokyo": 2,
        "fair": 1,
        "uniandes": 2,
    },
    "Health": {
        "georgiatech": 3,
        "iiith": 2,
        "indiana": 2,
        "minnesota": 1,
        "nus": 1,
        "sfu": 2,
        "unc": 1,
        "uniandes": 2,
        "upenn": 1,
    },
    "Bike Repair": {"cmu": 4, "indiana": 1, "minnesota": 1, "uniandes": 1},
    "Music": {"iiith": 2, "upenn": 3, "indiana": 1, "utokyo": 1},
    "Basketball": {"unc": 5, "uniandes": 2, "iiith": 1, "sfu": 1},
    "Rock Climbing": {"uniandes": 6, "minnesota": 1},
    "Soccer": {"utokyo": 2, "uniandes": 2, "iiith": 1, "sfu": 1, "fair": 1},
    "Dance": {"uniandes": 4, "upenn": 1, "unc": 1, "iiith": 1},
}

SCENARIO_SLUG = {
    "Cooking": "cooking",
    "Health": "covid",
    "Bike Repair": "bike",
    "Music": "music",
    "Basketball": "basketball",
    "Rock Climbing": "bouldering",
    "Soccer": "soccer",
    "Dance": "dance",
}
SETTING_SLUG = {
    "Cooking": "kitchen",
    "Health": "clinic",
    "Bike Repair": "bikebay",
    "Music": "musicroom",
    "Basketball": "court",
    "Rock Climbing": "wall",
    "Soccer": "field",
    "Dance": "studio",
}
SETTING_OBJECTS = {
    "Cooking": [
        "knife",
        "cutting_board",
        "frying_pan",
        "stainless_bowl",
        "spatula",
        "egg",
        "tomato",
        "cucumber",
        "pot",
        "plate",
        "spoon",
        "kettle",
        "mug",
        "oil_bottle",
    ],
    "Health": [
        "test_kit",
        "swab",
        "tube",
        "timer",
        "thermometer",
        "oximeter",
        "blood_pressure_cuff",
        "cpr_dummy",
        "gloves",
    ],
    "Bike Repair": [
        "bike",
        "wheel",
        "tire_lever",
        "pump",
        "allen_wrench_set",
        "chain_lube",
        "rag",
        "inner_tube",
        "wrench",
    ],
    "Music": ["piano", "guitar", "violin", "bow", "music_stand", "trumpet", "trombone", "saxophone"],
    "Basketball": ["basketball", "hoop", "cone"],
    "Rock Climbing": ["hold", "chalk_bag", "crash_pad"],
    "Soccer": ["soccer_ball", "cone", "goal"],
    "Dance": ["mirror", "speaker"],
}
# is_narrated takes by scenario (456 in v2), as weights
NARRATED_WEIGHTS = {
    "Cooking": 5,
    "Health": 3,
    "Bike Repair": 3,
    "Music": 2,
    "Basketball": 1,
    "Rock Climbing": 1,
    "Soccer": 1,
    "Dance": 1,
}

# annotation coverage at scale 1
KEYSTEP_TAKES = {"train": 668, "val": 182}
KEYSTEP_SCENARIOS = ("Cooking", "Health", "Bike Repair")
ATOMIC_TAKES = 4965
ATOMIC_DESCRIPTIONS = 432_467
COMMENTARY_TAKES = 3055
COMMENTARIES = 11_689
COMMENTARY_RECORDINGS = 117_812
EXPERTS = 50
RELATIONS_TAKES = 1653
RELATIONS_SCENARIOS = ("Cooking", "Health", "Bike Repair", "Music")
PROFICIENCY_SCENARIOS = ("Basketball", "Cooking", "Dance", "Music", "Rock Climbing", "Soccer")
DEMONSTRATOR_RECORDS = 2580  # train+val, orphans included (not published)
DEMONSTRATION_RECORDS = 2580
PROFICIENCY_ORPHANS = 258  # distinct take_uids missing from takes.json, over all proficiency files
POSE_TAKES = {
    ("body", "annotation"): 1358,
    ("body", "automatic"): 2559,
    ("hand", "annotation"): 458,
    ("hand", "automatic"): 976,
}
POSE_SCENARIOS = {
    "body": ("Basketball", "Dance", "Soccer", "Rock Climbing", "Bike Repair", "Music", "Health", "Cooking"),
    "hand": ("Music", "Cooking", "Bike Repair", "Health"),
}
NARRATED_TAKES = 456
BEST_EXO_FRACTION = 0.90

PROFICIENCY_LEVELS = ("Novice", "Early Expert", "Intermediate Expert", "Late Expert")

DEVICE_BY_UNIV = {
    "cmu": "hero10",
    "fair": "hero10",
    "georgiatech": "hero9",
    "iiith": "hero9",
    "indiana": "hero10",
    "minnesota": "hero9",
    "nus": "hero8",
    "sfu": "hero10",
    "unc": "hero10",
    "uniandes": "hero9",
    "upenn": "hero11",
    "utokyo": "hero10",
}


def load_task_table() -> dict[str, str]:
    """metadata.json's task table, exactly as in the real v2 release (real-samples, Apache-2.0)."""
    text = resources.files(__package__).joinpath("tasks_v2.json").read_text(encoding="utf-8")
    tasks: dict[str, str] = json.loads(text)
    return tasks
