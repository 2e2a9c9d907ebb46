"""Text search: the tokeniser (Python and SQL agree), the Parquet index against the
generator's truth, BM25 ranking of the planted phrases (precision at 5 of 1.0), filters
combined with search, both engines giving the same hits, the CLI, cat.search and
takes --text."""

from __future__ import annotations

import json
import math
import random
import unicodedata
from collections import defaultdict

import duckdb
import pytest
from typer.testing import CliRunner

import egoexo_sql
from egoexo_sql import search as S
from egoexo_sql.cli import app
from egoexo_sql.errors import UsageError
from egoexo_sql.resources import queries_dir

ENGINES = ("sql", "memory")


@pytest.fixture(scope="module")
def cat(demo_catalog):
    c = egoexo_sql.open(str(demo_catalog))
    yield c
    c.close()


@pytest.fixture(scope="module")
def macros():
    con = duckdb.connect()
    con.execute((queries_dir() / "search" / "tokenize.sql").read_text())
    yield con
    con.close()


@pytest.fixture(scope="module")
def planted(demo_release):
    _, report = demo_release
    by_id = defaultdict(list)
    for p in report.planted:
        by_id[p["id"]].append(p)
    return by_id


# --------------------------------------------------------------------------- tokeniser


@pytest.mark.parametrize(
    "text, terms",
    [
        ("C cracks the eggs into the bowl.", ["c", "crack", "egg", "bowl"]),
        ("C CRACKS an Egg!", ["c", "crack", "egg"]),  # case
        ("egg,egg;egg...(egg)", ["egg", "egg", "egg", "egg"]),  # punctuation
        ("left-hand cam01 2 pans", ["left", "hand", "cam01", "2", "pan"]),
        ("boxes glasses dishes peaches buzzes", ["box", "glass", "dish", "peach", "buzz"]),
        ("batteries berries plays days", ["battery", "berry", "play", "day"]),
        ("focus basis glass bus gas", ["focus", "basis", "glass", "bus", "gas"]),  # not plurals
        ("C's hand; the expert's tip; the experts' tips", ["c", "hand", "expert", "tip", "expert", "tip"]),
        ("don't can’t o'clock", ["dont", "cant", "oclock"]),
        ("The man X hands it to O", ["man", "x", "hand", "o"]),  # letters stay, 'a'/'i' do not
        ("a I the of to and", []),
        ("", []),
        (None, []),
        ("¿Dónde están los huevos?", ["dónde", "están", "los", "huevo"]),
        ("İSTANBUL ΟΔΟΣ Straße", ["istanbul", "οδοσ", "straße"]),
    ],
)
def test_tokenize(text, terms, macros):
    assert S.tokenize(text) == terms
    assert macros.execute("SELECT search_tokens(?)", [text]).fetchone()[0] == terms


def test_composed_and_decomposed_accents_are_one_term(macros):
    nfd = unicodedata.normalize("NFD", "dónde café")
    assert S.tokenize(nfd) == S.tokenize("dónde café") == ["dónde", "café"]
    assert macros.execute("SELECT search_tokens(?)", [nfd]).fetchone()[0] == ["dónde", "café"]


def test_stopwords_are_the_same_in_python_and_sql(macros):
    assert set(macros.execute("SELECT search_stopwords()").fetchone()[0]) == S.STOPWORDS
    assert "c" not in S.STOPWORDS and "o" not in S.STOPWORDS


def test_python_and_sql_tokenisers_agree_on_every_document(cat, macros):
    texts = [r[0] for r in cat.connection.execute("SELECT text FROM search_docs").fetchall()]
    texts += [
        r[0] for r in cat.connection.execute("SELECT text FROM narrations WHERE text IS NOT NULL").fetchall()
    ]
    rel = macros.execute(
        "SELECT search_tokens(t) FROM (SELECT unnest(?) AS t, generate_subscripts(?, 1) AS i) ORDER BY i",
        [texts, texts],
    ).fetchall()
    sql = [r[0] for r in rel]
    py = [S.tokenize(t) for t in texts]
    mismatches = [(t, a, b) for t, a, b in zip(texts, py, sql) if a != b]
    assert not mismatches[:5]


