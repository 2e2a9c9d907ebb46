"""Ranked text search over every kind of language annotation (BM25 over a Parquet index).

At ``build`` time the source ``search_index`` (:mod:`egoexo_sql.tables.search_index`)
turns every text of the release into a *document* and writes an inverted index as
four ordinary tables of the catalog:

``search_docs``      one row per document: doc_id, source, take_uid, time, text, length, ref
``search_postings``  one row per (term, document): term, doc_id, tf, length, source
                     (sorted by term, so a query reads only the row groups of its terms)
``search_terms``     one row per term: df and the BM25 idf
``search_stats``     one row per source with documents: documents, tokens, average length

Sources (``--in``): ``atomic`` (atomic descriptions of annotations that were not
rejected), ``commentary`` (expert commentary recordings), ``narration`` (audio
transcript segments: Narrate & Act and other take audio), ``keystep`` (keystep
segments: step name and step description), ``demonstration`` (proficiency
demonstration comment points: their comments joined).

Ranking is Okapi BM25 (k1 = 1.2, b = 0.75) with a global idf and each source's own
average document length (a keystep name is short by nature, a commentary long), in
plain SQL (``queries/search/bm25.sql``), so the same index answers in DuckDB, polars or
any engine that reads Parquet.

Tokenisation (:func:`tokenize`; the index is built with the identical SQL macro in
``queries/search/tokenize.sql``, and a test holds the two together):

* Unicode NFC, lower case; words are runs of letters and digits, so punctuation and
  hyphens separate words (``left-hand`` -> ``left``, ``hand``);
* apostrophes inside a word: a final ``'s`` is dropped (``C's`` -> ``c``), the others
  are removed (``don't`` -> ``dont``);
* a short list of English stop words (:data:`STOPWORDS`: ``the``, ``an``, ``of``, ...)
  is dropped. Single letters are *not* stop words: ``C``, the camera wearer of atomic
  descriptions, stays a term, so "C cracks egg" keeps its ``c``;
* simple plurals and third-person verbs: ``-ies`` -> ``-y``; ``-sses``, ``-shes``,
  ``-ches``, ``-xes``, ``-zzes`` lose ``es``; other ``-s`` lose the ``s`` except after
  ``s``, ``u`` or ``i`` (glass, focus, basis); words of three letters or fewer stay.

Two engines answer a query, with the same results (tests/test_search.py compares them):

* ``sql``: ``queries/search/bm25.sql`` on the catalog's DuckDB connection, straight over
  the Parquet (what ``egoexo-sql search`` runs: one query, nothing loaded first);
* ``memory``: the index loaded once per :class:`~egoexo_sql.catalog.Catalog` into numpy
  arrays (``search_postings`` is sorted by term, so a term's postings are one slice
  found from ``search_terms``), then each query costs only its own postings. What
  ``cat.search`` uses by default, for notebooks that search many times.

``takes --text`` selects the takes with at least one document that contains every
term of the query (:func:`text_condition`).

Only the standard library is imported at module level (the CLI imports this module);
numpy and pyarrow are imported by the memory engine.
"""

from __future__ import annotations

import re
import unicodedata
import weakref
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl
    import pyarrow as pa
    from numpy.typing import NDArray

    from .catalog_protocol import CatalogLike

SOURCES = ("atomic", "commentary", "narration", "keystep", "demonstration")

#: Dropped before stemming. Single letters other than "a" and "i" are kept (C, O, X...).
#: The same list is the search_stopwords() macro of queries/search/tokenize.sql.
STOPWORDS = frozenset(
    """a an and are as at be been but by for from had has have he her hers him his i if
    in into is it its me my of on or our she so than that the their them then there
    these they this those to us was we were what when where which while who will with
    you your""".split()
)

_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_POSSESSIVE = re.compile(r"['\u2019]s$")
_APOSTROPHE = re.compile(r"['\u2019]")
_ES_SUFFIXES = ("sses", "shes", "ches", "xes", "zzes")
_KEEP_S = ("ss", "us", "is")

K1 = 1.2
B = 0.75
#: scores are rounded to this many decimals, so that documents with the same terms tie
#: exactly (whatever order an engine sums in) and ties go to the lower doc_id
SCORE_DECIMALS = 9

