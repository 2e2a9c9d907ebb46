"""Ranked text search over every kind of language annotation (BM25 over a Parquet index).

At ``build`` time the source ``search_index`` (:mod:`egoexo_sql.tables.search_index`)
turns every text of the release into a *document* and writes an inverted index as
four ordinary tables of the catalog:

``search_docs``      one row per document: doc_id, source, take_uid, time, text, length, ref
``search_postings``  one row per (term, document): term, doc_id, tf, length, source
                     (sorted by term, so a query reads only the row groups of its terms)
``search_terms``     one row per term: df and the BM25 idf
``search_stats``     one row per source: documents, tokens, average length

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

This module imports only the standard library at module level (the CLI imports it).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Iterable, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from .catalog import Catalog

SOURCES = ("atomic", "commentary", "narration", "keystep", "demonstration")

#: Dropped before stemming. Single letters other than "a" and "i" are kept (C, O, X...).
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
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    out = []
    for w in _WORD.findall(text.lower()):
        t = _term(w)
        if t is not None:
            out.append(t)
    return out