def test_query_terms_and_no_term_queries():
    assert S.query_terms("Eggs, eggs and EGG") == ["egg"]
    with pytest.raises(UsageError, match="no search terms"):
        S.query_terms("the of, to!")


def test_snippet_cuts_around_the_first_term():
    text = "word " * 40 + "the quail egg lands in the ramekin " + "word " * 40
    s = S.snippet(text, ["quail"], width=60)
    assert len(s) <= 60 and "quail egg" in s and s.startswith("…") and s.endswith("…")
    assert S.snippet("short text", ["x"]) == "short text"
    assert S.snippet("two\nlines", []) == "two lines"


# --------------------------------------------------------------------------- the index


def _text_tables(atomic: list[str | None], commentary: list[str | None]) -> dict:
    """The five text tables with the given atomic and commentary texts, the others empty."""
    import pyarrow as pa

    from egoexo_sql.schema import get
    from egoexo_sql.tables.search_index import TEXT_TABLES

    tables = {name: get(name).empty_table() for name in TEXT_TABLES}

    def fill(name: str, texts: list[str | None], **const) -> pa.Table:
        sch = get(name).arrow_schema()
        cols = {}
        for f in sch:
            if f.name == "text":
                cols[f.name] = pa.array(texts, f.type)
            elif f.name in const:
                cols[f.name] = pa.array([const[f.name](i) for i in range(len(texts))], f.type)
            else:
                cols[f.name] = pa.nulls(len(texts), f.type)
        return pa.table(cols, schema=sch)

    tables["atomic_descriptions"] = fill(
        "atomic_descriptions",
        atomic,
        take_uid=lambda i: f"t{i % 3}",
        annotation_uid=lambda i: f"a{i}",
        description_idx=lambda i: i,
        rejected=lambda i: i % 7 == 6,
    )
    tables["expert_commentary"] = fill(
        "expert_commentary",
        commentary,
        take_uid=lambda i: "t9",
        commentary_id=lambda i: f"c{i}",
        recording_idx=lambda i: 0,
    )
    return tables


TRICKY = [
    "C cracks the eggs into the bowl.",
    "the of to and",  # no term: no document
    "",
    None,
    "egg,egg;egg...(egg) EGG",
    "don't can’t o'clock ''quoted'' a''b rock'n'roll 'tis experts' C's",
    "don't o'clock ''quoted'' a''b rock'n'roll 'tis experts' C's",  # ASCII: the fast path
    "¿Dónde están los huevos? İSTANBUL ΟΔΟΣ Straße — left-hand",
    unicodedata.normalize("NFD", "dónde café"),
    "tabs\tand\nnew lines\r\n cam01_gp02 x_y 3.5kg 10,000",
    "batteries berries plays days boxes glasses",
    "ten''twelve eggs''bowls",  # ASCII runs that make two terms each: the general path
]


def test_the_index_build_matches_its_plain_sql_form_on_tricky_texts():
    """index_tables (Arrow and numpy, the build's path) makes exactly the four tables
    that queries/search/index.sql makes: non-ASCII, apostrophes, stop-word-only and
    empty texts, rejected atomic descriptions, every source's own order."""
    from egoexo_sql.tables.search_index import documents, documents_sql, index_tables, index_tables_sql

    random.seed(7)
    atomic = [random.choice(TRICKY) for _ in range(300)]
    commentary = [random.choice(TRICKY) for _ in range(50)]
    texts = _text_tables(atomic, commentary)
    assert documents(texts).equals(documents_sql(texts))
    fast, plain = index_tables(texts), index_tables_sql(texts)
    assert fast["search_docs"].num_rows > 100
    for name in plain:
        assert fast[name].equals(plain[name]), name


