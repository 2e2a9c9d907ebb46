"""Benchmark: the text search index at --scale 1 (build cost, size, query latency)
against ILIKE and polars scans of the text tables.

    python bench/bench_search.py [--scale 1] [--work /tmp/egoexo-bench-search] [--repeat 5]

Writes a synthetic release with the text groups (metadata splits keystep proficiency
atomic commentary transcripts), builds the catalog, then prints

(a) the index: seconds of the search_index source in the build (it re-reads the text
    files and tokenises every text), its rows and Parquet bytes;
(b) the median latency of 20 queries, each query's own median over --repeat runs:
    - through the index, in-memory engine (cat.search, the default; load time shown apart),
    - through the index, bm25.sql on DuckDB straight over the Parquet (what the CLI runs),
    - through the index, the same BM25 as a polars lazy query over the Parquet,
    - ILIKE scans: every query word (stop words dropped, as typed) as ``text ILIKE '%w%'``
      over the five text tables in DuckDB (their catalog views),
    - polars ``str.contains`` on the lower-cased text of the same tables' Parquet.
    The index ranks (top 20, any word, BM25); the scans return every text that contains
    all the words, unranked, which is what a hand-written query does.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, print_table, run_measured  # noqa: E402

GROUPS = ["metadata", "splits", "keystep", "proficiency", "atomic", "commentary", "transcripts"]

QUERIES = [
    "cracks an egg",
    "C cracks egg",
    "quail egg ramekin",
    "pincer grip on the mandoline",
    "derailleur hanger bent",
    "blooming saffron threads",
    "grip",
    "tighten the bolts",
    "swab the nostril",
    "dribbles the ball",
    "keep the elbows closer to the body",
    "chalk bag",
    "tire lever",
    "strums the guitar",
    "slice the tomato",
    "pour oil into the pan",
    "C wipes the thermos lid",
    "hips close to the wall",
    "smooth handling",
    "crack eggs into a bowl",
]

# the text of each source table, as the index reads it
TEXTS = {
    "atomic_descriptions": "text",
    "expert_commentary": "text",
    "narrations": "text",
    "keystep_segments": "concat_ws(' ', step_name, step_description)",
    "proficiency_demonstration": "array_to_string(comments, ' ')",
}


def words(query: str) -> list[str]:
    from egoexo_sql.search import STOPWORDS

    return [w for w in re.findall(r"[^\W_]+", query.lower()) if w not in STOPWORDS]


def ilike_sql(query: str) -> str:
    parts = []
    for table, text in TEXTS.items():
        cond = " AND ".join(f"{text} ILIKE '%{w}%'" for w in words(query))
        parts.append(f"SELECT take_uid, {text} AS text FROM {table} WHERE {cond}")
    return "\nUNION ALL\n".join(parts)


def polars_scan(cat, query: str):
    import polars as pl

    frames = []
    for table, _text in TEXTS.items():
        lf = cat.table(table)
        if table == "keystep_segments":
            col = pl.concat_str(
                [pl.col("step_name"), pl.col("step_description")], separator=" ", ignore_nulls=True
            )
        elif table == "proficiency_demonstration":
            col = pl.col("comments").list.join(" ")
        else:
            col = pl.col("text")
        low = col.str.to_lowercase()
        cond = pl.lit(True)
        for w in words(query):
            cond = cond & low.str.contains(w, literal=True)
        frames.append(lf.filter(cond).select(pl.col("take_uid"), col.alias("text")))
    return pl.concat(frames).collect()


def polars_bm25(cat, query: str, limit: int = 20, k1: float = 1.2, b: float = 0.75):
    """bm25.sql as a polars lazy query over the index's Parquet (no filters)."""
    import polars as pl

    from egoexo_sql.search import query_terms

    terms = query_terms(query)
    post = cat.table("search_postings").filter(pl.col("term").is_in(terms))
    q = (
        post.join(cat.table("search_terms").select("term", "idf"), on="term")
        .join(cat.table("search_stats").select("source", "avg_length"), on="source")
        .with_columns(
            w=pl.col("idf")
            * pl.col("tf")
            * (k1 + 1)
            / (pl.col("tf") + k1 * (1 - b + b * pl.col("length") / pl.col("avg_length")))
        )
        .group_by("doc_id")
        .agg(score=pl.col("w").sum().round(9), n_terms=pl.len())
        .sort(["score", "doc_id"], descending=[True, False])
        .head(limit)
        .join(cat.table("search_docs"), on="doc_id")
        .sort(["score", "doc_id"], descending=[True, False])
    )
    return q.collect()


