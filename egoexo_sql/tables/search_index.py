"""The text search index: every text of the release -> search_docs, search_postings,
search_terms, search_stats (see :mod:`egoexo_sql.search` for what they hold).

The source ``uses`` the five text tables (atomic descriptions, expert commentary,
narrations, keystep segments, proficiency demonstration) as the catalog holds them, so
a document says exactly what its row in the source table says and no file is parsed
twice. :func:`documents` makes one row per text in Arrow (the rows of
``queries/search/documents.sql``, which :func:`documents_sql` runs in DuckDB); then
:func:`index_tables` tokenises with :func:`egoexo_sql.search.tokenize`'s rules and
counts in Arrow and numpy: each distinct run of word characters is tokenised once in
Python (a release has a few thousand), every occurrence by array operations. Texts that
are not ASCII go through :func:`~egoexo_sql.search.tokenize` one by one.

``queries/search/index.sql`` (with the macros of ``tokenize.sql``) is the same index in
plain SQL: :func:`index_tables_sql` runs it, and tests/test_search.py holds the two
builds to the same four tables. It was the build's own path until it measured 6 s of
a 17 s whole-release build, on the critical path after the five text tables.

The build runs it after those tables are written and rebuilds it when any of them is
rebuilt; its ``inputs`` (the text files) also trigger a rebuild when they change.
Commentary's per-commentary ``data.json`` files hold no text the index uses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..schema import conform, get
from ..search import SOURCES, tokenize
from .metadata import TAKES_JSON
from .narrations import TRANSCRIPT_GLOB

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..release import Release

TABLES = ("search_docs", "search_postings", "search_terms", "search_stats")

#: table the documents come from -> the input globs of the source that compiles it
TEXT_TABLES: dict[str, tuple[str, ...]] = {
    "atomic_descriptions": ("annotations/atomic_descriptions_*.json",),
    "expert_commentary": ("annotations/expert_commentary_*.json",),
    "narrations": (TRANSCRIPT_GLOB, TAKES_JSON),
    "keystep_segments": ("annotations/keystep_*.json",),
    "proficiency_demonstration": ("annotations/proficiency_demonstration_*.json",),
}
USES: tuple[str, ...] = tuple(TEXT_TABLES)
INPUTS: tuple[str, ...] = tuple(dict.fromkeys(g for globs in TEXT_TABLES.values() for g in globs))

#: the order of index.sql's statements that leave a table behind
ORDER_BY = {
    "search_docs": "doc_id",
    "search_postings": "term_id, doc_id",
    "search_terms": "term_id",
    "search_stats": "CASE source WHEN 'atomic' THEN 1 WHEN 'commentary' THEN 2 "
    "WHEN 'narration' THEN 3 WHEN 'keystep' THEN 4 ELSE 5 END",
}


def query_text(name: str) -> str:
    from ..resources import queries_dir

    return (queries_dir() / "search" / name).read_text(encoding="utf-8")


#: bytes.translate table: A-Z lower-cased, a-z 0-9 and the apostrophe kept, every other
#: byte a space (index_tables)
_RUN_BYTES = bytes(
    c + 32 if 65 <= c <= 90 else c if (97 <= c <= 122 or 48 <= c <= 57 or c == 39) else 32 for c in range(256)
)


def _connect_with(texts: dict[str, pa.Table]) -> Any:
    """An in-memory DuckDB with the text tables registered, each with its ``_row``."""
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    try:  # DuckDB's bar would print over the build's own progress bar
        con.execute("SET enable_progress_bar = false")
    except duckdb.Error:  # inside Jupyter DuckDB refuses the change unless ipywidgets is installed
        pass
    for name, t in texts.items():
        con.register(name, t.append_column("_row", pa.array(range(t.num_rows), pa.int64())))
    return con


def documents_sql(texts: dict[str, pa.Table]) -> pa.Table:
    """``documents.sql`` over the text tables, in DuckDB: n, source, take_uid, time,
    end_time, text, ref, ordered by n (source, then the source table's order).
    :func:`documents` makes the same table in Arrow."""
    con = _connect_with(texts)
    try:
        table: pa.Table = con.sql(
            f"SELECT * FROM ({query_text('documents.sql')}) ORDER BY n"
        ).to_arrow_table()
        return table
    finally:
        con.close()


def documents(texts: dict[str, pa.Table]) -> pa.Table:
    """The rows of ``documents.sql`` (see :func:`documents_sql`), made in Arrow: the build
    needs no DuckDB in its worker for them (its import and query cost 0.4 s on the
    build's critical path). tests/test_search.py holds the two to the same table."""
    import pyarrow as pa

    table, keep = _all_documents(texts)
    return table.filter(pa.array(keep)).combine_chunks()


def _all_documents(texts: dict[str, pa.Table]) -> tuple[pa.Table, Any]:
    """:func:`documents` before its filter, and the filter as a numpy bool array (which
    rows are documents): the index drops the others' tokens instead of copying every
    text through a filter."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    tables: list[pa.Table] = []
    masks: list[Any] = []

    def add(source: str, t: pa.Table, time: str, end_time: str | None, text: Any, ref: Any) -> None:
        n = t.num_rows
        rank = len(tables) + 1  # src_rank: the sources in documents.sql's order
        tables.append(
            pa.table(
                {
                    "n": pa.array(np.arange(n, dtype=np.int64) + rank * 1_000_000_000_000),
                    "source": pa.repeat(pa.scalar(source, pa.string()), n),
                    "take_uid": t.column("take_uid"),
                    "time": pc.cast(t.column(time), pa.float64()),
                    "end_time": pc.cast(t.column(end_time), pa.float64())
                    if end_time
                    else pa.nulls(n, pa.float64()),
                    "text": text,
                    "ref": ref,
                }
            )
        )
        masks.append(pc.is_valid(text).to_numpy(zero_copy_only=False))

    def ref(t: pa.Table, *columns: str) -> Any:  # a || '/' || b ...: NULL when one is NULL
        parts: list[Any] = [pc.cast(t.column(c), pa.string()) for c in columns]
        return pc.binary_join_element_wise(*parts, "/")

    def rows(t: pa.Table, *columns: str) -> Any:  # for the two small tables' texts, in Python
        return zip(*(t.column(c).to_pylist() for c in columns))

    a = texts["atomic_descriptions"]
    add("atomic", a, "timestamp", None, a.column("text"), ref(a, "annotation_uid", "description_idx"))
    rejected: Any = pc.fill_null(a.column("rejected"), pa.scalar(False))
    masks[-1] &= ~rejected.to_numpy(zero_copy_only=False)
    c = texts["expert_commentary"]
    add("commentary", c, "video_time", None, c.column("text"), ref(c, "commentary_id", "recording_idx"))
    na = texts["narrations"]
    add(
        "narration",
        na,
        "start_time",
        "end_time",
        na.column("text"),
        ref(na, "take_name", "cam_id", "segment_idx"),
    )
    k = texts["keystep_segments"]
    concat_ws = [
        " — ".join(v for v in pair if v is not None) for pair in rows(k, "step_name", "step_description")
    ]
    add(
        "keystep",
        k,
        "start_time",
        "end_time",
        pa.array(concat_ws, pa.string()),
        pc.cast(k.column("segment_idx"), pa.string()),
    )
    d = texts["proficiency_demonstration"]
    array_to_string = [
        None if v is None else " ".join(x for x in v if x is not None) for (v,) in rows(d, "comments")
    ]
    add(
        "demonstration",
        d,
        "video_time",
        None,
        pa.array(array_to_string, pa.string()),
        ref(d, "split", "kind", "point_idx"),
    )
    return pa.concat_tables(tables), np.concatenate(masks)


def index_tables(texts: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """The four index tables from the five text tables (catalog name -> Arrow table)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    docs, is_doc = _all_documents(texts)
    n_docs = docs.num_rows
    text = docs.column("text").combine_chunks()
    tok_doc, tok_term, term_index = _tokens(text)
    if not is_doc.all():  # rows that are no document (rejected atomic descriptions)
        mine = is_doc[tok_doc]
        tok_doc, tok_term = tok_doc[mine], tok_term[mine]

    # documents with at least one term, numbered from 1 in n order
    length = np.bincount(tok_doc, minlength=n_docs).astype(np.int64)
    kept = np.flatnonzero(length)
    doc_id = np.zeros(n_docs, np.int64)
    doc_id[kept] = np.arange(1, len(kept) + 1)

    # terms in byte order (DuckDB's ORDER BY term); postings by term, then document
    terms = sorted(term_index)
    rank = np.zeros(len(term_index), np.int64)
    rank[[term_index[t] for t in terms]] = np.arange(len(terms))
    key = rank[tok_term] * (n_docs + 1) + doc_id[tok_doc]
    key, tf = np.unique(key, return_counts=True)
    post_term = key // (n_docs + 1)
    post_doc_id = key % (n_docs + 1)
    post_row = kept[post_doc_id - 1]
    df = np.bincount(post_term, minlength=len(terms))
    n_indexed = len(kept)

    source = docs.column("source").combine_chunks()
    search_docs = pa.table(
        {
            "doc_id": pa.array(doc_id[kept]),
            "source": source.take(kept),
            "take_uid": docs.column("take_uid").take(kept),
            "time": docs.column("time").take(kept),
            "end_time": docs.column("end_time").take(kept),
            "text": text.take(kept),
            "length": pa.array(length[kept], pa.int32()),
            "ref": docs.column("ref").take(kept),
        }
    )
    search_postings = pa.table(
        {
            "term": pa.array(terms, pa.string()).take(post_term),
            "doc_id": pa.array(post_doc_id),
            "tf": pa.array(tf.astype(np.int32)),
            "length": pa.array(length[post_row].astype(np.int32)),
            "source": source.take(post_row),
        }
    )
    used = np.flatnonzero(df)  # a run seen only in a non-ASCII text may add no posting
    search_terms = pa.table(
        {
            "term": pa.array(terms, pa.string()).take(used),
            "df": pa.array(df[used].astype(np.int64)),
            # ln as DuckDB computes it (the C library's log), term by term
            "idf": pa.array(
                [math.log(1 + (n_indexed - d + 0.5) / (d + 0.5)) for d in df[used].tolist()], pa.float64()
            ),
        }
    )
    stats = []
    kept_source = pc.index_in(search_docs.column("source"), value_set=pa.array(SOURCES)).to_numpy()
    kept_length = length[kept]
    for code, name in enumerate(SOURCES):  # in SOURCES order, as index.sql orders them
        mine = kept_length[kept_source == code]
        if len(mine):
            stats.append((name, len(mine), int(mine.sum()), int(mine.sum()) / len(mine)))
    search_stats = pa.table(
        {
            "source": pa.array([s[0] for s in stats], pa.string()),
            "n_docs": pa.array([s[1] for s in stats], pa.int64()),
            "n_terms": pa.array([s[2] for s in stats], pa.int64()),
            "avg_length": pa.array([s[3] for s in stats], pa.float64()),
        }
    )
    out = {
        "search_docs": search_docs,
        "search_postings": search_postings,
        "search_terms": search_terms,
        "search_stats": search_stats,
    }
    return {name: conform(name, t) for name, t in out.items()}


def _tokens(text: pa.Array[Any]) -> tuple[Any, Any, dict[str, int]]:
    """Every token of the documents' ``text``, as (document index, term index) arrays,
    and the terms by index."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    # every token as (document index, term index); terms[i] is term index i
    term_index: dict[str, int] = {}
    doc_parts: list[Any] = []
    term_parts: list[Any] = []

    is_ascii: Any = pc.string_is_ascii(text)
    ascii_mask: Any = pc.fill_null(is_ascii, True).to_numpy(zero_copy_only=False)
    if len(text):
        # ASCII texts: words are [a-z0-9]+ joined by apostrophes once lower-cased, so a
        # run of [a-z0-9'] is tokenised the same alone as inside its text. One
        # bytes.translate lower-cases every text and turns every other byte into a
        # space (same lengths, same offsets), then a whitespace split makes the runs.
        validity, offsets, data = text.buffers()
        assert offsets is not None and data is not None
        spaced = pa.StringArray.from_buffers(
            len(text),
            offsets,
            pa.py_buffer(data.to_pybytes().translate(_RUN_BYTES)),
            validity,
            0,
            text.offset,
        )
        runs = pc.ascii_split_whitespace(spaced)
        run_doc = pc.list_parent_indices(runs).to_numpy()
        encoded: Any = pc.dictionary_encode(pc.list_flatten(runs))
        idx = encoded.indices.to_numpy()
        if not ascii_mask.all():  # the runs of other texts are dropped: tokenised below
            mine = ascii_mask[run_doc]
            run_doc, idx = run_doc[mine], idx[mine]
        distinct = encoded.dictionary.to_pylist()
        # per distinct run: its terms, flattened, with offsets
        counts = np.zeros(len(distinct), np.int64)
        flat: list[int] = []
        for i, run in enumerate(distinct):
            for t in tokenize(run):
                flat.append(term_index.setdefault(t, len(term_index)))
                counts[i] += 1
        per_run = counts[idx]
        if counts.max(initial=0) <= 1:  # the usual case: a run is one term or none
            term_of_run = np.full(len(distinct), -1, np.int64)
            term_of_run[counts == 1] = flat
            has = per_run == 1
            doc_parts.append(run_doc[has])
            term_parts.append(term_of_run[idx[has]])
        else:
            starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
            total = int(per_run.sum())
            first = np.repeat(starts[idx], per_run)
            within = np.arange(total) - np.repeat(np.cumsum(per_run) - per_run, per_run)
            doc_parts.append(np.repeat(run_doc, per_run))
            term_parts.append(np.asarray(flat, np.int64)[first + within] if total else np.zeros(0, np.int64))
    other_rows = np.flatnonzero(~ascii_mask)
    if len(other_rows):
        other_text = text.take(other_rows).to_pylist()
        other_docs: list[int] = []
        other_terms: list[int] = []
        for row, txt in zip(other_rows.tolist(), other_text):
            doc_terms = tokenize(txt)
            other_docs += [row] * len(doc_terms)
            other_terms += [term_index.setdefault(w, len(term_index)) for w in doc_terms]
        doc_parts.append(np.asarray(other_docs, np.int64))
        term_parts.append(np.asarray(other_terms, np.int64))
    tok_doc = np.concatenate(doc_parts) if doc_parts else np.zeros(0, np.int64)
    tok_term = np.concatenate(term_parts) if term_parts else np.zeros(0, np.int64)
    return tok_doc, tok_term, term_index


def index_tables_sql(texts: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """The same four tables made by ``queries/search/index.sql`` in DuckDB (the plain SQL
    form of the index; tests hold :func:`index_tables` to it)."""
    con = _connect_with(texts)
    try:
        con.execute(query_text("tokenize.sql"))
        con.execute("CREATE TEMP TABLE documents AS " + query_text("documents.sql"))
        con.execute(query_text("index.sql"))
        out = {}
        for table in TABLES:
            cols = ", ".join(f'"{c}"' for c in get(table).column_names)
            arrow = con.sql(f"SELECT {cols} FROM {table} ORDER BY {ORDER_BY[table]}").to_arrow_table()
            out[table] = conform(table, arrow)
        return out
    finally:
        con.close()


def compile_search_index(
    release: Release, files: list[Path], tables: Mapping[str, pa.Table]
) -> dict[str, pa.Table]:
    """The index from the text tables (``tables``: the source's ``uses``)."""
    return index_tables({name: tables[name] for name in TEXT_TABLES})