def test_the_index_build_matches_its_plain_sql_form_on_the_demo(demo_catalog):
    from egoexo_sql.builder.parquet import read_table_dir
    from egoexo_sql.schema import get
    from egoexo_sql.tables.search_index import (
        TEXT_TABLES,
        documents,
        documents_sql,
        index_tables,
        index_tables_sql,
    )

    texts = {n: read_table_dir(get(n), demo_catalog / "data" / n) for n in TEXT_TABLES}
    assert all(t.num_rows for t in texts.values())
    assert documents(texts).equals(documents_sql(texts))
    fast, plain = index_tables(texts), index_tables_sql(texts)
    for name in plain:
        assert fast[name].equals(plain[name]), name


def test_index_sizes_equal_the_generator_truth(cat, demo_release):
    _, report = demo_release
    for table in ("search_docs", "search_postings", "search_terms", "search_stats"):
        n = cat.connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        assert n == report.truth[table], table


def test_index_is_consistent(cat):
    q = cat.connection.execute
    # documents: dense ids, length = terms, texts from the source tables
    assert (
        q("SELECT min(doc_id), max(doc_id), count(*) FROM search_docs").fetchone()[1:]
        == q("SELECT count(*), count(*) FROM search_docs").fetchone()
    )
    docs = q("SELECT text, length FROM search_docs").fetchall()
    assert all(len(S.tokenize(t)) == n for t, n in docs)
    # postings: sorted by term then doc; tf sums to the length; df and idf
    import pyarrow.parquet as pq

    files = sorted((cat.path / "data" / "search_postings").glob("*.parquet"))
    keys = [k for f in files for k in zip(*pq.read_table(f, columns=["term", "doc_id"]).to_pydict().values())]
    assert all(a < b for a, b in zip(keys, keys[1:]))  # the file order, as a reader sees it
    assert (
        q("""SELECT count(*) FROM search_docs d JOIN
                (SELECT doc_id, sum(tf) AS n, any_value(length) AS l, any_value(source) AS s
                 FROM search_postings GROUP BY doc_id) p USING (doc_id)
                WHERE p.n <> d.length OR p.l <> d.length OR p.s <> d.source""").fetchone()[0]
        == 0
    )
    n_docs = q("SELECT count(*) FROM search_docs").fetchone()[0]
    for _term, df, idf in q("SELECT term, df, idf FROM search_terms").fetchall():
        assert idf == pytest.approx(math.log(1 + (n_docs - df + 0.5) / (df + 0.5)))
    assert (
        q("""SELECT count(*) FROM search_terms t JOIN (SELECT term, count(*) AS n FROM search_postings
                GROUP BY term) p USING (term) WHERE t.df <> p.n""").fetchone()[0]
        == 0
    )
    assert q("SELECT list(source ORDER BY source) FROM search_stats").fetchone()[0] == sorted(S.SOURCES)


def test_documents_come_from_the_source_tables(cat):
    q = cat.connection.execute
    expected = {
        "atomic": "SELECT count(*) FROM atomic_descriptions WHERE rejected IS DISTINCT FROM true",
        "commentary": "SELECT count(*) FROM expert_commentary WHERE text IS NOT NULL",
        "narration": "SELECT count(*) FROM narrations",
        "keystep": "SELECT count(*) FROM keystep_segments",
        "demonstration": "SELECT count(*) FROM proficiency_demonstration",
    }
    got = dict(q("SELECT source, n_docs FROM search_stats").fetchall())
    for source, sql in expected.items():
        assert 0 < got[source] <= q(sql).fetchone()[0], source
    # the atomic documents of rejected annotations are not indexed
    assert (
        q("""SELECT count(*) FROM search_docs d JOIN atomic_descriptions a
                ON d.source = 'atomic' AND d.ref = a.annotation_uid || '/' || a.description_idx
                AND d.take_uid = a.take_uid WHERE a.rejected""").fetchone()[0]
        == 0
    )
    # refs lead back to the row, with the same text and time
    assert (
        q("""SELECT count(*) FROM search_docs d JOIN narrations n
                ON d.ref = n.take_name || '/' || n.cam_id || '/' || n.segment_idx
                WHERE d.source = 'narration' AND (d.text <> n.text OR d.time <> n.start_time)""").fetchone()[
            0
        ]
        == 0
    )


# --------------------------------------------------------------------------- ranking


def _key(hit) -> tuple:
    return (hit[1], hit[2], round(hit[5], 3))


