-- The search tokeniser as DuckDB macros; egoexo_sql.search.tokenize is the same in Python
-- (tests/test_search.py holds the two together). Read egoexo_sql/search.py for the rules.
--   SELECT search_tokens('C cracks the eggs into the bowl.');   -- [c, crack, egg, bowl]
CREATE OR REPLACE TEMP MACRO search_stopwords() AS
    ['a', 'an', 'and', 'are', 'as', 'at', 'be', 'been', 'but', 'by', 'for', 'from', 'had',
     'has', 'have', 'he', 'her', 'hers', 'him', 'his', 'i', 'if', 'in', 'into', 'is', 'it',
     'its', 'me', 'my', 'of', 'on', 'or', 'our', 'she', 'so', 'than', 'that', 'the', 'their',
     'them', 'then', 'there', 'these', 'they', 'this', 'those', 'to', 'us', 'was', 'we', 'were',
     'what', 'when', 'where', 'which', 'while', 'who', 'will', 'with', 'you', 'your'];

-- words: NFC, lower case, runs of letters and digits (apostrophes inside a word kept)
CREATE OR REPLACE TEMP MACRO search_words(txt) AS
    regexp_extract_all(lower(nfc_normalize(coalesce(txt, ''))), '[\pL\pN]+(?:[''’][\pL\pN]+)*');

-- a final 's dropped, other apostrophes removed
CREATE OR REPLACE TEMP MACRO search_word(w) AS
    CASE WHEN contains(w, '''') OR contains(w, '’')
         THEN regexp_replace(regexp_replace(w, '[''’]s$', ''), '[''’]', '', 'g')
         ELSE w END;

-- simple plurals and third-person -s
CREATE OR REPLACE TEMP MACRO search_stem(w) AS
    CASE
        WHEN length(w) <= 3 THEN w
        WHEN suffix(w, 'ies') AND NOT (suffix(w, 'eies') OR suffix(w, 'aies'))
            THEN left(w, length(w) - 3) || 'y'
        WHEN suffix(w, 'sses') OR suffix(w, 'shes') OR suffix(w, 'ches') OR suffix(w, 'xes')
             OR suffix(w, 'zzes')
            THEN left(w, length(w) - 2)
        WHEN suffix(w, 'ss') OR suffix(w, 'us') OR suffix(w, 'is') THEN w
        WHEN suffix(w, 's') THEN left(w, length(w) - 1)
        ELSE w
    END;

CREATE OR REPLACE TEMP MACRO search_tokens(txt) AS
    list_transform(
        list_filter(
            list_transform(search_words(txt), lambda w: search_word(w)),
            lambda w: w <> '' AND NOT list_contains(search_stopwords(), w)),
        lambda w: search_stem(w));
