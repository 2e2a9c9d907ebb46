-- Ranked text search: Okapi BM25 over the catalog's search index (egoexo_sql/search.py).
-- Plain SQL over the four search_* tables (plus takes), so any engine that reads the
-- Parquet can run it. Parameters (DuckDB: con.execute(sql, {"terms": [...], ...})):
--   $terms      VARCHAR[]  the query's terms, tokenised like the index (search.tokenize)
--   $sources    VARCHAR[]  only these sources (atomic, commentary, narration, keystep,
--                          demonstration); NULL for all
--   $scenarios  VARCHAR[]  only takes of these scenarios; NULL for all
--   $take_uids  VARCHAR[]  only these takes; NULL for all
--   $all_terms  BOOLEAN    only documents that contain every query term
--   $k1, $b     DOUBLE     BM25 parameters (1.2 and 0.75)
--   $limit      BIGINT     hits returned
-- idf is over all documents; a document's length is normalised by the average length
-- of its own source (search_stats). Scores are rounded to 9 decimals so that documents
-- with the same terms tie whatever order the sum ran in; ties go to the lower doc_id.
WITH
query_terms AS (
    SELECT term, idf
    FROM search_terms
    WHERE term IN (SELECT unnest($terms))
),
matches AS (
    SELECT p.doc_id,
           round(sum(q.idf * p.tf * ($k1 + 1)
                     / (p.tf + $k1 * (1 - $b + $b * p.length / s.avg_length))), 9) AS score,
           count(*) AS n_terms
    FROM search_postings AS p
    JOIN query_terms AS q USING (term)
    JOIN search_stats AS s USING (source)
    WHERE p.term IN (SELECT unnest($terms))
      AND ($sources IS NULL OR list_contains($sources, p.source))
    GROUP BY p.doc_id
    HAVING NOT $all_terms OR count(*) = len(list_distinct($terms))
),
allowed AS (  -- documents of the chosen takes, only read when a take filter is given
    SELECT d.doc_id
    FROM search_docs AS d
    LEFT JOIN takes AS t USING (take_uid)
    WHERE ($scenarios IS NOT NULL OR $take_uids IS NOT NULL)
      AND ($scenarios IS NULL OR list_contains($scenarios, t.scenario))
      AND ($take_uids IS NULL OR list_contains($take_uids, d.take_uid))
),
top AS (
    SELECT *
    FROM matches
    WHERE ($scenarios IS NULL AND $take_uids IS NULL) OR doc_id IN (SELECT doc_id FROM allowed)
    ORDER BY score DESC, doc_id
    LIMIT $limit
)
SELECT top.score, d.source, d.take_uid, t.take_name, t.scenario, d.time, d.end_time, d.text,
       top.n_terms, top.doc_id, d.ref
FROM top
JOIN search_docs AS d USING (doc_id)
LEFT JOIN takes AS t USING (take_uid)
ORDER BY top.score DESC, top.doc_id
