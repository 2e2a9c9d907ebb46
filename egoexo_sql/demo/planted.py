"""Ground truth for text search: planted phrases, and the expected size of the index.

:class:`Planter` rewrites a few chosen texts of the synthetic release into sentences
with words that occur nowhere else (``quail``, ``ramekin``, ``mandoline``, ``saffron``,
``hanger`` ...), in atomic descriptions, expert commentary and audio transcripts, and
records where: ``DemoReport.planted`` lists ``{id, query, source, take_uid, take_name,
time, text}``. The search tests then ask each ``query`` and expect exactly the planted
documents on top. It works as a pass over the writers' ``(relative_path, object)``
stream (atomic, commentary) or inside the transcript writer (narration), with its own
random stream: the chosen texts change, nothing else does, and the same seed plants
the same phrases in the same places. Commentary plants are written to both the
``expert_commentary_<split>.json`` recording and the folder's ``transcriptions.json``.

:class:`SearchTruth` watches the same stream after planting and counts what the
catalog's search index must hold: documents (texts with at least one term), postings
(distinct terms per document) and terms. It tokenises with
:func:`egoexo_sql.search.tokenize` while the catalog builds its index with the SQL
macro of ``queries/search/tokenize.sql``, so equal counts also hold the two
tokenisers together.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .transcript_files import words_for
from .world import Take, World, rng_for

Files = Iterator[tuple[str, Any]]
PER_PHRASE = 5


@dataclass(frozen=True)
class Phrase:
    id: str
    source: str  # atomic | commentary | narration
    query: str
    texts: tuple[str, ...]  # variants, used in turn
    subject: str | None = None  # atomic: plant only into descriptions with this subject
    scenario: str | None = None  # takes of this scenario first, then any take


PHRASES: tuple[Phrase, ...] = (
    Phrase(
        "quail",
        "atomic",
        "quail egg ramekin",
        (
            "C cracks the quail egg into the ramekin.",
            "C places the quail egg beside the ramekin with the left hand.",
            "C drops the quail egg into the ramekin.",
        ),
        subject="C",
        scenario="Cooking",
    ),
    # the same scene told of C and of someone else: the query's "C" must decide
    Phrase(
        "thermos_c",
        "atomic",
        "C wipes the thermos lid",
        (
            "C wipes the thermos lid.",
            "C wipes the thermos lid with a rag.",
        ),
        subject="C",
        scenario="Cooking",
    ),
    Phrase(
        "thermos_o",
        "atomic",
        "the man X wipes the thermos lid",
        (
            "The man X wipes the thermos lid.",
            "The man X wipes the thermos lid with a rag.",
        ),
        subject="O",
        scenario="Cooking",
    ),
    Phrase(
        "mandoline",
        "commentary",
        "pincer grip on the mandoline",
        (
            "Notice the pincer grip on the mandoline; the fingertips stay tucked away from the blade.",
            "Her pincer grip on the mandoline is exactly right, slow and controlled.",
        ),
        scenario="Cooking",
    ),
    Phrase(
        "hanger_commentary",
        "commentary",
        "derailleur hanger bent",
        (
            "The derailleur hanger is bent, which is why the chain keeps skipping.",
            "He should check whether the derailleur hanger is bent before adjusting anything.",
        ),
        scenario="Bike Repair",
    ),
    Phrase(
        "saffron",
        "narration",
        "blooming saffron threads",
        (
            "So now I'm blooming the saffron threads in warm milk, that way the colour spreads evenly.",
            "I always bloom the saffron threads first, otherwise they just float on top.",
        ),
        scenario="Cooking",
    ),
    Phrase(
        "hanger_narration",
        "narration",
        "derailleur hanger bent",
        (
            "I think the derailleur hanger is bent, so I'm checking it against the spokes.",
            "If the derailleur hanger is bent the shifting never feels right.",
        ),
        scenario="Bike Repair",
    ),
)


class Planter:
    """Plants :data:`PHRASES` (``PER_PHRASE`` documents each, fewer when the release is too
    small) and records them in :attr:`planted`."""

    def __init__(self, seed: int, world: World):
        self.rng = rng_for(seed, "planted")
        self.world = world
        self.planted: list[dict[str, Any]] = []
        self._count: Counter[str] = Counter()
        self._commentary_text: dict[tuple[str, str], str] = {}  # (commentary id, recording) -> text
        self._narration: dict[str, list[Phrase]] = {}
        self._scenario = {t.uid: t.scenario for t in world.takes}

    def _text(self, p: Phrase) -> str:
        text = p.texts[self._count[p.id] % len(p.texts)]
        self._count[p.id] += 1
        return text

    def _record(self, p: Phrase, take_uid: str, take_name: str | None, time: float, text: str) -> None:
        self.planted.append(
            {
                "id": p.id,
                "query": p.query,
                "source": p.source,
                "take_uid": take_uid,
                "take_name": take_name,
                "time": time,
                "text": text,
            }
        )

    def _spread(self, candidates: list[tuple[str, Any]], n: int, scenario: str | None = None) -> list[Any]:
        """``n`` candidates (``(take_uid, item)``), on as many different takes as possible,
        takes of ``scenario`` first."""
        by_take: dict[str, list[Any]] = {}
        for take, item in candidates:
            by_take.setdefault(take, []).append(item)
        takes = list(by_take)
        self.rng.shuffle(takes)
        scen = self._scenario
        takes.sort(key=lambda uid: scen.get(uid) != scenario)  # stable: shuffled within each group
        chosen: list[Any] = []
        while len(chosen) < n and takes:
            for take in list(takes):
                items = by_take[take]
                if not items:
                    takes.remove(take)
                    continue
                chosen.append(items.pop(self.rng.randrange(len(items))))
                if len(chosen) == n:
                    break
        return chosen

    # ------------------------------------------------------------ atomic descriptions
    def atomic(self, files: Files) -> Files:
        name_of = {t.uid: t.name for t in self.world.takes}
        for rel, obj in files:
            if rel.startswith("annotations/atomic_descriptions_"):
                taken: set[int] = set()
                for p in (p for p in PHRASES if p.source == "atomic"):
                    todo = PER_PHRASE - self._count[p.id]
                    if todo <= 0:
                        continue
                    cands = []
                    for take_uid, anns in obj["annotations"].items():
                        for ann in anns:
                            if ann["rejected"]:
                                continue
                            for d in ann["descriptions"]:
                                subj = d.get("subject", d.get("narration_subject"))
                                if subj == p.subject and id(d) not in taken:
                                    cands.append((take_uid, (take_uid, d)))
                    for take_uid, d in self._spread(cands, todo, p.scenario):
                        taken.add(id(d))
                        d["text"] = self._text(p)
                        self._record(p, take_uid, name_of.get(take_uid), d["timestamp"], d["text"])
            yield rel, obj

    # ------------------------------------------------------------ expert commentary
    def commentary(self, files: Files) -> Files:
        for rel, obj in files:
            if re.fullmatch(r"annotations/expert_commentary_(train|val|test)\.json", rel):
                taken: set[int] = set()
                for p in (p for p in PHRASES if p.source == "commentary"):
                    todo = PER_PHRASE - self._count[p.id]
                    if todo <= 0:
                        continue
                    cands = []
                    for take_uid, comms in obj["annotations"].items():
                        for c in comms:
                            for r in c["commentary_data"]:
                                if r["text"] is not None and not r["error"] and id(r) not in taken:
                                    cands.append((take_uid, (c, r)))
                    for c, r in self._spread(cands, todo, p.scenario):
                        taken.add(id(r))
                        r["text"] = self._text(p)
                        self._commentary_text[(c["commentary"], r["recording"])] = r["text"]
                        self._record(p, c["take_uid"], c["take_name"], r["video_time"], r["text"])
            elif rel.startswith("annotations/expert_commentary/") and rel.endswith("/transcriptions.json"):
                commentary = rel[len("annotations/expert_commentary/") : -len("/transcriptions.json")]
                for rec, entry in obj.items():
                    new = self._commentary_text.get((commentary, rec))
                    if new is not None:
                        entry["text"] = new
            yield rel, obj

    # ------------------------------------------------------------ transcripts
    def plan_narration(self, world: World) -> None:
        """Choose the narrated takes that get each narration phrase (English ones first)."""
        narrated = [t for t in world.takes if t.is_narrated]
        english = [t for t in narrated if t.univ != "uniandes"] or narrated
        for p in (p for p in PHRASES if p.source == "narration"):
            if not english:
                break
            pool = self._spread([(t.uid, t) for t in english], len(english), p.scenario)
            chosen = [pool[i % len(pool)] for i in range(PER_PHRASE)]
            for t in chosen:
                self._narration.setdefault(t.uid, []).append(p)

    def plant_narration(self, t: Take, segments: list[dict[str, Any]], language: str) -> None:
        phrases = self._narration.get(t.uid)
        if not phrases:
            return
        free = list(range(len(segments)))
        for p in phrases:
            if not free:
                break
            seg = segments[free.pop(self.rng.randrange(len(free)))]
            sentence = self._text(p)
            seg["text"] = " " + sentence
            seg["tokens"] = [
                self.rng.randint(220, 50256) for _ in range(int(len(sentence.split()) * 1.35) + 1)
            ]
            seg["words"] = words_for(self.rng, sentence, seg["start"], seg["end"])
            seg["no_speech_prob"] = round(self.rng.uniform(0.0005, 0.05), 12)
            self._record(p, t.uid, t.name, seg["start"], sentence)


class SearchTruth:
    """Counts the documents, postings and terms the catalog's search index must hold."""

    def __init__(self) -> None:
        from ..search import tokenize

        self.tokenize = tokenize
        self.docs = 0
        self.postings = 0
        self.terms: set[str] = set()
        self.sources: set[str] = set()

    def _add(self, source: str, *texts: str | None) -> None:
        tokens: list[str] = []
        for t in texts:
            if t:
                tokens += self.tokenize(t)
        if tokens:
            distinct = set(tokens)
            self.docs += 1
            self.sources.add(source)
            self.postings += len(distinct)
            self.terms |= distinct

    def watch(self, files: Files) -> Files:
        for rel, obj in files:
            self._observe(rel, obj)
            yield rel, obj

    def _observe(self, rel: str, obj: Any) -> None:
        if re.fullmatch(r"annotations/atomic_descriptions_(train|val|test)\.json", rel):
            for anns in obj["annotations"].values():
                for ann in anns:
                    if ann.get("rejected") is not True:
                        for d in ann["descriptions"]:
                            self._add("atomic", d["text"])
        elif re.fullmatch(r"annotations/expert_commentary_(train|val|test)\.json", rel):
            for comms in obj["annotations"].values():
                for c in comms:
                    for r in c["commentary_data"]:
                        self._add("commentary", r["text"])
        elif re.fullmatch(r"annotations/keystep_(train|val|test)\.json", rel):
            for rec in obj["annotations"].values():
                for s in rec["segments"]:
                    self._add("keystep", s.get("step_name"), s.get("step_description"))
        elif re.fullmatch(r"annotations/proficiency_demonstration_(train|val|test)\.json", rel):
            for rec in obj["annotations"]:
                for key in ("good_executions", "tips_for_improvement"):
                    for item in rec.get(key) or []:
                        self._add("demonstration", *ast.literal_eval(item["list"]))
        elif rel.startswith("takes/") and rel.endswith("_transcriptions.json"):
            for s in obj["segments"]:
                self._add("narration", s["text"])

    def record(self, truth: Counter[str]) -> None:
        truth["search_docs"] = self.docs
        truth["search_postings"] = self.postings
        truth["search_terms"] = len(self.terms)
        truth["search_stats"] = len(self.sources)  # one row per source with documents