def per_query(fn, queries, repeat: int) -> list[float]:
    out = []
    for q in queries:
        fn(q)  # warm-up
        ts = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn(q)
            ts.append(time.perf_counter() - t0)
        out.append(statistics.median(ts))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--work", default="/tmp/egoexo-bench-search")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    release, catalog = work / f"release-{args.scale:g}", work / f"catalog-{args.scale:g}"
    if not (release / "takes.json").is_file():
        run_measured(
            [PYTHON, "-m", "egoexo_sql", "demo", str(release), "--scale", str(args.scale), "--only", *GROUPS]
        )
    secs, rss, _ = run_measured(
        [PYTHON, "-m", "egoexo_sql", "build", str(release), "--catalog", str(catalog), "--force"]
    )
    doc = json.loads((catalog / "build.json").read_text())
    src = doc["sources"]["search_index"]
    tables = {t: doc["tables"][t] for t in ("search_docs", "search_postings", "search_terms", "search_stats")}
    index_bytes = sum(t["bytes"] for t in tables.values())
    text_bytes = sum(doc["tables"][t]["bytes"] for t in TEXTS)
    rows = [["whole build (--force), all sources", f"{secs:.1f} s", "", f"{rss:.0f} MB peak"]]
    rows.append(["search_index source (re-read + tokenise + write)", f"{src['seconds']:.1f} s", "", ""])
    for t, r in tables.items():
        rows.append([f"  {t}", "", f"{r['rows']:,} rows", f"{r['bytes'] / 1e6:.1f} MB"])
    rows.append(
        [
            "  index total (vs the five text tables' Parquet)",
            "",
            "",
            f"{index_bytes / 1e6:.1f} MB (vs {text_bytes / 1e6:.1f} MB)",
        ]
    )
    print_table(f"(a) search index at --scale {args.scale:g}", ["", "time", "rows", "size"], rows)

    import egoexo_sql
    from egoexo_sql import search as S

    cat = egoexo_sql.open(str(catalog))
    t0 = time.perf_counter()
    S.memory_index(cat)
    load = time.perf_counter() - t0
    con = cat.connection
    con.execute("SET parquet_metadata_cache = true")  # for every DuckDB row: same footing
    methods = {
        "index, in-memory engine (cat.search)": lambda q: S.search(cat, q, limit=20, engine="memory"),
        "index, bm25.sql on DuckDB over Parquet": lambda q: S.search(cat, q, limit=20, engine="sql"),
        "index, the same BM25 in polars over Parquet": lambda q: polars_bm25(cat, q),
        "ILIKE scans, DuckDB, 5 text tables": lambda q: con.execute(ilike_sql(q)).fetchall(),
        "polars str.contains, 5 text tables": lambda q: polars_scan(cat, q),
    }
    # sanity: the planted phrases are found by every method
    for m in ("index, in-memory engine (cat.search)", "index, bm25.sql on DuckDB over Parquet"):
        assert "quail" in methods[m]("quail egg ramekin")[0][7]
    assert "quail" in polars_bm25(cat, "quail egg ramekin")["text"][0]
    assert any("quail" in r[1] for r in methods["ILIKE scans, DuckDB, 5 text tables"]("quail egg ramekin"))
    assert polars_scan(cat, "quail egg ramekin").height == len(
        con.execute(ilike_sql("quail egg ramekin")).fetchall()
    )

    times = {m: per_query(fn, QUERIES, args.repeat) for m, fn in methods.items()}
    base = statistics.median(times["index, in-memory engine (cat.search)"])
    ilike = statistics.median(times["ILIKE scans, DuckDB, 5 text tables"])
    out = []
    for m, ts in times.items():
        med = statistics.median(ts)
        out.append([m, f"{med * 1000:.2f}", f"{max(ts) * 1000:.1f}", f"{ilike / med:.1f}x"])
    print_table(
        f"(b) {len(QUERIES)} queries, median of per-query medians ({args.repeat} runs each; "
        f"in-memory index loaded once in {load:.2f} s)",
        ["method", "median ms", "slowest ms", "speed-up vs ILIKE"],
        out,
    )
    print(
        f"\ngoal: index 10x faster than ILIKE -> {'met' if ilike / base >= 10 else 'NOT met'} "
        f"({ilike / base:.0f}x with the in-memory engine, "
        f"{ilike / statistics.median(times['index, bm25.sql on DuckDB over Parquet']):.1f}x with bm25.sql over Parquet)"
    )
    cat.close()


if __name__ == "__main__":
    main()