def _planted_keys(items) -> set:
    return {(p["source"], p["take_uid"], round(p["time"], 3)) for p in items}


@pytest.mark.parametrize("engine", ENGINES)
def test_planted_phrases_come_back_first(cat, planted, engine):
    """Precision at 5 (at k, k the documents planted for the query) is 1.0 for every phrase."""
    by_query = defaultdict(list)
    for items in planted.values():
        by_query[items[0]["query"]] += items
    assert len(by_query) >= 6
    for query, items in by_query.items():
        k = len(items)
        hits = S.search(cat, query, limit=k, engine=engine)
        assert {_key(h) for h in hits} == _planted_keys(items), query
        top5 = S.search(cat, query, limit=5, engine=engine)
        assert all(_key(h) in _planted_keys(items) for h in top5), query


@pytest.mark.parametrize("engine", ENGINES)
def test_the_camera_wearer_c_decides(cat, planted, engine):
    c_docs, o_docs = _planted_keys(planted["thermos_c"]), _planted_keys(planted["thermos_o"])
    hits = S.search(cat, "C wipes the thermos lid", limit=len(c_docs), engine=engine)
    assert {_key(h) for h in hits} == c_docs
    hits = S.search(cat, "the man X wipes the thermos lid", limit=len(o_docs), engine=engine)
    assert {_key(h) for h in hits} == o_docs
    # without "C" the two kinds are not told apart by that term: both sets come first
    hits = S.search(cat, "wipes thermos lid", limit=len(c_docs) + len(o_docs), engine=engine)
    assert {_key(h) for h in hits} == c_docs | o_docs


@pytest.mark.parametrize("engine", ENGINES)
def test_filters_combine_with_search(cat, planted, engine):
    narration = _planted_keys(planted["hanger_narration"])
    commentary = _planted_keys(planted["hanger_commentary"])
    q = "derailleur hanger bent"
    assert {
        _key(h) for h in S.search(cat, q, limit=len(narration) + len(commentary), engine=engine)
    } == narration | commentary
    hits = S.search(cat, q, sources=["narration"], limit=20, engine=engine)
    assert {_key(h) for h in hits[: len(narration)]} == narration
    assert {h[1] for h in hits} == {"narration"}
    hits = S.search(cat, q, sources="commentary", limit=len(commentary), engine=engine)
    assert {_key(h) for h in hits} == commentary
    # a scenario: only its takes, its planted documents first
    scenario_of = dict(cat.connection.execute("SELECT take_uid, scenario FROM takes").fetchall())
    scen = scenario_of[planted["hanger_narration"][-1]["take_uid"]]
    mine = {k for k in narration | commentary if scenario_of[k[1]] == scen}
    hits = S.search(cat, q, scenarios=[scen.upper()], limit=30, engine=engine)
    assert hits and {h[4] for h in hits} == {scen}
    assert {_key(h) for h in hits[: len(mine)]} == mine
    # scenario and source together
    hits = S.search(cat, q, scenarios=scen, sources=["narration"], limit=30, engine=engine)
    assert {(h[1], h[4]) for h in hits} == {("narration", scen)}
    # takes
    take = planted["hanger_commentary"][0]["take_uid"]
    hits = S.search(cat, q, take_uids=[take], limit=50, engine=engine)
    assert hits and {h[2] for h in hits} == {take}
    assert _key(hits[0]) in commentary | narration
    # every term
    hits = S.search(cat, "crack egg", all_terms=True, limit=50, engine=engine)
    assert hits and all({"crack", "egg"} <= set(S.tokenize(h[7])) for h in hits)
    assert S.search(cat, "egg zzzunknownzzz", all_terms=True, engine=engine) == []
    assert S.search(cat, "zzzunknownzzz", engine=engine) == []


