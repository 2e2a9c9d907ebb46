"""Plausible language for the synthetic annotations.

Atomic descriptions follow the real convention ("C" is the camera wearer; other
people are named by the annotator, e.g. "the man X"). The vocabulary is per
scenario so that text search has something real to find.
"""

from __future__ import annotations

from .world import Rng

VERBS = {
    "Cooking": [
        "picks",
        "cuts",
        "slices",
        "stirs",
        "pours",
        "cracks",
        "places",
        "washes",
        "holds",
        "turns",
        "adds",
        "mixes",
        "wipes",
        "opens",
        "closes",
        "drops",
    ],
    "Health": [
        "opens",
        "holds",
        "inserts",
        "swabs",
        "places",
        "reads",
        "presses",
        "turns",
        "wraps",
        "drops",
        "checks",
        "removes",
    ],
    "Bike Repair": [
        "loosens",
        "tightens",
        "removes",
        "spins",
        "lifts",
        "holds",
        "pumps",
        "inspects",
        "wipes",
        "turns",
        "places",
        "pushes",
    ],
    "Music": ["plays", "presses", "strums", "bows", "adjusts", "turns", "lifts", "holds", "taps", "tunes"],
    "Basketball": [
        "dribbles",
        "shoots",
        "catches",
        "passes",
        "jumps",
        "runs",
        "bounces",
        "holds",
        "picks",
        "throws",
    ],
    "Rock Climbing": [
        "grabs",
        "reaches",
        "steps",
        "pulls",
        "chalks",
        "shifts",
        "hangs",
        "holds",
        "looks",
        "climbs",
    ],
    "Soccer": [
        "kicks",
        "traps",
        "dribbles",
        "passes",
        "juggles",
        "runs",
        "stops",
        "touches",
        "shoots",
        "turns",
    ],
    "Dance": ["steps", "turns", "spins", "raises", "moves", "claps", "sways", "lifts", "shifts", "slides"],
}
OBJECTS = {
    "Cooking": [
        "the knife",
        "the egg",
        "the tomato",
        "the cucumber",
        "the frying pan",
        "the bowl",
        "the spatula",
        "the pot",
        "the lid",
        "the plate",
        "the oil bottle",
        "the noodles",
        "the chopping board",
        "the salt",
        "the kettle",
        "the cup",
    ],
    "Health": [
        "the test kit",
        "the swab",
        "the tube",
        "the test card",
        "the timer",
        "the thermometer",
        "the oximeter",
        "the cuff",
        "the manikin",
        "the instructions",
        "the glove",
        "the box",
    ],
    "Bike Repair": [
        "the wheel",
        "the tire",
        "the tube",
        "the chain",
        "the quick release lever",
        "the allen wrench",
        "the pump",
        "the brake",
        "the derailleur",
        "the frame",
        "the rag",
        "the tire lever",
    ],
    "Music": [
        "the piano keys",
        "the guitar",
        "the violin",
        "the bow",
        "the sheet music",
        "the tuning peg",
        "the trumpet",
        "the valve",
        "the music stand",
        "the strings",
    ],
    "Basketball": ["the basketball", "the ball", "the hoop", "the backboard", "the cone"],
    "Rock Climbing": ["the hold", "the wall", "the chalk bag", "the crash pad", "the edge", "the jug"],
    "Soccer": ["the soccer ball", "the ball", "the cone", "the goal", "the turf"],
    "Dance": ["the partner", "the left foot", "the right foot", "both arms", "the hips", "the mirror"],
}
PLACES = [
    "with the right hand",
    "with the left hand",
    "with both hands",
    "on the table",
    "from the counter",
    "into the bowl",
    "to the left",
    "to the right",
    "slowly",
    "quickly",
    "again",
    "on the floor",
]
OTHERS = ["the man X", "the woman Y", "the person B", "the instructor Z", "the man Q"]

