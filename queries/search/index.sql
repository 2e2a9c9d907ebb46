-- Builds the search index from `documents` (documents.sql) in an in-memory DuckDB with
-- the macros of tokenize.sql. egoexo_sql/tables/search_index.py reads the four tables,
-- search_docs ordered by doc_id, search_postings by term_id then doc_id.
CREATE OR REPLACE TEMP TABLE doc_terms AS
SELECT n, list_aggregate(terms, 'histogram') AS tf, CAST(len(terms) AS INTEGER) AS length
FROM (SELECT n, search_tokens(text) AS terms FROM documents)
WHERE len(terms) > 0;

CREATE OR REPLACE TEMP TABLE doc_ids AS
SELECT n, row_number() OVER (ORDER BY n) AS doc_id
FROM doc_terms;

CREATE OR REPLACE TEMP TABLE search_docs AS
SELECT i.doc_id, d.source, d.take_uid, d.time, d.end_time, d.text, t.length, d.ref
FROM documents AS d
JOIN doc_terms AS t USING (n)
JOIN doc_ids AS i USING (n);

CREATE OR REPLACE TEMP TABLE postings AS
SELECT unnest(map_keys(t.tf)) AS term, i.doc_id, CAST(unnest(map_values(t.tf)) AS INTEGER) AS tf,
       t.length,
       CASE t.n // 1000000000000 WHEN 1 THEN 'atomic' WHEN 2 THEN 'commentary'
            WHEN 3 THEN 'narration' WHEN 4 THEN 'keystep' ELSE 'demonstration' END AS source
FROM doc_terms AS t
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