def test_keystep_and_demonstration_texts_are_found(cat):
    step = cat.connection.execute(
        "SELECT step_name, take_uid FROM keystep_segments ORDER BY take_uid, segment_idx LIMIT 1"
    ).fetchone()
    hits = S.search(cat, step[0], sources=["keystep"], limit=5, all_terms=True)
    assert hits and all(step[0].lower() in h[7].lower() for h in hits)
    comment = cat.connection.execute(
        "SELECT comments[1], take_uid FROM proficiency_demonstration ORDER BY take_uid LIMIT 1"
    ).fetchone()
    hits = S.search(cat, comment[0], sources=["demonstration"], limit=200, all_terms=True)
    assert any(h[2] == comment[1] for h in hits)


def test_engines_agree(cat):
    """The numpy engine (MaxScore on common terms included) equals bm25.sql, hit for hit."""
    vocab = [
        r[0] for r in cat.connection.execute("SELECT term FROM search_terms ORDER BY df DESC").fetchall()
    ]
    rng = random.Random(8)
    queries = [
        ("c crack egg", {}),
        ("c hand", {"limit": 3}),
        ("c", {}),
        ("c wipe", {"sources": ["atomic"]}),
        ("hand right left", {"scenarios": ["Cooking"]}),
        ("c egg", {"all_terms": True}),
        ("grip", {"k1": 2.0, "b": 0.3}),
    ]
    for _ in range(25):
        words = rng.sample(vocab[:5], rng.randint(0, 2)) + rng.sample(vocab, rng.randint(1, 3))
        opts = rng.choice(
            [
                {},
                {"sources": rng.sample(S.SOURCES, 2)},
                {"limit": rng.randint(1, 40)},
                {"all_terms": True},
                {"scenarios": ["Cooking", "Bike Repair"]},
            ]
        )
        queries.append((" ".join(words), opts))
    for q, opts in queries:
        opts = {"limit": 15, **opts}
        a = [(h[9], h[0], h[8]) for h in S.search(cat, q, engine="sql", **opts)]
        b = [(h[9], h[0], h[8]) for h in S.search(cat, q, engine="memory", **opts)]
        assert a == b, (q, opts)


def test_bad_options_are_usage_errors(cat):
    with pytest.raises(UsageError, match="sources"):
        S.search(cat, "egg", sources=["atomics"])
    with pytest.raises(UsageError, match="scenario"):
        S.search(cat, "egg", scenarios=["Cookery"])
    with pytest.raises(UsageError, match="limit"):
        S.search(cat, "egg", limit=0)
    with pytest.raises(UsageError, match="engine"):
        S.search(cat, "egg", engine="lucene")


def test_cat_search_returns_a_polars_frame(cat, planted):
    import polars as pl

    p = planted["mandoline"][0]
    df = cat.search(p["query"], limit=3)
    assert isinstance(df, pl.DataFrame) and df.columns == list(S.HIT_COLUMNS)
    assert df.height == 3 and df["score"].is_sorted(descending=True)
    assert df["text"][0].startswith(("Notice the pincer", "Her pincer"))
    assert df.schema["doc_id"] == pl.Int64 and df.schema["time"] == pl.Float64
    assert cat.search("zzzunknownzzz").height == 0


# --------------------------------------------------------------------------- CLI


def _run(*args):
    r = CliRunner().invoke(app, list(args))
    return r


def test_cli_search_prints_one_hit_a_line(demo_catalog, planted):
    p = planted["saffron"]
    r = _run("search", p[0]["query"], "--catalog", str(demo_catalog), "--limit", str(len(p)))
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert len(lines) == len(p)
    want = {(x["take_uid"], x["take_name"], f"{x['time']:.2f}") for x in p}
    got = set()
    for line in lines:
        f = line.split()
        float(f[0])
        assert f[1] == "narration"
        got.add((f[2], f[3], f[4]))
        assert "saffron" in line
    assert got == want


def test_cli_search_filters_and_formats(demo_catalog, planted):
    q = planted["hanger_narration"][0]["query"]
    r = _run(
        "search", q, "--in", "commentary", "--catalog", str(demo_catalog), "--format", "json", "--limit", "5"
    )
    assert r.exit_code == 0, r.output
    hits = json.loads(r.stdout)
    assert [h["source"] for h in hits] == ["commentary"] * 5
    assert {(h["take_uid"], round(h["time"], 3)) for h in hits} == {
        (x["take_uid"], round(x["time"], 3)) for x in planted["hanger_commentary"]
    }
    r = _run(
        "search",
        q,
        "--scenario",
        "bike repair",
        "--catalog",
        str(demo_catalog),
        "--engine",
        "memory",
        "--format",
        "csv",
    )
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[0].startswith("score,source,take_uid,take_name,scenario")
    assert all(",Bike Repair," in line for line in r.stdout.splitlines()[1:])