#: the columns of a hit, in order (cat.search, the engines, the CLI's json/csv formats)
HIT_COLUMNS = (
    "score",
    "source",
    "take_uid",
    "take_name",
    "scenario",
    "time",
    "end_time",
    "text",
    "n_terms",
    "doc_id",
    "ref",
)
HIT_TYPES = (
    "DOUBLE",
    "VARCHAR",
    "VARCHAR",
    "VARCHAR",
    "VARCHAR",
    "DOUBLE",
    "DOUBLE",
    "VARCHAR",
    "BIGINT",
    "BIGINT",
    "VARCHAR",
)
ENGINES = ("auto", "sql", "memory")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Simple plural / third-person ``-s`` removal (see the module docstring)."""
    n = len(word)
    if n <= 3:
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith(_ES_SUFFIXES):
        return word[:-2]
    if word.endswith(_KEEP_S):
        return word
    if word.endswith("s"):
        return word[:-1]
    return word


@lru_cache(maxsize=65536)
def _term(word: str) -> str | None:
    if "'" in word or "\u2019" in word:
        word = _APOSTROPHE.sub("", _POSSESSIVE.sub("", word))
    if not word or word in STOPWORDS:
        return None
    return stem(word)


def tokenize(text: str | None) -> list[str]:
    """The index terms of ``text``, in order, repeats kept (see the module docstring)."""
    if not text:
        return []
    if text.isascii():
        text = text.lower()
    else:
        # DuckDB's lower() maps one character to one (Unicode simple case mapping):
        # no final-sigma rule, and İ becomes i rather than i + combining dot
        text = "".join(map(str.lower, unicodedata.normalize("NFC", text).replace("\u0130", "i")))
    out = []
    for w in _WORD.findall(text):
        t = _term(w)
        if t is not None:
            out.append(t)
    return out


def query_terms(query: str) -> list[str]:
    """The distinct terms of a query, in order; a UsageError when it has none."""
    if not isinstance(query, str):
        raise UsageError(f"the search query must be a string, not {type(query).__name__}")
    terms = list(dict.fromkeys(tokenize(query)))
    if not terms:
        raise UsageError(
            f"the query {query!r} has no search terms (stop words such as 'the' and punctuation "
            "are not indexed); give at least one word"
        )
    return terms


# --------------------------------------------------------------------------- snippets


def snippet(text: str | None, terms: Iterable[str], width: int = 80) -> str:
    """``text`` on one line, at most ``width`` characters, around its first query term."""
    if not text:
        return ""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    wanted = set(terms)
    start = 0
    for m in _WORD.finditer(flat.lower() if flat.isascii() else flat):
        if _term(m.group(0).lower()) in wanted:
            start = m.start()
            break
    lo = max(0, min(start - width // 4, len(flat) - (width - 1)))
    if lo > 0:
        cut = flat.find(" ", lo)
        lo = cut + 1 if 0 <= cut < start else lo
    out = flat[lo : lo + width - (1 if lo else 0) - 1]
    return ("…" if lo else "") + out.rstrip() + "…"


# --------------------------------------------------------------------------- the query


def _query_sql(name: str) -> str:
    from .resources import queries_dir

    return (queries_dir() / "search" / name).read_text(encoding="utf-8")


def _choices(
    name: str, values: Iterable[str] | str | None, allowed: Sequence[str] | None = None
) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    out = []
    for v in values:
        if not isinstance(v, str):
            raise UsageError(f"{name}: expected strings, got {v!r}")
        out.append(v)
    if not out:
        return None
    if allowed is not None:
        bad = [v for v in out if v not in allowed]
        if bad:
            raise UsageError(f"{name}: unknown {', '.join(map(repr, bad))}; choose from {' '.join(allowed)}")
    return out


def _scenarios(
    cat: CatalogLike, scenarios: list[str] | None, known: list[str] | None = None
) -> list[str] | None:
    """Scenario names as the catalog spells them (matched case-insensitively, like ``takes``)."""
    if scenarios is None:
        return None
    if known is None:
        known = [
            r[0]
            for r in cat.connection.execute(
                "SELECT DISTINCT scenario FROM takes WHERE scenario IS NOT NULL ORDER BY 1"
            ).fetchall()
        ]
    by_lower = {k.lower(): k for k in known}
    out = []
    for s in scenarios:
        k = by_lower.get(s.strip().lower())
        if k is None:
            raise UsageError(f"--scenario: unknown scenario {s!r}; known: {', '.join(known) or 'none'}")
        out.append(k)
    return out


def search(
    cat: CatalogLike,
    query: str,
    *,
    sources: Iterable[str] | str | None = None,
    scenarios: Iterable[str] | str | None = None,
    take_uids: Iterable[str] | str | None = None,
    limit: int = 20,
    all_terms: bool = False,
    k1: float = K1,
    b: float = B,
    engine: str = "auto",
) -> list[tuple[Any, ...]]:
    """Ranked hits for ``query``: rows of :data:`HIT_COLUMNS`, best first.

    ``sources`` restricts the sources (:data:`SOURCES`), ``scenarios`` and ``take_uids``
    the takes; ``all_terms`` keeps only documents that contain every query term.
    ``engine``: ``sql`` (bm25.sql over the Parquet), ``memory`` (the index in numpy,
    loaded once per catalog) or ``auto`` (memory when numpy is available).
    """
    terms = query_terms(query)
    srcs = _choices("sources", sources, SOURCES)
    uids = _choices("take_uids", take_uids)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise UsageError(f"limit must be a positive whole number, not {limit!r}")
    if engine not in ENGINES:
        raise UsageError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "auto":
        try:
            import numpy  # noqa: F401
        except ImportError:  # pragma: no cover - numpy comes with pandas
            engine = "sql"
        else:
            engine = "memory"
    if engine == "memory":
        index = memory_index(cat)
        known = sorted({s for _, s in index.takes.values() if s is not None})
        scens = _scenarios(cat, _choices("scenarios", scenarios), known)
        return index.search(terms, srcs, scens, uids, limit, all_terms, k1, b)
    scens = _scenarios(cat, _choices("scenarios", scenarios))
    return sql_search(cat, terms, srcs, scens, uids, limit, all_terms, k1, b)


def sql_search(
    cat: CatalogLike,
    terms: list[str],
    sources: list[str] | None,
    scenarios: list[str] | None,
    take_uids: list[str] | None,
    limit: int,
    all_terms: bool,
    k1: float,
    b: float,
) -> list[tuple[Any, ...]]:
    """bm25.sql on the catalog's connection."""
    con = cat.connection
    try:  # repeated searches on one connection skip re-reading the Parquet footers
        con.execute("SET parquet_metadata_cache = true")
    except Exception:  # pragma: no cover - a locked (sandboxed) configuration
        pass
    params = {
        "terms": terms,
        "sources": sources,
        "scenarios": scenarios,
        "take_uids": take_uids,
        "all_terms": bool(all_terms),
        "k1": float(k1),
        "b": float(b),
        "limit": int(limit),
    }
    return cat.execute(_query_sql("bm25.sql"), params).fetchall()


