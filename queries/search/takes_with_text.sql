-- takes --text: the takes with at least one search document that contains every term of
-- the query ($text_terms, tokenised like the index: egoexo_sql.search.tokenize).
SELECT d.take_uid
FROM search_docs AS d
WHERE d.doc_id IN (
    SELECT doc_id
    FROM search_postings
    WHERE term IN (SELECT unnest($text_terms))
    GROUP BY doc_id
    HAVING count(*) = len(list_distinct($text_terms))
)