@pytest.mark.parametrize(
    "args, message",
    [
        (["search", "the of"], "no search terms"),
        (["search", "egg", "--in", "atomics"], "atomics"),
        (["search", "egg", "--scenario", "Cookery"], "unknown scenario"),
        (["search", "egg", "--limit", "0"], "--limit"),
    ],
)
def test_cli_search_usage_errors(demo_catalog, args, message):
    r = _run(*args, "--catalog", str(demo_catalog))
    assert r.exit_code == 2
    assert message in r.output


def test_cli_search_no_hits(demo_catalog):
    r = _run("search", "zzzunknownzzz", "--catalog", str(demo_catalog))
    assert r.exit_code == 0 and r.stdout == ""


def test_cli_search_in_takes_several_values_after_one_flag():
    from egoexo_sql.cli import expand_multi_options

    assert expand_multi_options(["search", "egg", "--in", "atomic", "narration", "--limit", "3"]) == [
        "search",
        "egg",
        "--in",
        "atomic",
        "--in",
        "narration",
        "--limit",
        "3",
    ]


# --------------------------------------------------------------------------- takes --text


def test_takes_text_selects_takes_with_every_term(cat, demo_catalog, planted):
    items = planted["quail"]
    got = set(cat.takes(text="quail ramekin")["take_uid"].to_list())
    assert got == {p["take_uid"] for p in items}
    # combined with another filter
    scen = cat.connection.execute(
        "SELECT scenario FROM takes WHERE take_uid = ?", [items[0]["take_uid"]]
    ).fetchone()[0]
    got = set(cat.takes(text="quail ramekin", scenario=scen)["take_uid"].to_list())
    assert got and all(
        cat.connection.execute("SELECT scenario FROM takes WHERE take_uid = ?", [u]).fetchone()[0] == scen
        for u in got
    )
    r = _run("takes", "--text", "quail ramekin", "--catalog", str(demo_catalog))
    assert r.exit_code == 0, r.output
    assert set(r.stdout.split()) == {p["take_uid"] for p in items}
    r = _run("takes", "--text", "the", "--catalog", str(demo_catalog))
    assert r.exit_code == 2 and "no search terms" in r.output


# --------------------------------------------------------------------------- build


def test_index_follows_its_inputs_in_incremental_builds(tmp_path):
    """A changed transcript rebuilds narrations and the index only; --only atomic,search
    rebuilds both; --only atomic keeps the index as it was (it belongs to the group search)."""
    from egoexo_sql.builder import build_catalog
    from egoexo_sql.demo import generate

    release, cat = tmp_path / "release", tmp_path / "cat"
    generate(release, scale=0.005, seed=3, only=["metadata", "atomic", "transcripts"])
    first = build_catalog(release, cat)
    assert "search_index" in first.recompiled
    f = sorted(release.glob("takes/*/audio/*_transcriptions.json"))[0]
    with open(f, "ab") as fh:
        fh.write(b"\n")
    rep = build_catalog(release, cat)
    assert sorted(rep.recompiled) == ["narrations", "search_index"]
    atomic = sorted(release.glob("annotations/atomic_descriptions_*.json"))[0]
    with open(atomic, "ab") as fh:
        fh.write(b"\n")
    rep = build_catalog(release, cat, only=["atomic", "search"])
    assert sorted(rep.recompiled) == ["atomic_descriptions", "search_index"]
    assert rep.tables["search_docs"] == first.tables["search_docs"]
    with open(atomic, "ab") as fh:
        fh.write(b"\n")
    rep = build_catalog(release, cat, only=["atomic"])
    assert rep.recompiled == ["atomic_descriptions"] and "search_index" in rep.reused
