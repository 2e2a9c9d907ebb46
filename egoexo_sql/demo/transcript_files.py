"""Audio transcripts (download part ``take_transcription``):
``takes/<take_name>/audio/<aria cam>_transcriptions.json``.

Each file is what Whisper large-v3 ``model.transcribe(audio, word_timestamps=True)``
returns (E4D ``egoexo/scripts/extract_audio_transcribe.py`` dumps the result dict):
``text`` (every segment's text joined, with Whisper's leading spaces), ``segments``
(``id, seek, start, end, text, tokens, temperature, avg_logprob, compression_ratio,
no_speech_prob, words``; each word ``word, start, end, probability``) and ``language``.
Times are seconds from the take's start, rounded to 10 ms as Whisper writes them;
word times lie inside their segment and segments inside the take.

Modelling choices (the real coverage is not published):

* **Every take has a transcript.** The script transcribes the Aria audio of every take,
  and every capture's Aria records audio (``includes_audio`` is true), so the part has
  one file per take, named after the take's Aria camera (``aria01``, or ``aria02`` for
  the captures that use it). This also keeps the ``take_transcription`` manifest (one
  entry per take) pointing at files that exist.
* **Narrate & Act takes** (``is_narrated``) are speech-rich: the participant explains
  what they do and why, a segment every few seconds for the whole take. About half of
  the uniandes ones are in Spanish (``language`` ``es``).
* **Other takes** are sparse: a quarter have no speech at all (``segments`` empty,
  ``text`` ``""``); the rest a few short utterances of the recording staff ("Are we
  recording?") and Whisper's typical silence hallucination ("Thank you.") with a high
  ``no_speech_prob``.

Phrases for the search tests are planted into chosen segments of narrated takes by
:class:`egoexo_sql.demo.planted.Planter` (its own random stream, so planting changes
no other byte). Ground truth: ``truth["narrations"]`` (segments) and
``truth["narration_words"]`` (words).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from . import text
from .world import Rng, Take, World

Files = Iterator[tuple[str, Any]]


class Planter(Protocol):
    """What the transcripts need of :class:`egoexo_sql.demo.planted.Planter` (which
    uses :func:`words_for` from here: this module does not import it back)."""

    def plan_narration(self, world: World) -> None: ...

    def plant_narration(self, t: Take, segments: list[dict[str, Any]], language: str) -> None: ...


REASONS = {
    "Cooking": [
        "it keeps the shell out of the bowl",
        "the pan needs to be hot first",
        "otherwise it sticks",
        "that way it cooks evenly",
        "I don't want to overcook it",
        "the knife stays sharp longer",
    ],
    "Health": [
        "the swab has to stay in for fifteen seconds",
        "you read the result after ten minutes",
        "it keeps the sample clean",
        "the cuff has to sit above the elbow",
        "you don't want to touch the tip",
    ],
    "Bike Repair": [
        "the wheel comes out easier that way",
        "you don't want to pinch the tube",
        "the brake has to be open first",
        "it keeps the chain from skipping",
        "the bolts strip if you force them",
    ],
    "Music": [
        "it keeps the tempo steady",
        "the wrist should stay loose",
        "that way the note rings longer",
        "I want the phrase to breathe",
        "it is easier to hear the pitch",
    ],
    "Basketball": [
        "it gives me a better angle",
        "I keep my eyes on the rim",
        "the follow-through matters more than power",
        "it protects the ball",
        "my feet have to be set first",
    ],
    "Rock Climbing": [
        "it saves energy in my arms",
        "I want my hips close to the wall",
        "this hold is better with an open hand",
        "I look for the next foothold first",
        "my legs do most of the work",
    ],
    "Soccer": [
        "it keeps the ball close",
        "the inside of the foot gives more control",
        "it opens up the field",
        "I want to keep my head up",
        "it is harder for a defender to reach",
    ],
    "Dance": [
        "it keeps me on the beat",
        "my weight has to be on the front foot",
        "the turn starts from the hips",
        "it makes the move look smoother",
        "I count the steps in my head",
    ],
}
TIPS = [
    "just take your time",
    "keep it steady",
    "nice and slow",
    "not too hard",
    "you can feel it",
    "that's the trick",
]
NARRATION = [
    "Okay, so now I'm going to {vb} {obj}.",
    "First I {vb} {obj} {place}.",
    "I {vb} {obj} {place} because {reason}.",
    "The reason I do it like this is {reason}.",
    "Now I'm {ving} {obj}, {tip}.",
    "You want to {vb} {obj} {place}, {tip}.",
    "Let me {vb} {obj} again.",
    "Um, so, I {vb} {obj}, and {reason}.",
    "This is the tricky part, {tip}.",
    "Alright, and then {vb} {obj}.",
]
SPANISH = [
    "Bueno, ahora voy a {verbo} {objeto}.",
    "Primero {yo} {objeto} con cuidado.",
    "Lo hago así porque {razon}.",
    "Esta parte es la más difícil, {consejo}.",
    "Ahora {yo} {objeto} otra vez.",
    "¿Ves? {razon_cap}.",
]
VERBOS = [
    ("tomar", "tomo"),
    ("mover", "muevo"),
    ("girar", "giro"),
    ("levantar", "levanto"),
    ("sostener", "sostengo"),
    ("empujar", "empujo"),
    ("revisar", "reviso"),
]
OBJETOS = [
    "la pelota",
    "la presa",
    "el pie izquierdo",
    "la pared",
    "el balón",
    "la sartén",
    "el huevo",
    "la mano derecha",
]
RAZONES = [
    "así ahorro energía",
    "me da más equilibrio",
    "es más fácil así",
    "mantengo el ritmo",
    "no quiero perder el control",
]
CONSEJOS = ["despacio", "con calma", "sin prisa"]
STAFF = [
    "Okay.",
    "Ready?",
    "Are we recording?",
    "Alright, go ahead.",
    "You can start whenever you're ready.",
    "Nice.",
    "Hold on.",
    "One more time.",
    "Can you hand me that?",
    "Got it.",
    "Perfect.",
    "Sorry.",
    "Yeah.",
    "Is it on?",
    "We're good.",
    "Okay, that's it.",
]
HALLUCINATIONS = ["Thank you.", "Thanks for watching!", "you"]


def base_form(verb: str) -> str:
    """``cracks`` -> ``crack``, ``pushes`` -> ``push`` (the third-person forms of text.VERBS)."""
    if verb.endswith(("shes", "ches", "sses", "xes")):
        return verb[:-2]
    if verb.endswith("ies"):
        return verb[:-3] + "y"
    return verb[:-1] if verb.endswith("s") else verb


def ing_form(base: str) -> str:
    if base.endswith("e") and not base.endswith("ee"):
        return base[:-1] + "ing"
    vowels = "aeiou"
    if (
        len(base) <= 4
        and base not in ("open",)
        and base[-1] in "bdgmnprt"
        and base[-2] in vowels
        and base[-3] not in vowels
    ):
        return base + base[-1] + "ing"
    return base + "ing"


def _sentence(rng: Rng, t: Take) -> str:
    verbs = text.VERBS.get(t.scenario) or text.VERBS["Cooking"]
    objs = text.OBJECTS.get(t.scenario) or text.OBJECTS["Cooking"]
    vb = base_form(rng.choice(verbs))
    s = rng.choice(NARRATION).format(
        vb=vb,
        ving=ing_form(vb),
        obj=rng.choice(objs),
        place=rng.choice(text.PLACES),
        reason=rng.choice(REASONS[t.scenario]),
        tip=rng.choice(TIPS),
    )
    return s


def _spanish(rng: Rng) -> str:
    verbo, yo = rng.choice(VERBOS)
    razon = rng.choice(RAZONES)
    return rng.choice(SPANISH).format(
        verbo=verbo,
        yo=yo,
        objeto=rng.choice(OBJETOS),
        razon=razon,
        razon_cap=razon[0].upper() + razon[1:],
        consejo=rng.choice(CONSEJOS),
    )


def _floor2(x: float) -> float:
    return math.floor(x * 100) / 100


def words_for(rng: Rng, sentence: str, start: float, end: float, lo: float = 0.55) -> list[dict[str, Any]]:
    """Whisper's word list for ``sentence`` spoken between ``start`` and ``end`` (rounded
    times, every word inside the segment; each word keeps its leading space)."""
    tokens = sentence.split()
    weights = [len(w) + 2 for w in tokens]
    total = sum(weights)
    span = end - start
    cursor = start
    out = []
    for w, k in zip(tokens, weights):
        share = span * k / total
        ws = max(start, min(end, round(cursor, 2)))
        we = max(ws, min(end, round(cursor + share * rng.uniform(0.7, 1.0), 2)))
        out.append(
            {"word": " " + w, "start": ws, "end": we, "probability": round(rng.uniform(lo, 1.0) ** 0.3, 4)}
        )
        cursor += share
    return out


# (avg_logprob, compression_ratio, no_speech_prob, lowest word probability) ranges by kind:
# the wearer's close speech, staff further away, Whisper's hallucinations in silence
QUALITY = {
    "speech": ((-0.45, -0.08), (1.1, 1.9), (0.0005, 0.08), 0.55),
    "staff": ((-0.9, -0.3), (0.8, 1.5), (0.05, 0.5), 0.3),
    "junk": ((-1.4, -0.8), (0.6, 1.2), (0.5, 0.95), 0.05),
}


def segment(
    rng: Rng, idx: int, seek: int, start: float, end: float, sentence: str, *, kind: str = "speech"
) -> dict[str, Any]:
    n = len(sentence.split())
    logprob, ratio, no_speech, lo = QUALITY[kind]
    return {
        "id": idx,
        "seek": seek,
        "start": start,
        "end": end,
        "text": " " + sentence,
        "tokens": [rng.randint(220, 50256) for _ in range(int(n * 1.35) + 1)],
        "temperature": 0.0 if rng.random() < 0.93 else rng.choice((0.2, 0.4)),
        "avg_logprob": round(rng.uniform(*logprob), 12),
        "compression_ratio": round(rng.uniform(*ratio), 12),
        "no_speech_prob": round(rng.uniform(*no_speech), 12),
        "words": words_for(rng, sentence, start, end, lo),
    }


def _timeline(
    rng: Rng, duration: float, sentences: Iterable[str], gap_mean: float, first: float
) -> list[tuple[float, float, str]]:
    """(start, end, sentence) inside [0, duration]: speech at ~2.2-3.4 words a second."""
    out: list[tuple[float, float, str]] = []
    t = first
    limit = _floor2(duration)
    for s in sentences:
        n = len(s.split())
        dur = n / rng.uniform(2.2, 3.4) + rng.uniform(0.1, 0.5)
        start, end = round(t, 2), round(t + dur, 2)
        if end > limit:
            break
        out.append((start, end, s))
        t = end + 0.2 + rng.expovariate(1 / gap_mean)
    return out


def _forever(fn: Callable[[], str]) -> Iterator[str]:
    while True:
        yield fn()


def transcript(t: Take, rng: Rng, planter: Planter | None = None) -> dict[str, Any]:
    """The Whisper result for one take."""
    language = "en"
    if t.is_narrated:
        spanish = t.univ == "uniandes" and rng.random() < 0.5
        language = "es" if spanish else "en"
        make = (lambda: _spanish(rng)) if spanish else (lambda: _sentence(rng, t))
        spans = _timeline(rng, t.duration, _forever(make), gap_mean=3.0, first=rng.uniform(0.3, 4.0))
        if not spans:  # a very short take: one short remark
            end = _floor2(min(t.duration, 1.6))
            spans = [(round(end / 4, 2), end, "Okay." if not spanish else "Bueno.")]
        speech = True
    else:
        n = rng.choices((0, 1, 2, 3, 4, 6), weights=(25, 22, 20, 15, 10, 8))[0]
        utterances = [rng.choice(STAFF) for _ in range(n)]
        hallucinate = n and rng.random() < 0.35
        spans = _timeline(
            rng,
            t.duration,
            utterances,
            gap_mean=max(5.0, t.duration / max(n, 1) / 2),
            first=rng.uniform(0.2, 6.0),
        )
        if hallucinate and spans and spans[-1][1] + 3 < t.duration:
            start = round(spans[-1][1] + rng.uniform(0.5, 2.5), 2)
            end = min(_floor2(t.duration), round(start + rng.uniform(0.8, 2.0), 2))
            if end > start:
                spans.append((start, end, rng.choice(HALLUCINATIONS)))
        speech = False
    segments = []
    window = 0.0
    for i, (start, end, s) in enumerate(spans):
        if start >= window + 30.0:
            window = start
        kind = "speech" if speech else ("junk" if s in HALLUCINATIONS else "staff")
        segments.append(segment(rng, i, int(round(window * 100)), start, end, s, kind=kind))
    if planter is not None:
        planter.plant_narration(t, segments, language)
    return {"text": "".join(s["text"] for s in segments), "segments": segments, "language": language}


def transcript_files(world: World, rng: Rng, truth: Counter[str], planter: Planter | None = None) -> Files:
    if planter is not None:
        planter.plan_narration(world)
    for t in world.takes:
        obj = transcript(t, rng, planter)
        truth["narrations"] += len(obj["segments"])
        truth["narration_words"] += sum(len(s["words"]) for s in obj["segments"])
        yield f"takes/{t.name}/audio/{t.ego_cam}_transcriptions.json", obj