COMMENTARY = [
    "Notice how {pron} keeps a firm grip on {obj}; that control is what an expert does.",
    "Here {pron} hesitates before {verb_ing} {obj}, which costs time.",
    "Good posture here, the weight is centred and the movement is smooth.",
    "{pron_cap} should look at {obj} before moving, the eyes lead the hands.",
    "That was efficient, {pron} prepared {obj} in advance.",
    "A small mistake: {pron} {verb} {obj} too early and has to correct it.",
    "The rhythm is steady; an intermediate performer would rush this part.",
    "Watch the elbow here, it drifts away from the body.",
    "{pron_cap} checks {obj} again, which shows a lack of confidence.",
    "Excellent recovery after the slip, calm and controlled.",
]
TIPS = [
    "Keep the wrist relaxed while handling {obj}.",
    "Plan the next step before finishing the current one.",
    "Use both hands to stabilise {obj}.",
    "Slow down and focus on accuracy first.",
    "Keep the elbows closer to the body.",
    "Look ahead instead of at {obj}.",
    "Breathe out during the effort.",
]
GOOD = [
    "Very smooth handling of {obj}.",
    "Great balance and body position.",
    "Confident and efficient movement.",
    "Nice preparation of {obj} before starting.",
    "Good timing and rhythm throughout.",
]
REASONS = [
    "Consistent technique with only minor hesitations.",
    "Several corrections were needed; the basics are there.",
    "Fluent and confident; clearly experienced.",
    "Struggled with the sequence and needed to restart.",
    "Efficient and safe, but a bit slow.",
]
STEP_VERBS = {
    "Cooking": [
        "Crack",
        "Whisk",
        "Chop",
        "Slice",
        "Peel",
        "Wash",
        "Boil",
        "Fry",
        "Stir",
        "Add",
        "Pour",
        "Season",
        "Serve",
        "Heat",
        "Rinse",
        "Drain",
        "Mix",
        "Measure",
    ],
    "Health": [
        "Unbox",
        "Read",
        "Swab",
        "Insert",
        "Mix",
        "Wait for",
        "Check",
        "Place",
        "Record",
        "Press",
        "Attach",
        "Remove",
        "Dispose of",
    ],
    "Bike Repair": [
        "Loosen",
        "Remove",
        "Install",
        "Inflate",
        "Inspect",
        "Clean",
        "Lubricate",
        "Adjust",
        "Tighten",
        "Align",
        "Check",
    ],
}
STEP_OBJECTS = {
    "Cooking": [
        "eggs",
        "tomato",
        "cucumber",
        "onion",
        "noodles",
        "pasta",
        "rice",
        "oil",
        "salt",
        "pepper",
        "water",
        "milk",
        "tea",
        "coffee",
        "dough",
        "salad",
        "sauce",
        "garlic",
        "ginger",
        "lettuce",
    ],
    "Health": [
        "package",
        "instructions",
        "swab",
        "nostril",
        "tube",
        "test card",
        "result",
        "cuff",
        "arm",
        "oximeter",
        "finger",
        "thermometer",
        "chest compressions",
        "airway",
    ],
    "Bike Repair": [
        "wheel",
        "tire",
        "tube",
        "chain",
        "brake",
        "derailleur",
        "headset",
        "quick release",
        "valve",
        "spokes",
        "cassette",
        "bolts",
    ],
}


def atomic_text(rng: Rng, scenario: str, subject_is_c: bool) -> str:
    verbs = VERBS.get(scenario) or VERBS["Cooking"]
    objs = OBJECTS.get(scenario) or OBJECTS["Cooking"]
    subj = "C" if subject_is_c else rng.choice(OTHERS)
    text = f"{subj} {rng.choice(verbs)} {rng.choice(objs)}"
    r = rng.random()
    if r < 0.6:
        text += " " + rng.choice(PLACES)
    return text + "."


def _fill(rng: Rng, template: str, scenario: str) -> str:
    objs = OBJECTS.get(scenario) or OBJECTS["Cooking"]
    verbs = VERBS.get(scenario) or VERBS["Cooking"]
    pron = rng.choice(["he", "she", "they"])
    verb = rng.choice(verbs)
    return template.format(
        obj=rng.choice(objs),
        pron=pron,
        pron_cap=pron.capitalize(),
        verb=verb,
        verb_ing=verb[:-1] + "ing" if verb.endswith("s") else verb + "ing",
    )


def commentary_text(rng: Rng, scenario: str) -> str:
    return _fill(rng, rng.choice(COMMENTARY), scenario)


def tip_text(rng: Rng, scenario: str) -> str:
    return _fill(rng, rng.choice(TIPS), scenario)


def good_text(rng: Rng, scenario: str) -> str:
    return _fill(rng, rng.choice(GOOD), scenario)


def reason_text(rng: Rng) -> str:
    return rng.choice(REASONS)


def step_names(rng: Rng, scenario: str, n: int) -> list[str]:
    verbs, objs = STEP_VERBS[scenario], STEP_OBJECTS[scenario]
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n and len(seen) < len(verbs) * len(objs):
        name = f"{rng.choice(verbs)} {rng.choice(objs)}"
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names