# --------------------------------------------------------------------------- takes --text


def text_condition(cat: CatalogLike | None, query: str) -> tuple[str, dict[str, Any]]:
    """``takes --text``: takes with a document that contains every term of ``query``.

    A condition over take_summary's ``take_uid`` and its parameters (``$text_terms``),
    from ``queries/search/takes_with_text.sql``.
    """
    terms = query_terms(query)
    return (f"take_uid IN ({_query_sql('takes_with_text.sql').strip().rstrip(';')})", {"text_terms": terms})


# --------------------------------------------------------------------------- memory engine


#: each catalog object's search index in memory, dropped with the object
_MEMORY_INDEXES: weakref.WeakKeyDictionary[CatalogLike, MemoryIndex] = weakref.WeakKeyDictionary()


def memory_index(cat: CatalogLike) -> MemoryIndex:
    """The catalog's index in memory, loaded on first use and kept as long as the catalog object."""
    index = _MEMORY_INDEXES.get(cat)
    if index is None:
        index = _MEMORY_INDEXES[cat] = MemoryIndex(cat.path, cat)
    return index


class MemoryIndex:
    """The search tables of one catalog as numpy arrays (see the module docstring).

    Postings: ``doc_id``, ``tf``, ``length``, source code, in the file's order (by term,
    then doc_id); ``search_terms`` gives each term's slice. Documents: doc_ids are
    1..N in order, so a document is row ``doc_id - 1``. The layout is checked on load;
    a catalog that does not have it is an error (use ``engine="sql"``).
    """

    def __init__(self, path: Path, cat: CatalogLike):
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        self.path = Path(path)
        terms = self._read("search_terms", ["term", "df", "idf"])
        post = self._read("search_postings", ["doc_id", "tf", "length", "source"])
        stats = self._read("search_stats", ["source", "avg_length"])
        docs = self._read("search_docs", ["doc_id", "source", "take_uid", "time", "end_time", "text", "ref"])

        df = terms.column("df").to_numpy()
        offsets = np.concatenate([[0], np.cumsum(df)])
        self.terms = {
            t: (int(o), int(n), float(i))
            for t, o, n, i in zip(
                terms.column("term").to_pylist(), offsets[:-1], df, terms.column("idf").to_numpy()
            )
        }
        self.doc_id = post.column("doc_id").to_numpy()
        self.tf = post.column("tf").to_numpy().astype(np.float64)
        self.length = post.column("length").to_numpy().astype(np.float64)
        self.src = (
            pc.index_in(post.column("source"), value_set=pa.array(SOURCES))
            .to_numpy(zero_copy_only=False)
            .astype(np.int8)
        )
        avg = dict(zip(stats.column("source").to_pylist(), stats.column("avg_length").to_pylist()))
        self.avg = np.array([avg.get(s) or 1.0 for s in SOURCES], dtype=np.float64)
        self.n_docs = docs.num_rows
        if int(offsets[-1]) != len(self.doc_id) or not np.array_equal(
            docs.column("doc_id").to_numpy(), np.arange(1, self.n_docs + 1)
        ):
            raise UsageError(
                f"{self.path}: the search index is not laid out as expected; "
                "rebuild the catalog or search with engine='sql'"
            )
        breaks = np.flatnonzero(np.diff(self.doc_id) <= 0) + 1
        if not np.isin(breaks, offsets[1:-1]).all():
            raise UsageError(
                f"{self.path}: search_postings is not sorted by term and doc_id; "
                "rebuild the catalog or search with engine='sql'"
            )
        self.docs = docs.drop_columns(["doc_id"])
        encoded = pc.dictionary_encode(docs.column("take_uid")).combine_chunks()
        take_codes = cast("pa.DictionaryArray[Any, Any]", encoded)  # what dictionary_encode makes
        self.doc_take = take_codes.indices.fill_null(-1).to_numpy().astype(np.int32)
        self.take_uids = take_codes.dictionary.to_pylist()
        self.takes = {
            uid: (name, scen)
            for uid, name, scen in cat.connection.execute(
                "SELECT take_uid, take_name, scenario FROM takes"
            ).fetchall()
        }

    def _read(self, table: str, columns: list[str]) -> pa.Table:
        import pyarrow as pa
        import pyarrow.parquet as pq

        files = sorted((self.path / "data" / table).glob("*.parquet"))
        if not files:
            raise UsageError(f"{self.path} has no {table} data; rebuild the catalog with this version")
        return pa.concat_tables([pq.read_table(f, columns=columns) for f in files]).combine_chunks()

    def _doc_mask(self, scenarios: list[str] | None, take_uids: list[str] | None) -> NDArray[Any] | None:
        """Which documents belong to the chosen takes (None: all); the last few are kept."""
        if scenarios is None and take_uids is None:
            return None
        key = (
            None if scenarios is None else tuple(sorted(scenarios)),
            None if take_uids is None else tuple(sorted(take_uids)),
        )
        masks: dict[Any, NDArray[Any]] = self.__dict__.setdefault("_masks", {})
        if key not in masks:
            if len(masks) >= 8:
                masks.pop(next(iter(masks)))
            masks[key] = self._make_doc_mask(scenarios, take_uids)
        return masks[key]

    def _make_doc_mask(self, scenarios: list[str] | None, take_uids: list[str] | None) -> NDArray[Any]:
        import numpy as np

        want_scen = None if scenarios is None else set(scenarios)
        want_uid = None if take_uids is None else set(take_uids)
        ok = np.array(
            [
                (want_uid is None or uid in want_uid)
                and (want_scen is None or self.takes.get(uid, (None, None))[1] in want_scen)
                for uid in self.take_uids
            ]
            + [False],
            dtype=bool,
        )  # the last: documents without a take
        mask: NDArray[Any] = ok[self.doc_take]
        return mask

    def _postings(
        self, term: str, src_ok: NDArray[Any] | None, doc_ok: NDArray[Any] | None, k1: float, b: float
    ) -> tuple[NDArray[Any], NDArray[Any]]:
        """(doc ids, BM25 weights) of one term, filters applied; doc ids ascending."""
        o, n, idf = self.terms[term]
        s = slice(o, o + n)
        ids, tf, src = self.doc_id[s], self.tf[s], self.src[s]
        w = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * self.length[s] / self.avg[src]))
        keep = None if src_ok is None else src_ok[src]
        if doc_ok is not None:
            keep = doc_ok[ids - 1] if keep is None else keep & doc_ok[ids - 1]
        return (ids, w) if keep is None else (ids[keep], w[keep])

    def _accumulate(
        self, parts: list[tuple[NDArray[Any], NDArray[Any]]]
    ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
        """(doc ids, summed weights, matched terms) over several terms' postings."""
        import numpy as np

        ids = np.concatenate([p[0] for p in parts])
        w = np.concatenate([p[1] for p in parts])
        if len(ids) > self.n_docs // 16:  # dense: no sort
            score = np.bincount(ids, weights=w, minlength=self.n_docs + 1)
            count = np.bincount(ids, minlength=self.n_docs + 1)
            matched = np.flatnonzero(count)
            return matched, score[matched], count[matched]
        matched, inverse = np.unique(ids, return_inverse=True)
        return matched, np.bincount(inverse, weights=w, minlength=len(matched)), np.bincount(inverse)

    def search(
        self,
        terms: list[str],
        sources: list[str] | None,
        scenarios: list[str] | None,
        take_uids: list[str] | None,
        limit: int,
        all_terms: bool,
        k1: float,
        b: float,
    ) -> list[tuple[Any, ...]]:
        import numpy as np

        src_ok = None if sources is None else np.array([s in sources for s in SOURCES])
        doc_ok = self._doc_mask(scenarios, take_uids)
        known = [t for t in terms if t in self.terms]
        if not known or (all_terms and len(known) < len(terms)):
            return []
        # MaxScore: a term in more than a tenth of the documents (the "c" of atomic
        # descriptions) can add at most idf * (k1 + 1) to a score. Score the rarer terms
        # first; when the common terms together cannot lift a document that has none of
        # the rare ones into the top `limit`, only look the common terms up for the
        # documents that can still get there (binary search in their sorted postings).
        common = [t for t in known if self.terms[t][1] > self.n_docs // 10]
        rare = [t for t in known if t not in common]
        top = None
        if common and rare and not all_terms:
            matched, score, count = self._accumulate([self._postings(t, src_ok, doc_ok, k1, b) for t in rare])
            bound = sum(self.terms[t][2] * (k1 + 1) for t in common)
            if len(score) >= limit:
                theta = np.partition(score, len(score) - limit)[len(score) - limit]
                if bound < theta:
                    cand = score + bound >= theta
                    matched, score, count = matched[cand], score[cand], count[cand]
                    for t in common:  # the candidates passed the filters: so do their postings
                        o, n, idf = self.terms[t]
                        ids = self.doc_id[o : o + n]
                        pos = np.minimum(np.searchsorted(ids, matched), n - 1)
                        found = ids[pos] == matched
                        at = o + pos[found]
                        tf = self.tf[at]
                        norm = k1 * (1 - b + b * self.length[at] / self.avg[self.src[at]])
                        score[found] += idf * tf * (k1 + 1) / (tf + norm)
                        count = count + found
                    top = (matched, score, count)
        if top is None:
            top = self._accumulate([self._postings(t, src_ok, doc_ok, k1, b) for t in known])
        matched, score, count = top
        if not len(matched):
            return []
        if all_terms:
            keep = count == len(terms)
            matched, score, count = matched[keep], score[keep], count[keep]
        score = np.round(score, SCORE_DECIMALS)
        if len(score) > limit:  # the top `limit` (and whatever ties the last of them)
            kth = np.partition(score, len(score) - limit)[len(score) - limit]
            cand = np.flatnonzero(score >= kth)
            matched, score, count = matched[cand], score[cand], count[cand]
        order = np.lexsort((matched, -score))[:limit]
        best = matched[order]
        rows = self.docs.take(best - 1).to_pydict()
        out = []
        for i, doc in enumerate(best.tolist()):
            uid = rows["take_uid"][i]
            name, scen = self.takes.get(uid, (None, None))
            out.append(
                (
                    float(score[order[i]]),
                    rows["source"][i],
                    uid,
                    name,
                    scen,
                    rows["time"][i],
                    rows["end_time"][i],
                    rows["text"][i],
                    int(count[order[i]]),
                    doc,
                    rows["ref"][i],
                )
            )
        return out


def hits_frame(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    """Hits as a polars DataFrame with the columns of :data:`HIT_COLUMNS` (cat.search)."""
    import polars as pl

    types = {"DOUBLE": pl.Float64, "VARCHAR": pl.String, "BIGINT": pl.Int64}
    return pl.DataFrame(rows, schema={c: types[t] for c, t in zip(HIT_COLUMNS, HIT_TYPES)}, orient="row")
