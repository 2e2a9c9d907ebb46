-- Per annotation file: how many takes it names and how many of them are not in
-- takes.json (the orphans). The thousands of per-take expert commentary data.json
-- files are counted as one family. A take is its take_uid, or its take name when
-- a data.json folder's name could not be resolved to a take_uid.
SELECT
    regexp_replace(r.source_file, '^annotations/expert_commentary/[^/]+/[^/]+/data\.json$',
                   'annotations/expert_commentary/*/*/data.json') AS source_file,
    count(DISTINCT coalesce(r.take_uid, 'name:' || r.take_name)) AS n_takes,
    count(DISTINCT coalesce(r.take_uid, 'name:' || r.take_name))
        FILTER (WHERE t.take_uid IS NULL) AS n_orphans,
    sum(r.n_rows) AS n_rows,
    coalesce(sum(r.n_rows) FILTER (WHERE t.take_uid IS NULL), 0) AS n_orphan_rows
FROM take_references AS r
LEFT JOIN (SELECT DISTINCT take_uid FROM takes) AS t ON t.take_uid = r.take_uid
GROUP BY ALL
ORDER BY source_file;
