-- The search index in plain SQL: from `documents` (documents.sql) in an in-memory DuckDB
-- with the macros of tokenize.sql, the four tables search_docs (ordered by doc_id),
-- search_postings (by term, then doc_id), search_terms and search_stats. The build makes
-- the same tables in Arrow and numpy (egoexo_sql/tables/search_index.py, index_tables:
-- 1.2 s against 3 s here for 584k documents); index_tables_sql runs this file, and
-- tests/test_search.py holds the two to identical tables.
-- one row per term occurrence, then grouped: a hash aggregate is about twice as fast
-- as a histogram map per document
CREATE OR REPLACE TEMP TABLE doc_tokens AS
SELECT n, unnest(search_tokens(text)) AS term
FROM documents;

CREATE OR REPLACE TEMP TABLE doc_lengths AS
SELECT n, CAST(count(*) AS INTEGER) AS length
FROM doc_tokens
GROUP BY n;

CREATE OR REPLACE TEMP TABLE doc_ids AS
SELECT n, row_number() OVER (ORDER BY n) AS doc_id
FROM doc_lengths;

CREATE OR REPLACE TEMP TABLE search_docs AS
SELECT i.doc_id, d.source, d.take_uid, d.time, d.end_time, d.text, l.length, d.ref
FROM documents AS d
JOIN doc_lengths AS l USING (n)
JOIN doc_ids AS i USING (n);

CREATE OR REPLACE TEMP TABLE postings AS
SELECT tf.term, i.doc_id, tf.tf, l.length,
       CASE tf.n // 1000000000000 WHEN 1 THEN 'atomic' WHEN 2 THEN 'commentary'
            WHEN 3 THEN 'narration' WHEN 4 THEN 'keystep' ELSE 'demonstration' END AS source
FROM (SELECT n, term, CAST(count(*) AS INTEGER) AS tf FROM doc_tokens GROUP BY n, term) AS tf
JOIN doc_lengths AS l USING (n)
JOIN doc_ids AS i USING (n);

CREATE OR REPLACE TEMP TABLE search_terms AS
SELECT term, row_number() OVER (ORDER BY term) AS term_id, count(*) AS df,
       ln(1 + ((SELECT count(*) FROM doc_ids) - count(*) + 0.5) / (count(*) + 0.5)) AS idf
FROM postings
GROUP BY term;

CREATE OR REPLACE TEMP VIEW search_postings AS
SELECT p.*, t.term_id
FROM postings AS p
JOIN search_terms AS t USING (term);

CREATE OR REPLACE TEMP TABLE search_stats AS
SELECT source, count(*) AS n_docs, sum(length) AS n_terms, avg(length) AS avg_length
FROM search_docs
GROUP BY source;
